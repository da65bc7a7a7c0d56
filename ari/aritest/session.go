// Package aritest holds a scripted fake of the call operations of an
// ari.Session, for fast unit tests of the call flows above it (ivr, routing):
// a test scripts what the far ends do — keys, hang-ups, answers, originate
// results — in reaction to the operations the code issues, and then reads the
// operations back. Operations complete at once unless the script says
// otherwise, so a flow that takes a minute against Asterisk runs in
// milliseconds; timeouts are the code's own (tests give it short ones).
package aritest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
)

// Op is one call operation as the code under test issued it.
type Op struct {
	// Name is the operation: answer, hangup, play, moh_start, moh_stop,
	// record, record_start, record_stop, originate, snoop, bridge_create,
	// bridge_add, bridge_remove, bridge_destroy, follow, continue, fallback,
	// setvar, end.
	Name    string
	Channel string
	// Media is a play's media URI; Arg the hang-up reason, bridge kind, music
	// class, recording name or variable.
	Media, Arg string
	Bridge     string
	Originate  ari.OriginateRequest
	At         time.Time
}

func (o Op) String() string {
	s := o.Name + " " + o.Channel
	for _, x := range []string{o.Media, o.Arg, o.Bridge, o.Originate.Endpoint} {
		if x != "" {
			s += " " + x
		}
	}
	return s
}

// Match selects operations for a script rule. It runs under the fake's lock:
// it must not call the Session (the rule's action may).
type Match func(Op) bool

// Named matches operations by name.
func Named(name string) Match { return func(o Op) bool { return o.Name == name } }

// Played matches plays whose media contains part (a prompt ID).
func Played(part string) Match {
	return func(o Op) bool { return o.Name == "play" && strings.Contains(o.Media, part) }
}

// OriginateTo matches originates to endpoint.
func OriginateTo(endpoint string) Match {
	return func(o Op) bool { return o.Name == "originate" && o.Originate.Endpoint == endpoint }
}

type rule struct {
	match Match
	do    func(Op)
	err   error
	once  bool
	used  bool
}

type channel struct {
	info   ari.ChannelInfo
	digits []string
	inApp  bool
	// deadline: an originated channel unanswered by then is hung up with
	// cause 19 (no answer), as Asterisk does at the originate's timeout.
	deadline time.Time
}

type recording struct {
	channel string
	started time.Time
	done    bool
	result  ari.RecordResult
}

// Session is the fake. Its zero value is not usable; use NewSession.
type Session struct {
	id string

	mu         sync.Mutex
	changed    chan struct{}
	channels   map[string]*channel
	bridges    map[string][]string
	recordings map[string]*recording
	globals    map[string]string
	ops        []Op
	rules      []*rule
	rec        ari.CallRecord
	forgotten  bool
	kept       bool
	ended      bool

	// Detach makes Detaching true (the service is stopping and leaves calls
	// to the next process).
	Detach bool
	// RecordResult is what Record returns for a message (name and format
	// are filled in).
	RecordResult ari.RecordResult
	// Audio is what CopyRecording writes.
	Audio []byte
}

// NewSession returns a session whose caller's channel (the session's ID) has
// entered the application and rings.
func NewSession(id string, caller ari.ChannelInfo) *Session {
	f := &Session{id: id, changed: make(chan struct{}), channels: map[string]*channel{},
		bridges: map[string][]string{}, recordings: map[string]*recording{}, globals: map[string]string{}}
	caller.ID, caller.Created = id, time.Now()
	if caller.State == "" {
		caller.State = "Ring"
	}
	f.channels[id] = &channel{info: caller, inApp: true}
	return f
}

// NewOutbound returns the session of an outbound call (ari.Client.Dial):
// its channel, the session's ID, was originated with r (recorded) and rings
// until the script answers or hangs it up, or r's timeout passes.
func NewOutbound(id string, r ari.OriginateRequest) *Session {
	f := NewSession(id, ari.ChannelInfo{Dialed: r.Endpoint})
	r.ChannelID = id
	f.channels[id].inApp = false
	if r.Timeout > 0 {
		f.channels[id].deadline = time.Now().Add(r.Timeout)
	}
	f.ops = append(f.ops, Op{Name: "originate", Channel: id, Originate: r, At: time.Now()})
	return f
}

