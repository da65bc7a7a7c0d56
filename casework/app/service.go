// Package app is the casework application service: one method per use case of
// the regulations (register, transfer, accept, reply, review, callback, ...),
// each orchestrating the pure domain with the city's deadline policy, the
// working-day calendar and the repository, which saves the change, its history
// and its events in one transaction.
//
// The package knows no HTTP, SQL or NATS: its dependencies are the interfaces
// below, satisfied by casework/store and wired in cmd/casework.
package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/google/uuid"

	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/policy"
	"github.com/hotline12345/hotline/casework/region"
)

// Repository is what the service needs from the case store.
type Repository interface {
	Get(ctx context.Context, id string) (*domain.Case, error)
	IDByNumber(ctx context.Context, number string) (string, error)
	NextNumber(ctx context.Context, at time.Time) (domain.CaseNumber, error)
	// CreateCase stores a new case with the caller's callback consent and extra
	// events, and marks the inbox items it was filed from as filed on it, in
	// one transaction (domain.ErrFilingLost if a claim is no longer held).
	CreateCase(ctx context.Context, c *domain.Case, consent bool, extra []event.Envelope, filings ...domain.Filing) error
	// UpdateCase loads and locks the case, runs fn and saves the result with the
	// history, the events and the extra events fn returns, in one transaction.
	UpdateCase(ctx context.Context, id string, fn func(c *domain.Case, consent bool) ([]event.Envelope, error)) error
}

// UnitLookup finds a unit of the directory; domain.ErrNotFound if unknown.
type UnitLookup func(ctx context.Context, id string) (domain.Unit, error)

// Calendar is the working-day calendar the deadlines are counted on: the
// policy's working days, and whether a deadline rests on a provisional year
// (no official notice yet, days off from the statute). *calendar.Calendar and
// *calendar.Source implement it; with a Source, each use case asks the
// calendar in force at its start, so a deadline and its mark always come from
// the same calendar even while an import swaps it.
type Calendar interface {
	policy.WorkingDays
	ProvisionalBetween(a, b time.Time) bool
}

// ErrCalendar marks a deadline that cannot be computed because the date is
// outside every calendar (provisional years cover 1950-2099, so this is a
// data or program error, not a late notice); callers report it as a server
// error.
var ErrCalendar = errors.New("working-day calendar does not cover the deadline")

// CalendarError wraps a *calendar.MissingYearError with ErrCalendar. It is
// also a domain.ErrInvalid: no retry can compute it, so the event consumer
// skips the event (logged) instead of redelivering it for ever.
type CalendarError struct{ Err error }

func (e *CalendarError) Error() string { return fmt.Sprintf("%v: %v", ErrCalendar, e.Err) }
func (e *CalendarError) Unwrap() []error {
	return []error{ErrCalendar, domain.ErrInvalid, e.Err}
}
func calendarErr(err error) error {
	var my *calendar.MissingYearError
	if errors.As(err, &my) {
		return &CalendarError{Err: err}
	}
	return err
}

// Config wires a Service.
type Config struct {
	Repo     Repository
	Units    UnitLookup
	Policy   policy.Profile
	Calendar Calendar
	// Clock is the time of actions; time.Now if nil.
	Clock func() time.Time
	// Source names the producer in derived events; "casework" if empty.
	Source string
	// Regions are the codes a case may be registered in; the embedded list of
	// the demo city if nil.
	Regions *region.List
}

// Service runs the use cases.
type Service struct {
	repo   Repository
	units  UnitLookup
	policy policy.Profile
	cal    Calendar
	clock  func() time.Time
	source string
	region *region.List
}

// New returns the service.
func New(cfg Config) *Service {
	s := &Service{repo: cfg.Repo, units: cfg.Units, policy: cfg.Policy, cal: cfg.Calendar, clock: cfg.Clock, source: cfg.Source,
		region: cfg.Regions}
	if s.region == nil {
		s.region = region.Default()
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.source == "" {
		s.source = "casework"
	}
	return s
}

// calendar is the calendar in force now, fixed for one use case.
func (s *Service) calendar() Calendar {
	if src, ok := s.cal.(interface{ Current() *calendar.Calendar }); ok {
		return src.Current()
	}
	return s.cal
}

// Policy is the city's deadline policy in force.
func (s *Service) Policy() policy.Profile { return s.policy }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.clock() }

// Get loads a case.
func (s *Service) Get(ctx context.Context, id string) (*domain.Case, error) {
	return s.repo.Get(ctx, id)
}

