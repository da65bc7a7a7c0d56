package eventbus_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
)

// aclConn is one user's connection with the asynchronous errors (permission
// violations) it got.
type aclConn struct {
	nc *nats.Conn
	js jetstream.JetStream

	mu   sync.Mutex
	errs []error
}

func (c *aclConn) violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var v []string
	for _, e := range c.errs {
		if errors.Is(e, nats.ErrPermissionViolation) || strings.Contains(strings.ToLower(e.Error()), "permissions violation") {
			v = append(v, e.Error())
		}
	}
	return v
}

// waitViolation waits for a permission violation mentioning subj.
func (c *aclConn) waitViolation(t *testing.T, subj string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		for _, v := range c.violations() {
			if strings.Contains(v, subj) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("no permission violation for %q; got %v", subj, c.violations())
}

func dialACL(t *testing.T, cfg eventbus.Config) *aclConn {
	t.Helper()
	c := &aclConn{}
	opts, err := eventbus.DialOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, nats.Timeout(3*time.Second), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		c.mu.Lock()
		c.errs = append(c.errs, err)
		c.mu.Unlock()
	}))
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		t.Fatalf("%s connects: %v", cfg.User, err)
	}
	t.Cleanup(nc.Close)
	c.nc = nc
	c.js, _ = jetstream.New(nc)
	return c
}

type recorder struct {
	mu   sync.Mutex
	seen []event.Envelope
}

