package domain

import (
	"slices"
	"time"
)

// CaseView is a case as one viewer may see it (C14). Build it with ViewFor; the
// HTTP API should only ever serialize views, never snapshots.
type CaseView struct {
	ID              string          `json:"id"`
	Number          CaseNumber      `json:"number"`
	State           State           `json:"state"`
	Caller          Caller          `json:"caller"`
	CallerRedacted  bool            `json:"caller_redacted"`
	ReceivedAt      time.Time       `json:"received_at"`
	Content         string          `json:"content"`
	Category        Category        `json:"category"`
	Region          Region          `json:"region"`
	Urgency         Urgency         `json:"urgency"`
	Confidentiality Confidentiality `json:"confidentiality"`
	Channel         Channel         `json:"channel"`
	Mode            HandlingMode    `json:"mode"`
	QueryCode       string          `json:"query_code,omitempty"`

	Answer         *DirectAnswer `json:"answer,omitempty"`
	ReferralAdvice string        `json:"referral_advice,omitempty"`
	Approval       *Approval     `json:"approval,omitempty"`
	Lead           *UnitRef      `json:"lead,omitempty"`
	Assisting      []UnitRef     `json:"assisting,omitempty"`
	Deadline       time.Time     `json:"deadline,omitzero"`
	// DeadlineProvisional: the deadline was counted on a year whose official
	// holiday notice is not out yet; it moves when the notice is imported.
	DeadlineProvisional bool              `json:"deadline_provisional"`
	Round               Round             `json:"round"`
	PendingExtension    *ExtensionRequest `json:"pending_extension,omitempty"`
	Extensions          []Extension       `json:"extensions,omitempty"`
	Reminders           int               `json:"reminders"`
	Supervisions        int               `json:"supervisions"`
	Redos               int               `json:"redos"`
	RepeatReports       int               `json:"repeat_reports"`
	Reply               *Reply            `json:"reply,omitempty"`
	Callback            *CallbackRecord   `json:"callback,omitempty"`
	CallIDs             []string          `json:"call_ids,omitempty"`
	Materials           []Material        `json:"materials,omitempty"`
	History             []HistoryEntry    `json:"history"`
}

// ViewFor returns the case as viewer may see it. Agents, supervisors and the
// system see everything. Everyone else, units and administrators, never gets the
// self-service query code, which only the citizen needs. On a protected case (a
// report, or marked confidential; see Registration.Protected) they also lose
// everything that identifies the caller (001 §四(六), §五(一)1; 004 第十五条; T13):
//   - name, employer, phone and address: 001 protects name and employer and orders
//     name and number hidden; the address and employer identify as surely, and a
//     report is often about the caller's own employer;
//   - linked call IDs and the callback's call ID, and the call_id and material_ref
//     details in history, because call records carry the caller's number;
//   - every material not added by a unit: recordings, voicemails and faxes carry
//     the caller's voice, spoken contact details or fax number.
//
// The content itself stays, because the unit cannot handle the case without it;
// agents must keep identity out of the content of a report.
func (c *Case) ViewFor(viewer Actor) CaseView {
	s := c.s.clone()
	v := CaseView{
		ID: s.ID, Number: s.Registration.Number, State: s.State,
		Caller: s.Registration.Caller, ReceivedAt: s.Registration.ReceivedAt,
		Content: s.Registration.Content, Category: s.Registration.Category,
		Region: s.Registration.Region, Urgency: s.Registration.Urgency,
		Confidentiality: s.Registration.Confidentiality, Channel: s.Registration.Channel,
		Mode: s.Mode, QueryCode: s.Registration.QueryCode,
		Answer: s.Answer, ReferralAdvice: s.ReferralAdvice, Approval: s.Approval,
		Lead: s.Lead, Assisting: s.Assisting, Deadline: s.Deadline, DeadlineProvisional: s.DeadlineProvisional, Round: s.Round,
		PendingExtension: s.PendingExtension, Extensions: s.Extensions,
		Reminders: s.Reminders, Supervisions: s.Supervisions, Redos: s.Redos,
		RepeatReports: s.RepeatReports, Reply: s.Reply, Callback: s.Callback,
		CallIDs: s.CallIDs, Materials: s.Materials, History: s.History,
	}
	if viewer.seesEverything() && viewer.Validate() == nil {
		return v
	}
	v.QueryCode = ""
	if !s.Registration.Protected() {
		return v
	}
	v.Caller = Caller{}
	v.CallerRedacted = true
	v.CallIDs = nil
	if v.Callback != nil {
		v.Callback.CallID = ""
	}
	v.Materials = slices.DeleteFunc(v.Materials, func(m Material) bool { return m.AddedBy.Role != RoleUnit })
	for i := range v.History {
		delete(v.History[i].Details, DetailCallID)
		delete(v.History[i].Details, DetailMaterialRef)
	}
	return v
}

// ViewRevealed is the whole case for an administrator who asked to see a
// protected caller's identity (the caller must audit the reveal first); for
// anyone else it is ViewFor.
func (c *Case) ViewRevealed(viewer Actor) CaseView {
	if !viewer.MayReveal() {
		return c.ViewFor(viewer)
	}
	return c.ViewFor(Actor{ID: viewer.ID, Role: RoleSupervisor})
}

// VisibleTo reports whether viewer may see the case at all: center roles see
// every case; a unit sees the cases it leads or assists, and those of its
// sub-units (C14), through h.
func (c *Case) VisibleTo(viewer Actor, h Hierarchy) bool {
	if viewer.Validate() != nil {
		return false
	}
	if viewer.seesAllCases() {
		return true
	}
	if viewer.Role != RoleUnit {
		return false
	}
	if c.s.Lead != nil && h.IsSelfOrAncestor(viewer.UnitID, c.s.Lead.ID) {
		return true
	}
	return slices.ContainsFunc(c.s.Assisting, func(u UnitRef) bool {
		return h.IsSelfOrAncestor(viewer.UnitID, u.ID)
	})
}