// RegisterInput is an intake (登记, C1) from an agent, or from another channel
// (C13) by a system actor.
type RegisterInput struct {
	Caller          domain.Caller
	ReceivedAt      time.Time // zero: now
	Content         string
	Category        domain.Category
	Region          domain.Region
	Urgency         domain.Urgency
	Confidentiality domain.Confidentiality
	Channel         domain.Channel
	HandlingMode    domain.HandlingMode
	// CallID links the call the case came from.
	CallID string
	// Materials are the voicemail, fax or documents the case was made from.
	Materials []domain.MaterialRef
	// CallbackConsent: the caller agreed to a satisfaction callback (回访).
	CallbackConsent bool
	// Filings are the claimed voicemails or faxes the case is made from.
	Filings []domain.Filing
}

// Register creates a case with a fresh number and query code.
func (s *Service) Register(ctx context.Context, by domain.Actor, in RegisterInput) (*domain.Case, error) {
	now := s.clock()
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = now
	}
	if in.ReceivedAt.After(now.Add(time.Minute)) {
		return nil, &domain.ValidationError{Field: "received_at", Value: in.ReceivedAt.Format(time.RFC3339), Reason: "in the future"}
	}
	// Before a number is drawn, so that a refused region uses none up.
	if err := s.region.Check(in.Region); err != nil {
		return nil, err
	}
	num, err := s.repo.NextNumber(ctx, now)
	if err != nil {
		return nil, err
	}
	code, err := queryCode()
	if err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("case id: %w", err)
	}
	c, err := domain.NewCase(id.String(), domain.Registration{
		Number: num, Caller: in.Caller, ReceivedAt: in.ReceivedAt, Content: in.Content, Category: in.Category,
		Region: in.Region, Urgency: in.Urgency, Confidentiality: in.Confidentiality, Channel: in.Channel,
		HandlingMode: in.HandlingMode, QueryCode: code,
	}, by, now)
	if err != nil {
		return nil, err
	}
	if in.CallID != "" {
		if err := c.LinkCall(by, now, in.CallID); err != nil {
			return nil, err
		}
	}
	for _, m := range in.Materials {
		if err := c.AttachMaterial(by, now, m); err != nil {
			return nil, err
		}
	}
	if err := s.repo.CreateCase(ctx, c, in.CallbackConsent, nil, in.Filings...); err != nil {
		return nil, err
	}
	return c, nil
}

// queryCode is the 6-digit code a citizen keys to hear the case's status (T10).
func queryCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("query code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// change runs fn on the locked case at the service's clock and adds the events
// derived from the new entries (a callback request when a consenting caller's
// case is completed).
func (s *Service) change(ctx context.Context, id string, fn func(c *domain.Case, at time.Time) error) (*domain.Case, error) {
	var out *domain.Case
	err := s.repo.UpdateCase(ctx, id, func(c *domain.Case, consent bool) ([]event.Envelope, error) {
		if err := fn(c, s.clock()); err != nil {
			return nil, err
		}
		out = c
		return s.derived(c, consent)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// derived returns the events a change implies beyond its history entries.
func (s *Service) derived(c *domain.Case, consent bool) ([]event.Envelope, error) {
	var out []event.Envelope
	phone := c.Snapshot().Registration.Caller.Phone
	for _, e := range c.Pending() {
		if e.Action != domain.ActionComplete || !consent || phone == "" {
			continue
		}
		payload, err := json.Marshal(event.CallbackRequestedPayload{CaseNumber: string(c.Number()), Number: phone})
		if err != nil {
			return nil, fmt.Errorf("callback request: %w", err)
		}
		out = append(out, event.Envelope{
			ID: derivedEventID(fmt.Sprintf("%s/%d/callback", c.ID(), e.Seq), e.At), Version: event.Version,
			Type: event.CallbackRequested, Time: e.At, Source: s.source, CaseID: c.ID(), Payload: payload,
		})
	}
	return out, nil
}

// derivedEventID is a deterministic UUIDv7 (time bits from at, the rest a hash of
// key), so a retried transaction publishes the same event ID.
func derivedEventID(key string, at time.Time) string {
	h := sha256.Sum256([]byte(key))
	var u uuid.UUID
	ms := uint64(at.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	copy(u[6:], h[:10])
	u[6] = (u[6] & 0x0f) | 0x70
	u[8] = (u[8] & 0x3f) | 0x80
	return u.String()
}

// AnswerDirectly settles a case at intake (直接办理, C2).
func (s *Service) AnswerDirectly(ctx context.Context, by domain.Actor, id string, ans domain.DirectAnswer) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.AnswerDirectly(by, at, ans) })
}

// ReferOut records an out-of-scope case and the advice given (C2).
func (s *Service) ReferOut(ctx context.Context, by domain.Actor, id, advice string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.ReferOut(by, at, advice) })
}