// On runs do after every operation that matches (outside the fake's lock, so
// do may script more: keys, hang-ups, answers).
func (f *Session) On(m Match, do func(Op)) { f.addRule(&rule{match: m, do: do}) }

// Once runs do after the next operation that matches, only once.
func (f *Session) Once(m Match, do func(Op)) { f.addRule(&rule{match: m, do: do, once: true}) }

// Fail makes the next operation that matches fail with err (it takes no effect).
func (f *Session) Fail(m Match, err error) { f.addRule(&rule{match: m, err: err, once: true}) }

func (f *Session) addRule(r *rule) {
	f.mu.Lock()
	f.rules = append(f.rules, r)
	f.mu.Unlock()
}

// op records an operation and returns the error a Fail rule scripted for it
// and the reactions to run once the operation has taken effect. An operation
// whose context has ended fails without effect, as its ARI request would.
func (f *Session) op(ctx context.Context, o Op) (error, []func(Op)) {
	o.At = time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, o)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", o.Name, err), nil
	}
	var dos []func(Op)
	for _, r := range f.rules {
		if r.used || !r.match(o) {
			continue
		}
		if r.once {
			r.used = true
		}
		if r.err != nil {
			f.notify()
			return fmt.Errorf("%s: %w", o.Name, r.err), nil
		}
		dos = append(dos, r.do)
	}
	f.notify()
	return nil, dos
}

// react runs a rule's reactions.
func react(o Op, dos []func(Op)) {
	for _, do := range dos {
		do(o)
	}
}

// notify wakes every waiter (callers hold f.mu).
func (f *Session) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *Session) wait(ctx context.Context, cond func() (bool, error)) error {
	for {
		f.mu.Lock()
		done, err := cond()
		ch := f.changed
		f.mu.Unlock()
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func (f *Session) channel(id string) *channel {
	ch, ok := f.channels[id]
	if !ok {
		ch = &channel{info: ari.ChannelInfo{ID: id, Created: time.Now()}}
		f.channels[id] = ch
	}
	return ch
}

// hangupErr is the channel's HangupError once it is gone (callers hold f.mu).
func (f *Session) hangupErr(id string) error {
	ch, ok := f.channels[id]
	if !ok || !ch.info.HungUp {
		return nil
	}
	return &ari.HangupError{ChannelID: id, Cause: ch.info.Cause, CauseText: ch.info.CauseText, BySystem: ch.info.BySystem}
}

// --- the script's side: what the far ends do ---

// Press types keys on a channel (DTMF), one event per key.
func (f *Session) Press(chID, keys string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := f.channel(chID)
	for _, k := range keys {
		ch.digits = append(ch.digits, string(k))
	}
	f.notify()
}

// PressLater types keys from a goroutine of its own, the first after delay
// and the others gap apart, as a caller does while the flow goes on; it stops
// when ctx ends.
func (f *Session) PressLater(ctx context.Context, chID string, delay, gap time.Duration, keys string) {
	go func() {
		t := time.NewTimer(delay)
		defer t.Stop()
		for _, k := range keys {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			f.Press(chID, string(k))
			t.Reset(gap)
		}
	}()
}

// HangUp is the far end hanging up a channel with a Q.850 cause.
func (f *Session) HangUp(chID string, cause int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hangUp(chID, cause, false)
}

func (f *Session) hangUp(chID string, cause int, bySystem bool) {
	ch := f.channel(chID)
	if ch.info.HungUp {
		return
	}
	ch.info.HungUp, ch.inApp = true, false
	f.unbridge(chID) // a channel that is gone leaves its bridge
	ch.info.Cause, ch.info.CauseText, ch.info.BySystem = cause, event.CauseText(cause), bySystem
	f.notify()
}

// Answer is an originated channel's far end answering: the channel is up and
// in the application.
func (f *Session) AnswerChannel(chID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := f.channel(chID)
	if ch.info.HungUp {
		return
	}
	ch.info.State, ch.info.AnsweredAt, ch.inApp = "Up", time.Now(), true
	f.notify()
}

// FinishRecording ends a live recording as Asterisk would (the channel went
// silent, or the recording's limit passed).
func (f *Session) FinishRecording(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.recordings[name]; ok && !r.done {
		r.done, r.result.Duration = true, time.Since(r.started)
		f.notify()
	}
}

// --- what the test reads back ---

// Ops returns the operations issued so far, in order.
func (f *Session) Ops() []Op {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ops)
}

// Count tells how many operations so far match.
func (f *Session) Count(m Match) int {
	n := 0
	for _, o := range f.Ops() {
		if m(o) {
			n++
		}
	}
	return n
}

// WaitOp waits until the n-th (1-based) operation matching m has been
// issued and returns it (for flows that run in another goroutine).
func (f *Session) WaitOp(ctx context.Context, m Match, n int) (Op, error) {
	var found Op
	err := f.wait(ctx, func() (bool, error) {
		k := 0
		for _, o := range f.ops {
			if m(o) {
				if k++; k == n {
					found = o
					return true, nil
				}
			}
		}
		return false, nil
	})
	if err != nil {
		return Op{}, fmt.Errorf("waiting for operation %d of a kind (%d so far): %w", n, f.Count(m), err)
	}
	return found, nil
}

// Bridge returns the channels in a bridge.
func (f *Session) Bridge(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bridges[id])
}

