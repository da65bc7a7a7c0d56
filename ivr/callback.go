package ivr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/ivr/prompts"
)

// CallbackConfig configures satisfaction callbacks (回访, SPEC T12).
type CallbackConfig struct {
	Enabled bool
	// Dial is the dial string with {number} for the case's caller number, e.g.
	// PJSIP/{number}@carrier.
	Dial     string
	CallerID string
	// Hours are the calling hours (Asia/Shanghai) of each calling day.
	Hours CallingHours
	// Days are the calling days: nil calls every day; the working-day calendar
	// keeps citizens from being phoned on weekends and public holidays.
	Days        WorkingDays
	Attempts    int
	RetryDelay  time.Duration
	RingTimeout time.Duration
	// Durable is the JetStream consumer name.
	Durable string
	// SpoolDir keeps accepted requests until their final result, so that a
	// restart neither loses nor repeats a callback.
	SpoolDir string
	// Concurrency bounds simultaneous outbound calls.
	Concurrency int
	// Numbers is the pattern a number must match to be dialled at all (after
	// separators are dropped); nil means DomesticNumbers. A case's phone is
	// typed by people and can be anything: without this, one registration
	// would make the hotline call a premium or international number (toll
	// fraud).
	Numbers *regexp.Regexp
}

// DomesticNumbers are mainland China's mobile (1[3-9] + 9 digits) and fixed
// numbers with their area code (0 + 9-11 digits), optionally with +86/0086.
var DomesticNumbers = regexp.MustCompile(`^(?:\+86|0086)?(?:1[3-9][0-9]{9}|0[1-9][0-9]{8,10})$`)

// CallingHours are daily clock periods (Asia/Shanghai), e.g. 09:00-12:00,14:00-20:00.
type CallingHours struct{ periods [][2]int } // minutes after midnight, [start, end)

// ParseCallingHours parses "HH:MM-HH:MM" periods separated by commas.
func ParseCallingHours(s string) (CallingHours, error) {
	var h CallingHours
	for _, part := range strings.Split(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(part), "-")
		a, errA := clockMinutes(from)
		b, errB := clockMinutes(to)
		if !ok || errA != nil || errB != nil || a >= b {
			return CallingHours{}, fmt.Errorf("calling hours %q: period %q is not HH:MM-HH:MM", s, part)
		}
		h.periods = append(h.periods, [2]int{a, b})
	}
	return h, nil
}

func clockMinutes(s string) (int, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("time %q is not HH:MM", s)
	}
	return h*60 + m, nil
}

// Open tells whether t is inside the calling hours; no periods means always.
func (h CallingHours) Open(t time.Time) bool {
	if len(h.periods) == 0 {
		return true
	}
	l := t.In(shanghai)
	m := l.Hour()*60 + l.Minute()
	for _, p := range h.periods {
		if m >= p[0] && m < p[1] {
			return true
		}
	}
	return false
}

// WorkingDays tells whether the Asia/Shanghai date of t is an official working
// day; *calendar.Calendar is one (调休 makeup days included). An error means
// the calendar cannot tell, e.g. a year without the State Council notice.
type WorkingDays interface {
	IsWorkingDay(t time.Time) (bool, error)
}

// Dialer places outbound calls in sessions of their own (ARIDialer).
type Dialer interface {
	Dial(ctx context.Context, log *zap.Logger, r ari.OriginateRequest) (OutboundCall, error)
}

// OutboundCall is a call the hotline placed: its session (whose ID is the
// outbound channel's) until End releases it.
type OutboundCall interface {
	Session
	End()
}

// ARIDialer dials through Asterisk.
type ARIDialer struct{ Client *ari.Client }

// Dial places the call (ari.Client.Dial).
func (d ARIDialer) Dial(ctx context.Context, log *zap.Logger, r ari.OriginateRequest) (OutboundCall, error) {
	o, err := d.Client.Dial(ctx, log, r)
	if err != nil {
		return nil, err
	}
	return o, nil
}

// callbackJob is one accepted request, as spooled.
type callbackJob struct {
	EventID    string    `json:"event_id"`
	CaseID     string    `json:"case_id,omitempty"`
	CaseNumber string    `json:"case_number"`
	Number     string    `json:"number"`
	Attempts   int       `json:"attempts"`
	NextAt     time.Time `json:"next_at"`
	running    bool
}