// SubmitForApproval sends the case to the center head (呈批, C5).
func (s *Service) SubmitForApproval(ctx context.Context, by domain.Actor, id, reason string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.SubmitForApproval(by, at, reason) })
}

// Approve records the head's opinion and an optional leader instruction (C5).
func (s *Service) Approve(ctx context.Context, by domain.Actor, id, opinion string, instr *domain.LeaderInstruction) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.Approve(by, at, opinion, instr) })
}

// TransferInput is a 转办 (C3) before the deadline is computed.
type TransferInput struct {
	Lead      string
	Assisting []string
	Mode      domain.HandlingMode // zero: the case's mode
	// WorkingDays overrides the policy's limit for a normal case (004 第十条(三):
	// the center fixes the limit per case); Hours that of an urgent case.
	WorkingDays int
	Hours       int
	Note        string
}

// Transfer hands the case to units with the deadline of the city's policy.
func (s *Service) Transfer(ctx context.Context, by domain.Actor, id string, in TransferInput) (*domain.Case, error) {
	lead, err := s.unit(ctx, "lead", in.Lead)
	if err != nil {
		return nil, err
	}
	assisting := make([]domain.Unit, 0, len(in.Assisting))
	for _, a := range in.Assisting {
		u, err := s.unit(ctx, "assisting", a)
		if err != nil {
			return nil, err
		}
		assisting = append(assisting, u)
	}
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error {
		mode := in.Mode
		if mode == "" {
			mode = c.Mode()
			if !mode.IsTransfer() {
				mode = domain.ModeWrittenTransfer
			}
		}
		if err := s.checkOverride(c, in.WorkingDays, in.Hours); err != nil {
			return err
		}
		limit, err := s.limit(c, at, mode, in.WorkingDays, in.Hours)
		if err != nil {
			return err
		}
		return c.Transfer(by, at, domain.TransferOrder{Lead: lead, Assisting: assisting, Mode: mode, Limit: limit, Note: in.Note})
	})
}

func (s *Service) unit(ctx context.Context, field, id string) (domain.Unit, error) {
	if id == "" {
		return domain.Unit{}, &domain.ValidationError{Field: field, Reason: "missing unit ID"}
	}
	u, err := s.units(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Unit{}, &domain.ValidationError{Field: field, Value: id, Reason: "no such unit in the directory"}
	}
	return u, err
}

// limit computes a time limit starting at at from the policy and the calendar:
// working days for normal cases, clock hours for urgent and leader-instructed
// ones, never later than a leader's own time limit.
func (s *Service) limit(c *domain.Case, at time.Time, mode domain.HandlingMode, days, hours int) (domain.TimeLimit, error) {
	terms := s.terms(c, at, mode)
	terms.Days, terms.Hours = days, hours
	cal := s.calendar()
	due, err := s.policy.Deadline(cal, terms)
	if err != nil {
		return domain.TimeLimit{}, fmt.Errorf("deadline of case %s: %w", c.ID(), calendarErr(err))
	}
	l := domain.TimeLimit{Due: due}
	if terms.Urgency == policy.Normal {
		l.Provisional = cal.ProvisionalBetween(at, due)
		l.WorkingDays = days
		if days == 0 {
			l.WorkingDays = s.policy.Deadlines.WrittenDays
			if terms.Mode == policy.Phone {
				l.WorkingDays = s.policy.Deadlines.PhoneDays
			}
		}
	}
	if a := c.Snapshot().Approval; a != nil && a.Instruction != nil && !a.Instruction.Due.IsZero() && l.Due.After(a.Instruction.Due) {
		l.Due, l.Provisional = a.Instruction.Due, false // the leader's own date, no calendar in it
	}
	return l, nil
}

// terms are the facts of a case its deadline depends on.
func (s *Service) terms(c *domain.Case, at time.Time, mode domain.HandlingMode) policy.Terms {
	t := policy.Terms{ReceivedAt: at, Mode: policy.Written, Urgency: policy.Normal}
	if mode == domain.ModePhoneTransfer {
		t.Mode = policy.Phone
	}
	if c.Urgency() == domain.UrgencyUrgent {
		t.Urgency = policy.Urgent
	}
	if a := c.Snapshot().Approval; a != nil && a.Instruction != nil {
		t.Urgency = policy.Instructed
	}
	return t
}