// Bridges returns the bridges that exist.
func (f *Session) Bridges() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.bridges))
}

// Ended tells whether End was called (outbound calls).
func (f *Session) Ended() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended
}

// Forgotten tells whether the call record was removed (the call's account
// is complete).
func (f *Session) Forgotten() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forgotten
}

// --- the operations (ivr.Session) ---

// ID is the caller's channel.
func (f *Session) ID() string { return f.id }

// Node names the fake Asterisk.
func (f *Session) Node() string { return "aritest" }

// Caller returns the caller's channel.
func (f *Session) Caller() ari.ChannelInfo {
	info, _ := f.Channel(f.id)
	return info
}

// Channel returns what is known of a channel.
func (f *Session) Channel(id string) (ari.ChannelInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.channels[id]
	if !ok {
		return ari.ChannelInfo{}, false
	}
	return ch.info, true
}

// Alive tells whether the channel is still there.
func (f *Session) Alive(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hangupErr(id) == nil
}

// WaitHangup waits for the channel's hang-up.
func (f *Session) WaitHangup(ctx context.Context, id string) error {
	var herr error
	if err := f.wait(ctx, func() (bool, error) { herr = f.hangupErr(id); return herr != nil, nil }); err != nil {
		return err
	}
	return herr
}

// WaitDestroyed returns at once for a channel that is gone (the fake's
// hang-ups carry their cause).
func (f *Session) WaitDestroyed(ctx context.Context, id string) error {
	return f.wait(ctx, func() (bool, error) {
		ch, ok := f.channels[id]
		return !ok || ch.info.CauseText != "", nil
	})
}

// Answer answers a channel.
func (f *Session) Answer(ctx context.Context, id string) error {
	err, dos := f.op(ctx, Op{Name: "answer", Channel: id})
	if err == nil {
		f.mu.Lock()
		if herr := f.hangupErr(id); herr != nil {
			err = herr
		} else if ch := f.channel(id); ch.info.AnsweredAt.IsZero() {
			ch.info.State, ch.info.AnsweredAt = "Up", time.Now()
		}
		f.mu.Unlock()
	}
	react(Op{Name: "answer", Channel: id}, dos)
	return err
}

// Hangup is the system hanging a channel up.
func (f *Session) Hangup(ctx context.Context, id, reason string) error {
	o := Op{Name: "hangup", Channel: id, Arg: reason}
	err, dos := f.op(ctx, o)
	if err == nil {
		f.mu.Lock()
		f.hangUp(id, 16, true)
		f.mu.Unlock()
	}
	react(o, dos)
	return err
}

// SetVar records the variable.
func (f *Session) SetVar(ctx context.Context, id, name, value string) error {
	o := Op{Name: "setvar", Channel: id, Arg: name + "=" + value}
	err, dos := f.op(ctx, o)
	react(o, dos)
	return err
}

// GlobalVar reads a global set with SetGlobalVar.
func (f *Session) GlobalVar(ctx context.Context, name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.globals[name], nil
}