// Attempt results (CallbackPayload.Result of call.callback_attempt).
const (
	CBNoAnswer = "no_answer"
	CBBusy     = "busy"
	CBFailed   = "failed"
	CBNoInput  = "no_input"
)

var surveyKeys = map[string]string{"1": event.Satisfied, "2": event.BasicallySatisfied, "3": event.Dissatisfied}

// phoneNumber is what may be dialled: digits, optionally a leading +. Anything
// else in a request (a dial-string injection, "anonymous") is refused.
var phoneNumber = regexp.MustCompile(`^\+?[0-9]{3,20}$`)

// dialNumber drops the separators casework allows in phone numbers ("010-1234 5678").
func dialNumber(s string) string {
	return strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s))
}

// Callbacks carries out satisfaction callbacks: it takes case.callback_requested
// events (Handle, as an eventbus.Handler), spools them, and calls the citizen in
// calling hours, retrying no answer and busy up to the configured attempts.
type Callbacks struct {
	cfg    CallbackConfig
	front  *Service // prompts, speech, sink, metrics
	dialer Dialer
	log    *zap.Logger
	now    func() time.Time
	mu     sync.Mutex
	jobs   map[string]*callbackJob // by event ID
	wake   chan struct{}
	// dayState is the last calling-day answer ("working", "off" or the
	// calendar's error), so that due logs changes, not every tick (under mu).
	dayState string
}