// Accept is the lead unit signing for the case (签收).
func (s *Service) Accept(ctx context.Context, by domain.Actor, id, note string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.Accept(by, at, note) })
}

// PassDown hands the case from a level-2 lead to its level-3 sub-unit.
func (s *Service) PassDown(ctx context.Context, by domain.Actor, id, subUnit, note string) (*domain.Case, error) {
	sub, err := s.unit(ctx, "sub_unit", subUnit)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.PassDown(by, at, sub, note) })
}

// ReportProgress is the unit explaining progress or a delay (说明原因).
func (s *Service) ReportProgress(ctx context.Context, by domain.Actor, id, text string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.ReportProgress(by, at, text) })
}

// extensionLimits turns the policy into the domain's caps. Urgent and
// instructed cases take no extension (002 二: 必须在要求时限内办结反馈), which the
// zero value of ExtensionLimits expresses.
func (s *Service) extensionLimits(c *domain.Case) domain.ExtensionLimits {
	if !s.policy.Extension.Allowed || s.terms(c, time.Time{}, c.Mode()).Urgency != policy.Normal {
		return domain.ExtensionLimits{}
	}
	l := domain.ExtensionLimits{MaxCount: s.policy.Extension.MaxCount, MaxTotalWorkingDays: s.policy.Extension.MaxTotalDays}
	if l.MaxCount == 0 {
		l.MaxCount = domain.NoLimit
	}
	if l.MaxTotalWorkingDays == 0 {
		l.MaxTotalWorkingDays = domain.NoLimit
	}
	return l
}

// RequestExtension is the unit asking for more working days (申请延期).
func (s *Service) RequestExtension(ctx context.Context, by domain.Actor, id string, days int, reason string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error {
		return c.RequestExtension(by, at, days, reason, s.extensionLimits(c))
	})
}

// ApproveExtension grants the pending request: the deadline moves by the
// requested working days on the calendar.
func (s *Service) ApproveExtension(ctx context.Context, by domain.Actor, id, note string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error {
		req, ok := c.PendingExtension()
		if !ok || c.Deadline().IsZero() {
			// Let the domain refuse in its order: role, state, then no request.
			return c.ApproveExtension(by, at, domain.TimeLimit{}, s.extensionLimits(c), note)
		}
		// The deadline is 24:00 of its last working day; count from that day.
		cal := s.calendar()
		due, err := cal.AddWorkingDays(c.Deadline().Add(-time.Nanosecond), req.WorkingDays)
		if err != nil {
			return fmt.Errorf("extended deadline of case %s: %w", c.ID(), calendarErr(err))
		}
		// Every day since the round began decided the extended deadline.
		next := domain.TimeLimit{Due: due, Provisional: cal.ProvisionalBetween(c.Round().StartedAt, due)}
		return c.ApproveExtension(by, at, next, s.extensionLimits(c), note)
	})
}

// RefuseExtension turns the pending request down.
func (s *Service) RefuseExtension(ctx context.Context, by domain.Actor, id, reason string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.RefuseExtension(by, at, reason) })
}

// Remind records a reminder (催办).
func (s *Service) Remind(ctx context.Context, by domain.Actor, id, note string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.Remind(by, at, note) })
}

// Supervise records a supervision (督办) with an optional 限期.
func (s *Service) Supervise(ctx context.Context, by domain.Actor, id string, limitBy time.Time, note string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.Supervise(by, at, limitBy, note) })
}

// Reply records the lead unit's result (反馈).
func (s *Service) Reply(ctx context.Context, by domain.Actor, id, text string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.Reply(by, at, text) })
}

// ReviewInput is the center's verdict on a reply (审查, C7).
type ReviewInput struct {
	// Accept passes the reply (完成处理); otherwise it is returned for redo.
	Accept bool
	// Reason is required for a return.
	Reason string
	// WorkingDays optionally sets the redo's time limit.
	WorkingDays int
	Note        string
}

// Review completes the case or returns it for redo with a new time limit.
func (s *Service) Review(ctx context.Context, by domain.Actor, id string, in ReviewInput) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error {
		if in.Accept {
			return c.Complete(by, at, in.Note)
		}
		if !domain.RoleMay(by.Role, domain.ActionReturnForRedo) || c.State() != domain.StateReplied {
			return c.ReturnForRedo(by, at, in.Reason, domain.TimeLimit{}) // the domain's own refusal
		}
		if err := s.checkOverride(c, in.WorkingDays, 0); err != nil {
			return err
		}
		limit, err := s.limit(c, at, c.Mode(), in.WorkingDays, 0)
		if err != nil {
			return err
		}
		return c.ReturnForRedo(by, at, in.Reason, limit)
	})
}