// SetGlobalVar sets a global.
func (f *Session) SetGlobalVar(ctx context.Context, name, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.globals[name] = value
	return nil
}

// Play records the play; the script's reactions run while it "plays" (keys
// pressed then interrupt it with stopOnDigit). It finishes at once.
func (f *Session) Play(ctx context.Context, chID, media string, stopOnDigit bool) (ari.PlayResult, error) {
	f.mu.Lock()
	typedAhead := stopOnDigit && len(f.channel(chID).digits) > 0
	f.mu.Unlock()
	if typedAhead {
		return ari.PlayResult{Interrupted: true}, nil
	}
	o := Op{Name: "play", Channel: chID, Media: media}
	err, dos := f.op(ctx, o)
	if err != nil {
		return ari.PlayResult{}, err
	}
	react(o, dos)
	if err := ctx.Err(); err != nil {
		return ari.PlayResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if herr := f.hangupErr(chID); herr != nil {
		return ari.PlayResult{}, herr
	}
	return ari.PlayResult{Interrupted: stopOnDigit && len(f.channel(chID).digits) > 0}, nil
}

// PlayAll plays media in order; with stopOnDigit a key stops the rest.
func (f *Session) PlayAll(ctx context.Context, chID string, media []string, stopOnDigit bool) (ari.PlayResult, error) {
	for _, m := range media {
		res, err := f.Play(ctx, chID, m, stopOnDigit)
		if err != nil || res.Interrupted {
			return res, err
		}
	}
	return ari.PlayResult{}, nil
}

// ReadDigits collects keys as ari.Session does, with the real timeouts.
func (f *Session) ReadDigits(ctx context.Context, chID string, o ari.ReadOptions) (string, error) {
	return ari.CollectDigits(ctx, o, func() (string, <-chan struct{}, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if err := f.hangupErr(chID); err != nil {
			return "", nil, err
		}
		ch := f.channel(chID)
		var digit string
		if len(ch.digits) > 0 {
			digit, ch.digits = ch.digits[0], ch.digits[1:]
		}
		return digit, f.changed, nil
	})
}

// FlushDigits forgets the keys typed so far.
func (f *Session) FlushDigits(chID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.channel(chID).digits = nil
}

// PendingDigits returns the keys typed so far.
func (f *Session) PendingDigits(chID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.channel(chID).digits, "")
}

// chOp records an operation on a channel that fails once the channel is gone.
func (f *Session) chOp(ctx context.Context, o Op) error {
	err, dos := f.op(ctx, o)
	if err == nil {
		f.mu.Lock()
		err = f.hangupErr(o.Channel)
		f.mu.Unlock()
	}
	react(o, dos)
	return err
}

// StartMOH records the music.
func (f *Session) StartMOH(ctx context.Context, chID, class string) error {
	return f.chOp(ctx, Op{Name: "moh_start", Channel: chID, Arg: class})
}

// StopMOH records the music's end.
func (f *Session) StopMOH(ctx context.Context, chID string) error {
	return f.chOp(ctx, Op{Name: "moh_stop", Channel: chID})
}

// Record records a message: it ends at once with RecordResult.
func (f *Session) Record(ctx context.Context, chID string, o ari.RecordOptions) (ari.RecordResult, error) {
	res := f.RecordResult
	res.Name, res.Format = nonEmpty(o.Name, uuid.NewString()), nonEmpty(o.Format, "wav")
	err := f.chOp(ctx, Op{Name: "record", Channel: chID, Arg: res.Name})
	f.mu.Lock()
	res.HungUp = f.hangupErr(chID) != nil
	f.mu.Unlock()
	if res.HungUp {
		err = nil // Asterisk finishes the file on hang-up
	}
	return res, err
}

// StartRecording starts a recording that ends when StopRecording or
// FinishRecording is called or its channel hangs up.
func (f *Session) StartRecording(ctx context.Context, chID string, o ari.RecordOptions) (string, error) {
	name := nonEmpty(o.Name, uuid.NewString())
	if err := f.chOp(ctx, Op{Name: "record_start", Channel: chID, Arg: name}); err != nil {
		return "", err
	}
	f.mu.Lock()
	f.recordings[name] = &recording{channel: chID, started: time.Now(), result: ari.RecordResult{Name: name, Format: nonEmpty(o.Format, "wav")}}
	f.mu.Unlock()
	return name, nil
}

