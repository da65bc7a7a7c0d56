// Package notify decides which units hear of a case change, what they are
// told, and how a webhook delivery is signed (issue 13, SPEC W4). It is pure:
// the store calls For inside the transaction that writes the history entry, so
// a notice exists exactly when its cause committed; the webhook dispatcher
// (notify/webhook) signs with Sign.
package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
)

// Kind is what a notification is about.
type Kind string

const (
	KindNewCase     Kind = "new_case"    // 转办 (or 下派) to the unit: a case to sign for
	KindReminder    Kind = "reminder"    // 催办
	KindSupervision Kind = "supervision" // 督办
	KindReturned    Kind = "returned"    // 退回重办 (after review or a dissatisfied callback)
)

// Label is the kind in the portal's words.
func (k Kind) Label() string {
	switch k {
	case KindNewCase:
		return "新工单"
	case KindReminder:
		return "催办"
	case KindSupervision:
		return "督办"
	case KindReturned:
		return "退回重办"
	}
	return string(k)
}

// Payload is one notification as the portal lists it and a webhook receives
// it (docs/unit-notifications.md). It carries what a unit needs to find and
// act on the case and nothing of the caller: no name, number, address or
// call, for any category (a report's whistleblower least of all).
type Payload struct {
	Kind     Kind      `json:"kind"`
	Label    string    `json:"label"`
	UnitID   string    `json:"unit_id"`
	At       time.Time `json:"at"`
	CaseID   string    `json:"case_id"`
	Number   string    `json:"case_number"`
	Seq      int       `json:"seq"`
	Action   string    `json:"action"`
	State    string    `json:"state"`
	Category string    `json:"category"`
	Urgency  string    `json:"urgency"`
	// Deadline is the time limit in force after the change.
	Deadline            time.Time `json:"deadline,omitzero"`
	DeadlineProvisional bool      `json:"deadline_provisional,omitempty"`
	// Note is the center's note on a reminder or supervision, or the reason of
	// a return: center staff's words, as in the case history the unit sees.
	Note string `json:"note,omitempty"`
}

// Notice is one unit to tell about one history entry.
type Notice struct {
	UnitID  string
	Kind    Kind
	Payload Payload
}

// For returns the notices one history entry causes, given the case after the
// change: a transfer tells the lead and the assisting units; a pass-down tells
// the sub-unit that now leads (the level-2 unit passed it on and knows);
// reminders, supervision and returns for redo tell the units of the current
// round. Every other action tells nobody. Each unit appears once.
func For(e domain.HistoryEntry, s domain.Snapshot) []Notice {
	var kind Kind
	var units []string
	current := func() []string {
		var ids []string
		if s.Lead != nil {
			ids = append(ids, s.Lead.ID)
		}
		for _, u := range s.Assisting {
			ids = append(ids, u.ID)
		}
		return ids
	}
	switch e.Action {
	case domain.ActionTransfer:
		kind, units = KindNewCase, current()
	case domain.ActionPassDown:
		kind = KindNewCase
		if s.Lead != nil {
			units = []string{s.Lead.ID}
		}
	case domain.ActionRemind:
		kind, units = KindReminder, current()
	case domain.ActionSupervise:
		kind, units = KindSupervision, current()
	case domain.ActionReturnForRedo, domain.ActionCallbackReopen:
		kind, units = KindReturned, current()
	default:
		return nil
	}
	note := e.Note
	if r := e.Details[domain.DetailReason]; r != "" && note == "" {
		note = r
	}
	seen := map[string]bool{}
	var out []Notice
	for _, id := range units {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, Notice{UnitID: id, Kind: kind, Payload: Payload{
			Kind: kind, Label: kind.Label(), UnitID: id, At: e.At, CaseID: e.CaseID,
			Number: string(s.Registration.Number), Seq: e.Seq, Action: string(e.Action), State: string(e.To),
			Category: string(s.Registration.Category), Urgency: string(s.Registration.Urgency),
			Deadline: e.Deadline, DeadlineProvisional: e.DeadlineProvisional, Note: note,
		}})
	}
	return out
}

// Headers of a webhook delivery.
const (
	HeaderSignature = "X-Hotline-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
	HeaderTimestamp = "X-Hotline-Timestamp" // Unix seconds when this attempt was signed
	HeaderDelivery  = "X-Hotline-Delivery"  // the delivery's ID: the same on every retry, for deduplication
	HeaderEvent     = "X-Hotline-Event"     // the notification's kind
)

// Sign is the signature of body sent at ts: HMAC-SHA256 with the unit's secret
// over "<unix seconds>.<body>", hex, prefixed "sha256=". Signing the timestamp
// with the body lets a receiver refuse replays of an old delivery.
func Sign(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify is what a receiver does (and the tests): the signature matches and the
// timestamp is within tolerance of now.
func Verify(secret, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) bool {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}