// NewCallbacks prepares callbacks; they use front's prompts, speech and events.
func NewCallbacks(cfg CallbackConfig, front *Service, dialer Dialer, log *zap.Logger) (*Callbacks, error) {
	if cfg.Attempts < 1 {
		cfg.Attempts = 1
	}
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = 30 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if !strings.Contains(cfg.Dial, "{number}") {
		return nil, fmt.Errorf("callbacks: dial string %q lacks {number}", cfg.Dial)
	}
	if err := os.MkdirAll(cfg.SpoolDir, 0o750); err != nil {
		return nil, fmt.Errorf("callbacks: spool: %w", err)
	}
	cb := &Callbacks{cfg: cfg, front: front, dialer: dialer, log: log.Named("callback"), now: time.Now,
		jobs: map[string]*callbackJob{}, wake: make(chan struct{}, 1)}
	files, err := filepath.Glob(filepath.Join(cfg.SpoolDir, "*.json"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		var j callbackJob
		if err == nil {
			err = json.Unmarshal(b, &j)
		}
		if err == nil && j.EventID+".json" != filepath.Base(f) {
			err = fmt.Errorf("event ID %q does not match the file name", j.EventID)
		}
		if err != nil {
			// A damaged request (torn write, full disk) must not keep the
			// call service from starting: set aside for a person, counted.
			front.metrics.quarantined.WithLabelValues("callbacks").Inc()
			cb.log.Error("spooled callback request unreadable, moved aside", zap.String("file", f+".bad"), zap.Error(err))
			_ = os.Rename(f, f+".bad")
			continue
		}
		cb.jobs[j.EventID] = &j
	}
	if len(files) > 0 {
		cb.log.Info("spooled callbacks resumed", zap.Int("count", len(files)))
	}
	cb.forgetOldDone()
	return cb, nil
}

// Handle accepts one case.callback_requested: it is spooled (durable) before the
// event is acknowledged, and a redelivery of the same event is a no-op.
func (cb *Callbacks) Handle(ctx context.Context, env event.Envelope) error {
	if env.Type != event.CallbackRequested {
		return nil
	}
	var p event.CallbackRequestedPayload
	if err := env.DecodePayload(&p); err != nil {
		cb.log.Error("callback request unreadable; dropped", zap.String("event_id", env.ID), zap.Error(err))
		return nil
	}
	p.Number = dialNumber(p.Number)
	log := cb.log.With(zap.String("event_id", env.ID), zap.String("case_id", env.CaseID), zap.String("case_number", p.CaseNumber))
	allowed := cb.cfg.Numbers
	if allowed == nil {
		allowed = DomesticNumbers
	}
	if !phoneNumber.MatchString(p.Number) || !allowed.MatchString(p.Number) || p.CaseNumber == "" {
		// Nothing to dial: casework learns it as unreachable rather than waiting.
		log.Warn("callback request without a diallable number (not a number, or outside HOTLINE_CALLBACK_NUMBERS)",
			zap.String("number", event.MaskNumber(p.Number)))
		cb.emitFinal(&callbackJob{EventID: env.ID, CaseID: env.CaseID, CaseNumber: p.CaseNumber, Number: p.Number},
			env.ID, event.Unreachable)
		return nil
	}
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if _, ok := cb.jobs[env.ID]; ok {
		return nil
	}
	if _, err := os.Stat(cb.donePath(env.ID)); err == nil {
		log.Info("callback request already carried out; not dialled again")
		return nil
	}
	j := &callbackJob{EventID: env.ID, CaseID: env.CaseID, CaseNumber: p.CaseNumber, Number: p.Number, NextAt: cb.now()}
	if err := cb.save(j); err != nil {
		return err // not acknowledged: redelivered
	}
	cb.jobs[env.ID] = j
	log.Info("callback accepted")
	select {
	case cb.wake <- struct{}{}:
	default:
	}
	return nil
}

// HandleInvalid drops messages that break the contract (logged): they are kept
// by casework's own consumer already.
func (cb *Callbacks) HandleInvalid(ctx context.Context, subject string, data []byte, cause error) error {
	cb.log.Warn("invalid message on the callback subject ignored", zap.String("subject", subject), zap.Error(cause))
	return nil
}

func (cb *Callbacks) path(j *callbackJob) string {
	return filepath.Join(cb.cfg.SpoolDir, j.EventID+".json")
}

// donePath marks a request whose callback is over. The mark outlives the
// stream's copy of the request (doneRetention > the stream's 30 days), so a
// redelivered or duplicated request never makes the citizen's phone ring
// again.
func (cb *Callbacks) donePath(eventID string) string {
	return filepath.Join(cb.cfg.SpoolDir, eventID+".done")
}

const doneRetention = 45 * 24 * time.Hour

// finish ends a job: the done mark first (fsynced), then the request.
func (cb *Callbacks) finish(j *callbackJob) {
	stamp := []byte(cb.now().UTC().Format(time.RFC3339) + "\n")
	if err := ari.WriteFileSync(cb.donePath(j.EventID), stamp, 0o640); err != nil {
		cb.log.Error("callback done mark not written; a redelivered request could call again",
			zap.String("case_number", j.CaseNumber), zap.Error(err))
	}
	delete(cb.jobs, j.EventID)
	_ = os.Remove(cb.path(j))
}

// forgetOldDone removes done marks past doneRetention.
func (cb *Callbacks) forgetOldDone() {
	marks, _ := filepath.Glob(filepath.Join(cb.cfg.SpoolDir, "*.done"))
	for _, m := range marks {
		if fi, err := os.Stat(m); err == nil && cb.now().Sub(fi.ModTime()) > doneRetention {
			_ = os.Remove(m)
		}
	}
}

// save writes j atomically (callers hold cb.mu).
func (cb *Callbacks) save(j *callbackJob) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	// Durable before the request is acknowledged: fsynced file and directory.
	if err := ari.WriteFileSync(cb.path(j), b, 0o640); err != nil {
		return fmt.Errorf("spool callback: %w", err)
	}
	return nil
}

// Run starts due attempts until ctx ends (no new calls after that); attempts
// in progress run on callCtx, which the call service ends after its drain.
func (cb *Callbacks) Run(ctx, callCtx context.Context) error {
	sem := make(chan struct{}, cb.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		now := cb.now()
		for _, j := range cb.due(now) {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				cb.release(j)
				return nil
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				cb.attempt(callCtx, j)
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-cb.wake:
		}
	}
}

// due marks and returns the jobs whose next attempt may start now, oldest first.
// Outside the calling hours or on a day that is not a calling day nothing is
// due; the jobs wait.
func (cb *Callbacks) due(now time.Time) []*callbackJob {
	if !cb.cfg.Hours.Open(now) {
		return nil
	}
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if !cb.callingDay(now) {
		return nil
	}
	var out []*callbackJob
	for _, j := range cb.jobs {
		if !j.running && !now.Before(j.NextAt) {
			j.running = true
			out = append(out, j)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].NextAt.Before(out[b].NextAt) })
	return out
}