// StopRecording ends a live recording.
func (f *Session) StopRecording(ctx context.Context, name string) error {
	o := Op{Name: "record_stop", Arg: name}
	err, dos := f.op(ctx, o)
	if err == nil {
		f.FinishRecording(name)
	}
	react(o, dos)
	return err
}

// WaitRecording waits for a recording to end.
func (f *Session) WaitRecording(ctx context.Context, name string) (ari.RecordResult, error) {
	var res ari.RecordResult
	err := f.wait(ctx, func() (bool, error) {
		r, ok := f.recordings[name]
		if !ok {
			return true, fmt.Errorf("recording %s: %w", name, ari.ErrNotFound)
		}
		if !r.done && f.hangupErr(r.channel) != nil {
			r.done, r.result.Duration = true, time.Since(r.started)
		}
		res = r.result
		return r.done, nil
	})
	return res, err
}

// CopyRecording writes Audio.
func (f *Session) CopyRecording(ctx context.Context, name string, w io.Writer) (int64, error) {
	n, err := w.Write(f.Audio)
	return int64(n), err
}

// DeleteRecording forgets a recording.
func (f *Session) DeleteRecording(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.recordings, name)
	return nil
}

// Originate creates a channel that rings until the script answers or hangs
// it up, or its timeout passes (WaitUp then sees cause 19, no answer).
func (f *Session) Originate(ctx context.Context, r ari.OriginateRequest) (string, error) {
	id := nonEmpty(r.ChannelID, uuid.NewString())
	r.ChannelID = id
	o := Op{Name: "originate", Channel: id, Originate: r}
	f.mu.Lock()
	ch := f.channel(id)
	ch.info.State = "Ring"
	if r.Timeout > 0 {
		ch.deadline = time.Now().Add(r.Timeout)
	}
	f.mu.Unlock()
	err, dos := f.op(ctx, o)
	if err != nil {
		f.mu.Lock()
		f.hangUp(id, 0, true)
		f.mu.Unlock()
		return "", err
	}
	react(o, dos)
	return id, nil
}

// WaitUp waits until an originated channel is answered, hung up, or its
// originate timeout passes.
func (f *Session) WaitUp(ctx context.Context, id string) error {
	f.mu.Lock()
	deadline := f.channel(id).deadline
	f.mu.Unlock()
	if !deadline.IsZero() {
		dctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		err := f.waitUp(dctx, id)
		if err != nil && ctx.Err() == nil && dctx.Err() != nil {
			f.mu.Lock()
			f.hangUp(id, 19, false)
			err = f.hangupErr(id)
			f.mu.Unlock()
		}
		return err
	}
	return f.waitUp(ctx, id)
}

func (f *Session) waitUp(ctx context.Context, id string) error {
	return f.wait(ctx, func() (bool, error) {
		if herr := f.hangupErr(id); herr != nil {
			return true, herr
		}
		ch := f.channels[id]
		return ch.inApp && ch.info.State == "Up", nil
	})
}

// Snoop creates a snoop channel, in the application at once.
func (f *Session) Snoop(ctx context.Context, chID, spy, whisper string) (string, error) {
	id := uuid.NewString()
	if err := f.chOp(ctx, Op{Name: "snoop", Channel: chID, Arg: id}); err != nil {
		return "", err
	}
	f.mu.Lock()
	f.channel(id).inApp = true
	f.channel(id).info.State = "Up"
	f.mu.Unlock()
	return id, nil
}

// WaitInApp waits for the channel to be in the application.
func (f *Session) WaitInApp(ctx context.Context, id string) error {
	return f.wait(ctx, func() (bool, error) {
		if herr := f.hangupErr(id); herr != nil {
			return true, herr
		}
		return f.channel(id).inApp, nil
	})
}

// CreateBridge creates an empty bridge.
func (f *Session) CreateBridge(ctx context.Context, kind string) (string, error) {
	id := uuid.NewString()
	o := Op{Name: "bridge_create", Bridge: id, Arg: kind}
	err, dos := f.op(ctx, o)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	f.bridges[id] = nil
	f.mu.Unlock()
	react(o, dos)
	return id, nil
}