func (r *recorder) Handle(_ context.Context, env event.Envelope) error {
	r.mu.Lock()
	r.seen = append(r.seen, env)
	r.mu.Unlock()
	return nil
}
func (r *recorder) HandleInvalid(context.Context, string, []byte, error) error { return nil }
func (r *recorder) types() []event.Type {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ts []event.Type
	for _, e := range r.seen {
		ts = append(ts, e.Type)
	}
	return ts
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func envelope(t *testing.T, typ event.Type, payload any) (event.Envelope, []byte) {
	t.Helper()
	env, err := event.New(typ, "acl-test", "c-1", payload)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return env, data
}

// TestPermissions runs each service's real code against a private server
// with the rendered rules, then tries what the rules must refuse. What is
// asserted is what the stream holds and who received what, not only errors:
// a publish NATS refuses is dropped asynchronously.
func TestPermissions(t *testing.T) {
	scope := eventbus.Scope{Stream: "HOTLINE_ACL", SubjectRoot: "acl", PopSubject: "acl_agents",
		CallbackDurable: "callsvc-callbacks", CaseworkDurable: "casework"}
	srv := natstest.StartAuthServer(t, scope, "")
	base := eventbus.Config{URL: srv.URL, Stream: scope.Stream, SubjectRoot: scope.SubjectRoot, MaxAge: time.Hour, AckWait: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := zaptest.NewLogger(t)

	t.Run("no credentials or a wrong password are refused", func(t *testing.T) {
		if nc, err := nats.Connect(srv.URL, nats.Timeout(3*time.Second)); err == nil {
			nc.Close()
			t.Fatal("a connection without credentials was accepted")
		} else if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("without credentials: %v, want an authorization violation", err)
		}
		wrong := base
		wrong.User, wrong.Password = eventbus.UserCallService, srv.Passwords[eventbus.UserCasework]
		opts, _ := eventbus.DialOptions(wrong)
		if nc, err := nats.Connect(srv.URL, append(opts, nats.Timeout(3*time.Second))...); err == nil {
			nc.Close()
			t.Fatal("the call service's user with casework's password was accepted")
		}
	})

	// Each service does its job with its own user, through the code it runs.
	cwCfg := srv.As(base, eventbus.UserCasework)
	cwCfg.Manage = true
	cw := dialACL(t, cwCfg)
	if _, err := eventbus.EnsureStream(ctx, cw.js, cwCfg); err != nil {
		t.Fatalf("casework manages the stream: %v", err)
	}
	stored := func() uint64 {
		t.Helper()
		s, err := cw.js.Stream(ctx, scope.Stream)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().State.Msgs
	}
	cwConsumer, err := eventbus.NewConsumer(cw.nc, cwCfg, scope.CaseworkDurable, log, eventbus.NewConsumerMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	cwSeen := &recorder{}
	go func() { _ = cwConsumer.Run(ctx, cwSeen) }()

	csCfg := srv.As(base, eventbus.UserCallService)
	cs := dialACL(t, csCfg)
	csCore, csLogs := observer.New(zap.ErrorLevel)
	csNC, err := eventbus.Connect(csCfg, "callsvc", zap.New(csCore))
	if err != nil {
		t.Fatal(err)
	}
	defer csNC.Close()
	pub, err := eventbus.NewPublisher(csNC, csCfg, t.TempDir(), log, eventbus.NewPublisherMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = pub.Run(ctx) }()
	cbConsumer, err := eventbus.NewConsumer(csNC, csCfg, scope.CallbackDurable, log, eventbus.NewConsumerMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	csSeen := &recorder{}
	go func() { _ = cbConsumer.RunFiltered(ctx, csSeen, event.CallbackRequested) }()
	calendars := make(chan eventbus.CalendarSnapshot, 4)
	csJS, _ := jetstream.New(csNC)
	go func() {
		_ = eventbus.WatchCalendar(ctx, csJS, eventbus.CalendarBucket(scope.Stream), 200*time.Millisecond, zap.NewNop(),
			func(s eventbus.CalendarSnapshot) { calendars <- s })
	}()

	t.Run("each service does its job", func(t *testing.T) {
		// The call service publishes a call event (spooled publisher).
		callEnv, _ := envelope(t, event.CallStarted, event.CallStartedPayload{Caller: "13800138000", Called: "12345", Direction: "inbound"})
		if err := pub.Publish(callEnv); err != nil {
			t.Fatal(err)
		}
		eventually(t, "casework consumes the call event", func() bool { return len(cwSeen.types()) >= 1 })
		// Casework publishes case events (the outbox relay's PublishMsg).
		_, reqData := envelope(t, event.CallbackRequested, map[string]string{"case_id": "X"})
		env, chData := envelope(t, event.CaseChanged, map[string]string{"case_id": "X"})
		if _, err := cw.js.Publish(ctx, event.Subject(scope.SubjectRoot, event.CaseChanged), chData, jetstream.WithMsgID(env.ID)); err != nil {
			t.Fatalf("casework publishes case.changed: %v", err)
		}
		if _, err := cw.js.Publish(ctx, event.Subject(scope.SubjectRoot, event.CallbackRequested), reqData); err != nil {
			t.Fatalf("casework publishes case.callback_requested: %v", err)
		}
		eventually(t, "the call service's callback consumer gets the request", func() bool {
			ts := csSeen.types()
			return len(ts) == 1 && ts[0] == event.CallbackRequested
		})
		eventually(t, "casework consumes its own events", func() bool { return len(cwSeen.types()) == 3 })
		// The calendar: casework puts, the call service's watch gets it.
		if err := eventbus.PublishCalendar(ctx, cw.js, eventbus.CalendarBucket(scope.Stream), eventbus.CalendarSnapshot{Revision: 7}); err != nil {
			t.Fatalf("casework publishes the calendar: %v (violations %v)", err, cw.violations())
		}
		select {
		case s := <-calendars:
			if s.Revision != 7 {
				t.Errorf("calendar revision %d, want 7", s.Revision)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the call service's calendar watch got nothing")
		}
		// The operator replays a parked event of any type.
		op := dialACL(t, srv.As(base, eventbus.UserOperator))
		_, replay := envelope(t, event.VoicemailLeft, map[string]string{"uri": "x"})
		if _, err := op.js.Publish(ctx, event.Subject(scope.SubjectRoot, event.VoicemailLeft), replay); err != nil {
			t.Fatalf("hotlinectl replays: %v", err)
		}
		eventually(t, "casework consumes the replay", func() bool { return len(cwSeen.types()) == 4 })
		for _, c := range []*aclConn{cw, cs, op} {
			if v := c.violations(); len(v) > 0 {
				t.Errorf("permission violations while doing the job: %v", v)
			}
		}
		for _, e := range csLogs.FilterMessage("nats error").All() {
			t.Errorf("the call service's connection got %v", e.ContextMap())
		}
	})

	forged := event.Subject(scope.SubjectRoot, event.CallbackRequested)
	t.Run("the call service cannot forge a callback request", func(t *testing.T) {
		before := stored()
		_, data := envelope(t, event.CallbackRequested, map[string]string{"case_id": "FORGED", "number": "0090012345"})
		if err := cs.nc.Publish(forged, data); err != nil {
			t.Fatal(err)
		}
		_ = cs.nc.Flush()
		cs.waitViolation(t, forged)
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := cs.js.Publish(pctx, forged, data)
		pcancel()
		if err == nil {
			t.Error("JetStream publish of case.callback_requested by the call service was acknowledged")
		}
		time.Sleep(300 * time.Millisecond)
		if after := stored(); after != before {
			t.Errorf("stream holds %d messages, was %d: a forged event landed", after, before)
		}
		if n := len(csSeen.types()); n != 1 {
			t.Errorf("the callback consumer saw %d requests, want the 1 genuine one", n)
		}
	})

	t.Run("casework cannot publish call events; the operator cannot consume", func(t *testing.T) {
		before := stored()
		subj := event.Subject(scope.SubjectRoot, event.VoicemailLeft)
		_, data := envelope(t, event.VoicemailLeft, map[string]string{"uri": "/proc/self/environ"})
		_ = cw.nc.Publish(subj, data)
		_ = cw.nc.Flush()
		cw.waitViolation(t, subj)
		op := dialACL(t, srv.As(base, eventbus.UserOperator))
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		if _, err := op.js.CreateOrUpdateConsumer(rctx, scope.Stream, jetstream.ConsumerConfig{Durable: "peek", FilterSubject: scope.SubjectRoot + ".>"}); err == nil {
			t.Error("the operator created a consumer of the stream")
		}
		rcancel()
		time.Sleep(300 * time.Millisecond)
		if after := stored(); after != before {
			t.Errorf("stream holds %d messages, was %d", after, before)
		}
	})

	t.Run("screen pops are read only by the call service", func(t *testing.T) {
		pop := scope.PopSubject + ".1001.screenpop"
		own, err := cs.nc.SubscribeSync(scope.PopSubject + ".*.screenpop")
		if err != nil {
			t.Fatal(err)
		}
		spies := map[string]*nats.Subscription{}
		cwSpy, _ := cw.nc.SubscribeSync(pop)
		spies["casework"] = cwSpy
		op := dialACL(t, srv.As(base, eventbus.UserOperator))
		opSpy, _ := op.nc.SubscribeSync(scope.PopSubject + ".>")
		spies["hotlinectl"] = opSpy
		wide, _ := cs.nc.SubscribeSync(">") // the call service, beyond its rules
		spies["callsvc on >"] = wide
		_ = cw.nc.Flush()
		_ = op.nc.Flush()
		_ = cs.nc.Flush()
		if err := cs.nc.Publish(pop, []byte(`{"caller":"13800138000"}`)); err != nil {
			t.Fatal(err)
		}
		if m, err := own.NextMsg(3 * time.Second); err != nil || !strings.Contains(string(m.Data), "13800138000") {
			t.Fatalf("the call service did not get the screen pop: %v", err)
		}
		for who, sub := range spies {
			if m, err := sub.NextMsg(300 * time.Millisecond); err == nil {
				t.Errorf("%s read a screen pop: %s", who, m.Data)
			}
		}
		cw.waitViolation(t, pop)
		op.waitViolation(t, scope.PopSubject+".>")
		cs.waitViolation(t, `">"`)
	})

	t.Run("the call service's consumer cannot be widened or multiplied", func(t *testing.T) {
		for name, cc := range map[string]jetstream.ConsumerConfig{
			"wider filter":     {Durable: scope.CallbackDurable, FilterSubject: scope.SubjectRoot + ".>", AckPolicy: jetstream.AckExplicitPolicy},
			"another durable":  {Durable: "peek", FilterSubject: forged, AckPolicy: jetstream.AckExplicitPolicy},
			"no filter at all": {Durable: scope.CallbackDurable, AckPolicy: jetstream.AckExplicitPolicy},
		} {
			rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := cs.js.CreateOrUpdateConsumer(rctx, scope.Stream, cc)
			rcancel()
			if err == nil {
				t.Errorf("%s: the call service changed the consumers", name)
			}
		}
		info, err := cs.js.Consumer(ctx, scope.Stream, scope.CallbackDurable)
		if err != nil {
			t.Fatal(err)
		}
		if f := info.CachedInfo().Config.FilterSubject; f != forged {
			t.Errorf("callback consumer's filter is %q, want %q", f, forged)
		}
	})

}

// TestPullReplyRedirect: nats-server discussion #8924 — a user allowed
// CONSUMER.MSG.NEXT names the reply subject the server delivers to, whatever
// that user may publish. The call service can thus have its callback
// requests delivered to any subject, the stream's own included. What contains
// it: the consumer's filter (it cannot be widened, TestPermissions) limits the
// redirected messages to callback requests the call service reads anyway, and
// each carries its original Nats-Msg-Id, so within the stream's duplicate
// window the copy is dropped; after it, casework stores an event ID once.
func TestPullReplyRedirect(t *testing.T) {
	scope := eventbus.Scope{Stream: "HOTLINE_REDIR", SubjectRoot: "redir", PopSubject: "redir_agents",
		CallbackDurable: "callsvc-callbacks", CaseworkDurable: "casework"}
	srv := natstest.StartAuthServer(t, scope, "")
	base := eventbus.Config{URL: srv.URL, Stream: scope.Stream, SubjectRoot: scope.SubjectRoot, MaxAge: time.Hour}
	ctx := context.Background()
	cwCfg := srv.As(base, eventbus.UserCasework)
	cwCfg.Manage = true
	cw := dialACL(t, cwCfg)
	stream, err := eventbus.EnsureStream(ctx, cw.js, cwCfg)
	if err != nil {
		t.Fatal(err)
	}
	cs := dialACL(t, srv.As(base, eventbus.UserCallService))
	forged := event.Subject(scope.SubjectRoot, event.CallbackRequested)
	if _, err := cs.js.CreateOrUpdateConsumer(ctx, scope.Stream, jetstream.ConsumerConfig{Durable: scope.CallbackDurable,
		FilterSubject: forged, AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("the call service creates its consumer: %v", err)
	}
	for _, id := range []string{"Y1", "Y2"} {
		env, data := envelope(t, event.CallbackRequested, map[string]string{"case_id": id})
		if _, err := cw.js.Publish(ctx, forged, data, jetstream.WithMsgID(env.ID)); err != nil {
			t.Fatal(err)
		}
	}
	// Casework's inbox: a spy there gets what the call service redirects.
	spy, err := cw.nc.SubscribeSync(eventbus.InboxPrefix(eventbus.UserCasework) + ".>")
	if err != nil {
		t.Fatal(err)
	}
	_ = cw.nc.Flush()
	next := "$JS.API.CONSUMER.MSG.NEXT." + scope.Stream + "." + scope.CallbackDurable
	pull := func(reply string) {
		if err := cs.nc.PublishRequest(next, reply, []byte(`{"batch":1,"no_wait":true}`)); err != nil {
			t.Fatal(err)
		}
		_ = cs.nc.Flush()
		time.Sleep(500 * time.Millisecond)
	}
	// 1. Into another user's inbox: delivered, the server does not check.
	pull(eventbus.InboxPrefix(eventbus.UserCasework) + ".x")
	m, err := spy.NextMsg(2 * time.Second)
	if err != nil || !strings.Contains(string(m.Data), "Y1") {
		t.Fatalf("expected the redirect to reach casework's inbox (the known behaviour); got %v", err)
	}
	t.Logf("a pull by the call service delivered a callback request into casework's inbox (%d bytes): reply subjects are not checked", len(m.Data))
	// 2. Onto the stream's own subject: the copy must not be stored again.
	pull(forged)
	c, err := cs.js.Consumer(ctx, scope.Stream, scope.CallbackDurable)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.CachedInfo().Delivered.Consumer; d != 2 {
		t.Fatalf("consumer delivered %d messages, want 2 (both pulls served)", d)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("the redirected delivery was stored again: %d messages, want 2", info.State.Msgs)
	}
}

// TestCallServiceStreamRights: the call service may create the stream when it
// starts before casework (services start in any order), but neither change
// nor delete it, nor purge its events.
func TestCallServiceStreamRights(t *testing.T) {
	scope := eventbus.Scope{Stream: "HOTLINE_ORDER", SubjectRoot: "order", PopSubject: "order_agents",
		CallbackDurable: "callsvc-callbacks", CaseworkDurable: "casework"}
	srv := natstest.StartAuthServer(t, scope, "")
	cfg := srv.As(eventbus.Config{URL: srv.URL, Stream: scope.Stream, SubjectRoot: scope.SubjectRoot, MaxAge: time.Hour}, eventbus.UserCallService)
	cs := dialACL(t, cfg)
	ctx := context.Background()
	if _, err := eventbus.EnsureStream(ctx, cs.js, cfg); err != nil {
		t.Fatalf("the call service creates the missing stream: %v", err)
	}
	cfg.Manage, cfg.MaxAge = true, 2*time.Hour
	if _, err := eventbus.EnsureStream(ctx, cs.js, cfg); err == nil {
		t.Error("the call service changed the stream's settings")
	}
	s, err := cs.js.Stream(ctx, scope.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if s.CachedInfo().Config.MaxAge != time.Hour {
		t.Errorf("stream max age %v, want the 1h it was created with", s.CachedInfo().Config.MaxAge)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.Purge(rctx); err == nil {
		t.Error("the call service purged the stream")
	}
	if err := cs.js.DeleteStream(rctx, scope.Stream); err == nil {
		t.Error("the call service deleted the stream")
	}
	if _, err := cs.js.Stream(ctx, scope.Stream); err != nil {
		t.Errorf("stream gone: %v", err)
	}
}