// callingDay tells whether callbacks may be made on now's Asia/Shanghai date
// (callers hold cb.mu). When the calendar cannot answer, the answer is no: a
// callback a few days late is better than phoning citizens on a public holiday.
// Each change of answer is logged once, not at every scheduler tick; a
// calendar error names the date, so an unanswerable calendar is logged again
// each day the jobs keep waiting.
func (cb *Callbacks) callingDay(now time.Time) bool {
	if cb.cfg.Days == nil {
		return true
	}
	// The calendar judges the Shanghai date itself; converting here keeps
	// other WorkingDays implementations from judging the server's date.
	l := now.In(shanghai)
	working, err := cb.cfg.Days.IsWorkingDay(l)
	state := map[bool]string{true: "working", false: "off"}[working]
	if err != nil {
		state = err.Error()
	}
	if state == cb.dayState {
		return err == nil && working
	}
	prev := cb.dayState
	cb.dayState = state
	date := zap.String("date", l.Format(time.DateOnly))
	switch {
	case err != nil:
		cb.log.Warn("working-day calendar cannot tell whether today is a working day; callbacks wait",
			date, zap.Int("waiting", len(cb.jobs)), zap.Error(err))
	case !working:
		cb.log.Info("not a working day; callbacks wait", date, zap.Int("waiting", len(cb.jobs)))
	case prev != "":
		cb.log.Info("working day; callbacks resume", date, zap.Int("waiting", len(cb.jobs)))
	}
	return err == nil && working
}

func (cb *Callbacks) release(j *callbackJob) {
	cb.mu.Lock()
	j.running = false
	cb.mu.Unlock()
}

// attempt makes one call and records its outcome; the final result ends the job.
func (cb *Callbacks) attempt(ctx context.Context, j *callbackJob) {
	cb.mu.Lock()
	j.Attempts++
	n := j.Attempts
	_ = cb.save(j) // an attempt counts even if we crash during it
	cb.mu.Unlock()
	result, callID, err := cb.call(ctx, j, n)
	if err != nil && ctx.Err() != nil {
		// Shutting down mid-attempt: the attempt does not count; resume later.
		cb.mu.Lock()
		j.Attempts--
		_ = cb.save(j)
		j.running = false
		cb.mu.Unlock()
		return
	}
	if err != nil {
		cb.log.Error("callback attempt failed", zap.String("case_number", j.CaseNumber), zap.Error(err))
	}
	if _, final := surveyFinal(result); final || n >= cb.cfg.Attempts {
		if !final {
			result = event.Unreachable
		}
		cb.emitFinal(j, callID, result)
		cb.mu.Lock()
		cb.finish(j)
		cb.mu.Unlock()
		return
	}
	cb.mu.Lock()
	j.NextAt = cb.now().Add(cb.cfg.RetryDelay)
	j.running = false
	_ = cb.save(j)
	cb.mu.Unlock()
	cb.log.Info("callback will be retried", zap.String("case_number", j.CaseNumber), zap.Int("attempt", n),
		zap.String("result", result), zap.Time("next_at", j.NextAt))
}

func surveyFinal(result string) (string, bool) {
	switch result {
	case event.Satisfied, event.BasicallySatisfied, event.Dissatisfied:
		return result, true
	}
	return "", false
}

// emitFinal publishes call.callback_result (casework records it on the case;
// dissatisfied reopens it). callID is the answered attempt's call, if any.
func (cb *Callbacks) emitFinal(j *callbackJob, callID, result string) {
	m := cb.front.metrics
	m.callbacks.WithLabelValues("result", result).Inc()
	env, err := event.New(event.CallbackResult, cb.front.cfg.Source, callID, event.CallbackPayload{
		CaseNumber: j.CaseNumber, Attempt: j.Attempts, Result: result})
	if err == nil {
		env.CaseID = j.CaseID
		err = cb.front.sink.Publish(env)
	}
	if err != nil {
		cb.log.Error("callback result not recorded", zap.String("case_number", j.CaseNumber), zap.Error(err))
		return
	}
	cb.log.Info("callback result", zap.String("case_number", j.CaseNumber), zap.String("result", result),
		zap.Int("attempts", j.Attempts), zap.String("call_id", callID))
}