// AddToBridge puts a channel into a bridge (out of any other, as Asterisk
// moves it).
func (f *Session) AddToBridge(ctx context.Context, bridgeID, chID string) error {
	o := Op{Name: "bridge_add", Bridge: bridgeID, Channel: chID}
	err, dos := f.op(ctx, o)
	if err == nil {
		f.mu.Lock()
		if err = f.hangupErr(chID); err == nil {
			if _, ok := f.bridges[bridgeID]; !ok {
				err = fmt.Errorf("bridge %s: %w", bridgeID, ari.ErrNotFound)
			} else {
				f.unbridge(chID)
				f.bridges[bridgeID] = append(f.bridges[bridgeID], chID)
				f.notify()
			}
		}
		f.mu.Unlock()
	}
	react(o, dos)
	return err
}

func (f *Session) unbridge(chID string) {
	for b, chs := range f.bridges {
		f.bridges[b] = slices.DeleteFunc(chs, func(c string) bool { return c == chID })
	}
}

// RemoveFromBridge takes a channel out of a bridge.
func (f *Session) RemoveFromBridge(ctx context.Context, bridgeID, chID string) error {
	o := Op{Name: "bridge_remove", Bridge: bridgeID, Channel: chID}
	err, dos := f.op(ctx, o)
	if err == nil {
		f.mu.Lock()
		f.bridges[bridgeID] = slices.DeleteFunc(f.bridges[bridgeID], func(c string) bool { return c == chID })
		f.notify()
		f.mu.Unlock()
	}
	react(o, dos)
	return err
}

// DestroyBridge deletes a bridge.
func (f *Session) DestroyBridge(ctx context.Context, bridgeID string) error {
	o := Op{Name: "bridge_destroy", Bridge: bridgeID}
	err, dos := f.op(ctx, o)
	if err == nil {
		f.mu.Lock()
		delete(f.bridges, bridgeID)
		f.notify()
		f.mu.Unlock()
	}
	react(o, dos)
	return err
}

// Follow records the subscription.
func (f *Session) Follow(ctx context.Context, id string) error {
	o := Op{Name: "follow", Channel: id}
	err, dos := f.op(ctx, o)
	react(o, dos)
	return err
}

// ContinueAndReturn records the trip to the dialplan; the channel is back at
// once unless it hung up.
func (f *Session) ContinueAndReturn(ctx context.Context, id, dpContext, exten string, priority int) error {
	return f.chOp(ctx, Op{Name: "continue", Channel: id, Arg: fmt.Sprintf("%s,%s,%d", dpContext, exten, priority)})
}

// CameBack is false: the fake's channels never leave for the dialplan.
func (f *Session) CameBack(ctx context.Context, id string, limit time.Duration) bool { return false }

// WaitReturn: the fake's channels never come back from the dialplan.
func (f *Session) WaitReturn(ctx context.Context, id string, limit time.Duration) ([]string, bool) {
	return nil, false
}

// SendToFallback records the hand-over to the dialplan's fallback.
func (f *Session) SendToFallback(ctx context.Context, id string) error {
	return f.chOp(ctx, Op{Name: "fallback", Channel: id})
}

// CallRecord returns the call's record.
func (f *Session) CallRecord() ari.CallRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rec
}

// BeginRecord starts the call's record.
func (f *Session) BeginRecord(rec ari.CallRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rec = rec
	return nil
}

// UpdateRecord changes the call's record.
func (f *Session) UpdateRecord(fn func(r *ari.CallRecord)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.rec)
	return nil
}

// ForgetRecord removes the call's record.
func (f *Session) ForgetRecord() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgotten = true
	return nil
}

// Keep leaves the call to the next process.
func (f *Session) Keep() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kept = true
}

// Kept tells whether Keep was called.
func (f *Session) Kept() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.kept
}

// Detaching is the Detach field.
func (f *Session) Detaching() bool { return f.Detach }

// End releases an outbound call.
func (f *Session) End() {
	f.op(context.Background(), Op{Name: "end", Channel: f.id})
	f.mu.Lock()
	f.ended = true
	f.mu.Unlock()
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