// CallbackInput is a callback result (回访, C8).
type CallbackInput struct {
	Satisfaction domain.Satisfaction
	CallID       string
	Note         string
}

// Callback records the result; dissatisfied reopens the case for the same lead
// with a fresh time limit of the policy.
func (s *Service) Callback(ctx context.Context, by domain.Actor, id string, in CallbackInput) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return s.recordCallback(c, by, at, in) })
}

func (s *Service) recordCallback(c *domain.Case, by domain.Actor, at time.Time, in CallbackInput) error {
	cb := domain.Callback{Satisfaction: in.Satisfaction, CallID: in.CallID, Note: in.Note}
	if in.Satisfaction == domain.Dissatisfied && c.State() == domain.StateCompleted && domain.RoleMay(by.Role, domain.ActionCallbackReopen) {
		limit, err := s.limit(c, at, c.Mode(), 0, 0)
		if err != nil {
			return err
		}
		cb.Redo = limit
	}
	return c.RecordCallback(by, at, cb)
}

// Close ends a completed case without a callback.
func (s *Service) Close(ctx context.Context, by domain.Actor, id, note string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.Close(by, at, note) })
}

// Archive files a finished case (归档).
func (s *Service) Archive(ctx context.Context, by domain.Actor, id, note string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.Archive(by, at, note) })
}

// AttachMaterial files a recording, voicemail, fax or document.
func (s *Service) AttachMaterial(ctx context.Context, by domain.Actor, id string, m domain.MaterialRef) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.AttachMaterial(by, at, m) })
}

// LinkCall links a call to the case.
func (s *Service) LinkCall(ctx context.Context, by domain.Actor, id, callID string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.LinkCall(by, at, callID) })
}

// RecordRepeat notes that the citizen reported the same problem again.
func (s *Service) RecordRepeat(ctx context.Context, by domain.Actor, id, callID, note string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.RecordRepeat(by, at, callID, note) })
}

// RecordFinding records a supervisor's finding against a unit.
func (s *Service) RecordFinding(ctx context.Context, by domain.Actor, id, unitID string, kind domain.FindingKind, facts string) (*domain.Case, error) {
	return s.change(ctx, id, func(c *domain.Case, at time.Time) error { return c.RecordFinding(by, at, unitID, kind, facts) })
}

// CalendarActor is who recomputes deadlines after a calendar import.
var CalendarActor = domain.Actor{ID: "calendar", Role: domain.RoleSystem}

// RecomputeDeadline counts the deadline of an open case again on the calendar
// in force: the round's working days plus its granted extensions from the
// round's start, capped by a leader's own date, as when it was set. It is run
// on cases with a provisional deadline after an operator imports a notice; a
// case whose deadline comes out the same (with the same mark) is left alone, so
// running it twice, or on several casework instances at once, records one
// change. It reports whether the deadline changed.
func (s *Service) RecomputeDeadline(ctx context.Context, id, reason string) (bool, error) {
	changed := false
	_, err := s.change(ctx, id, func(c *domain.Case, at time.Time) error {
		round := c.Round()
		if !c.DeadlineProvisional() || round.WorkingDays == 0 || c.Deadline().IsZero() {
			return nil // hours, a leader's date, or already official: no calendar to correct
		}
		if st := c.State(); st != domain.StateTransferred && st != domain.StateAccepted {
			return nil // the unit replied: the deadline served its purpose
		}
		cal := s.calendar()
		due, err := cal.AddWorkingDays(round.StartedAt, round.WorkingDays+round.ExtensionDays)
		if err != nil {
			return fmt.Errorf("recompute deadline of case %s: %w", c.ID(), calendarErr(err))
		}
		l := domain.TimeLimit{Due: due, WorkingDays: round.WorkingDays, Provisional: cal.ProvisionalBetween(round.StartedAt, due)}
		if a := c.Snapshot().Approval; a != nil && a.Instruction != nil && !a.Instruction.Due.IsZero() && l.Due.After(a.Instruction.Due) {
			l.Due, l.Provisional = a.Instruction.Due, false
		}
		before := c.Version()
		if err := c.RecomputeDeadline(CalendarActor, at, l, reason); err != nil {
			return err
		}
		changed = c.Version() != before
		return nil
	})
	return changed, err
}