// call places attempt n and runs the survey; it returns the attempt result.
func (cb *Callbacks) call(ctx context.Context, j *callbackJob, n int) (result, callID string, err error) {
	s := cb.front
	o, err := cb.dialer.Dial(ctx, cb.log, ari.OriginateRequest{
		Endpoint: strings.ReplaceAll(cb.cfg.Dial, "{number}", j.Number),
		CallerID: cb.cfg.CallerID,
		Timeout:  cb.cfg.RingTimeout,
	})
	if err != nil {
		s.metrics.callbacks.WithLabelValues("attempt", CBFailed).Inc()
		return CBFailed, "", err
	}
	defer o.End()
	call := newCall(o, cb.log.With(zap.String("call_id", o.ID())), s.sink, s.cfg.Source)
	call.SetCase(j.CaseID)
	call.SetOutcome(event.OutcomeCallback)
	s.metrics.started.WithLabelValues("outbound").Inc()
	call.Emit(event.CallStarted, event.CallStartedPayload{Caller: cb.cfg.CallerID, Called: j.Number,
		Direction: "outbound", Node: o.Node()})
	defer func() {
		p := call.end(false)
		s.metrics.ended.WithLabelValues(p.Outcome, p.HangupBy).Inc()
		s.metrics.duration.Observe(float64(p.DurationMS) / 1000)
	}()
	record := func(r string) {
		s.metrics.callbacks.WithLabelValues("attempt", r).Inc()
		call.Emit(event.CallbackAttempt, event.CallbackPayload{CaseNumber: j.CaseNumber, Attempt: n, Result: r})
		call.Log.Info("callback attempt", zap.String("case_number", j.CaseNumber), zap.Int("attempt", n), zap.String("result", r))
	}
	wctx, cancel := context.WithTimeout(ctx, cb.cfg.RingTimeout+15*time.Second)
	err = o.WaitUp(wctx, o.ID())
	cancel()
	if err != nil {
		var herr *ari.HangupError
		switch {
		case errors.As(err, &herr) && event.DialOutcome(herr.Cause) == event.DialBusy:
			result = CBBusy
		case errors.As(err, &herr) && event.DialOutcome(herr.Cause) != event.DialNoAnswer:
			result = CBFailed
		case ctx.Err() != nil:
			return "", o.ID(), ctx.Err()
		default:
			result = CBNoAnswer
		}
		call.SetOutcome(event.CallbackOutcome(result))
		record(result)
		return result, o.ID(), nil
	}
	result, err = cb.survey(ctx, call, j)
	if err != nil && !errors.Is(err, ari.ErrHangup) {
		return "", o.ID(), err
	}
	record(result)
	return result, o.ID(), nil
}

// survey says which case the call is about and asks for a key: 1 satisfied,
// 2 basically satisfied, 3 dissatisfied. Hanging up before a key is no_input.
func (cb *Callbacks) survey(ctx context.Context, call *Call, j *callbackJob) (string, error) {
	s := cb.front
	ch := call.ChannelID()
	media := []string{s.Sound(string(prompts.CallbackIntro))}
	if s.cfg.Speech != nil {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		path, err := s.cfg.Speech.RenderText(rctx, fmt.Sprintf("关于您反映的问题，案件编号%s。", j.CaseNumber))
		cancel()
		if err != nil {
			call.Log.Warn("case number not rendered; survey without it", zap.Error(err))
		} else {
			media = append(media, prompts.SoundURI(path))
		}
	}
	if _, err := call.S.PlayAll(ctx, ch, media, false); err != nil {
		return CBNoInput, err
	}
	for try := 1; try <= s.cfg.Menu.MaxErrors; try++ {
		if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.CallbackSurvey)), true); err != nil {
			return CBNoInput, err
		}
		key, err := call.S.ReadDigits(ctx, ch, ari.ReadOptions{Max: 1, FirstTimeout: s.cfg.Menu.FirstTimeout})
		if err != nil && !errors.Is(err, ari.ErrNoInput) {
			return CBNoInput, err
		}
		s.menuEvent(call, "callback", key, map[bool]string{true: "survey", false: ChoiceTimeout}[key != ""], try)
		if r, ok := surveyKeys[key]; ok {
			call.SetOutcome(event.CallbackOutcome(r))
			_, err := call.S.Play(ctx, ch, s.Sound(string(prompts.CallbackThanks)), false)
			if errors.Is(err, ari.ErrHangup) {
				err = nil // the answer counts
			}
			return r, err
		}
		prompt := prompts.NoInput
		if key != "" {
			prompt = prompts.InvalidKey
		}
		call.S.FlushDigits(ch)
		if _, err := call.S.Play(ctx, ch, s.Sound(string(prompt)), false); err != nil {
			return CBNoInput, err
		}
	}
	return CBNoInput, nil
}
