// Package ari is our layer over github.com/CyCoreSystems/ari/v5: it owns the ARI
// websocket and the dispatch of events to calls, and gives call handlers blocking,
// context-aware operations (answer, play, read digits, record, bridge, originate).
//
// Why not the library's own event plumbing: v5.3.1 panics on an event type it cannot
// decode (Asterisk 22 sends several), silently drops events past a subscription's
// 100-slot buffer, keys playback events by playback ID rather than channel, and its
// REST calls take no context. Here the websocket reader decodes defensively, event
// types are filtered at the source, each call's events update that call's state
// without any buffer to overflow, and every wait is bounded by a context. The
// library is still used for what it does well: typed events and REST requests.
package ari

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
	"go.uber.org/zap"
	"golang.org/x/net/websocket"
)

// Config says where Asterisk's ARI is and which application we are.
type Config struct {
	// URL is the ARI base URL, e.g. http://127.0.0.1:8088/ari.
	URL         string
	Username    string
	Password    string
	Application string
	// DrainContext is the dialplan context a new call is sent back to while this
	// service drains (SIGTERM): extension "fallback" there must answer the caller.
	DrainContext string
	// MaxConns bounds the persistent HTTP connections to ARI (REST requests
	// wait for a free one); 0 means DefaultMaxConns.
	MaxConns int
	// RequestTimeout bounds every REST request; 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxActiveCalls is the capacity: past it a new call is sent at once to
	// DrainContext's fallback instead of being answered late. 0: unlimited.
	MaxActiveCalls int
}

// Validate reports every configuration problem at once.
func (c Config) Validate() error {
	var problems []string
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("ARI URL %q must be http(s)://host:port/ari", c.URL))
	}
	if c.Username == "" || c.Password == "" {
		problems = append(problems, "ARI username and password are required")
	}
	if c.Application == "" {
		problems = append(problems, "ARI application name is required")
	}
	// Asterisk's http.conf sessionlimit is 200 and the event websocket and
	// other clients need sessions too.
	if c.MaxConns < 0 || c.MaxConns > 150 {
		problems = append(problems, fmt.Sprintf("ARI max connections %d must be 1..150 (0: %d)", c.MaxConns, DefaultMaxConns))
	}
	if c.RequestTimeout < 0 || (c.RequestTimeout > 0 && (c.RequestTimeout < 100*time.Millisecond || c.RequestTimeout > time.Minute)) {
		problems = append(problems, fmt.Sprintf("ARI request timeout %s must be 100ms..1m", c.RequestTimeout))
	}
	if c.MaxActiveCalls < 0 {
		problems = append(problems, fmt.Sprintf("max active calls %d must be >= 0 (0: unlimited)", c.MaxActiveCalls))
	}
	if c.MaxActiveCalls > 0 && c.DrainContext == "" {
		problems = append(problems, "a call capacity needs a drain context (its fallback takes the calls past it)")
	}
	if len(problems) > 0 {
		return fmt.Errorf("ari config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Handler runs one call. The engine declares it; the call service implements it.
type Handler interface {
	// HandleCall owns a channel that entered the application and that no session
	// was waiting for. It runs in its own goroutine; when it returns, the session
	// ends and its channels are hung up.
	HandleCall(ctx context.Context, s *Session)
}

// Client is the connection to one Asterisk.
type Client struct {
	cfg     Config
	api     *restClient
	log     *zap.Logger
	metrics *Metrics

	connected atomic.Bool
	draining  atomic.Bool
	detaching atomic.Bool
	journal   *Journal     // nil: calls are not journaled (no crash recovery)
	node      atomic.Value // string: Asterisk entity ID

	mu       sync.Mutex
	routes   map[string]*Session // "kind:id" → owner
	sessions map[*Session]struct{}
	wg       sync.WaitGroup // session goroutines
}

// New prepares a client; Run connects it.
func New(cfg Config, log *zap.Logger, m *Metrics) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, api: newRESTClient(cfg), log: log, metrics: m,
		routes: map[string]*Session{}, sessions: map[*Session]struct{}{}}
	c.node.Store("")
	return c, nil
}

// Connected tells whether the event websocket is up (the service's readiness).
func (c *Client) Connected() bool { return c.connected.Load() }

// Node is the Asterisk entity ID of the current connection.
func (c *Client) Node() string { return c.node.Load().(string) }

// Drain stops taking new calls: calls that arrive from now on are sent back to the
// dialplan's fallback, while calls in progress go on.
func (c *Client) Drain() { c.draining.Store(true) }

// Active is the number of calls being handled.
func (c *Client) Active() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sessions)
}

// Wait blocks until every call handler has returned or ctx ends.
func (c *Client) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d calls still active: %w", c.Active(), ctx.Err())
	}
}

// Run keeps the event websocket connected until ctx ends, reconnecting (with
// backoff) when Asterisk restarts or the connection breaks. Calls are handed to h.
// Call handlers get callCtx, which the owner cancels only when the drain grace is
// over, so that a SIGTERM does not cut live calls.
func (c *Client) Run(ctx, callCtx context.Context, h Handler) error {
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		err := c.connectOnce(ctx, callCtx, h)
		c.connected.Store(false)
		c.metrics.connected.Set(0)
		if ctx.Err() != nil {
			break
		}
		c.metrics.reconnects.Inc()
		c.log.Warn("ARI connection lost, reconnecting", zap.Error(err), zap.Duration("backoff", backoff))
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
		if err == nil {
			backoff = 250 * time.Millisecond
		}
	}
	return nil
}

func (c *Client) connectOnce(ctx, callCtx context.Context, h Handler) error {
	ws, err := c.dial()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()
	defer ws.Close()

	if err := c.setEventFilter(ctx); err != nil {
		// Without the filter we still work: unknown types are skipped on read.
		c.log.Warn("ARI event filter not set", zap.Error(err))
	}
	var info ariv5.AsteriskInfo
	if err := c.api.do(ctx, http.MethodGet, "/asterisk/info", nil, &info); err != nil {
		return fmt.Errorf("ARI asterisk info: %w", err)
	}
	c.node.Store(info.SystemInfo.EntityID)
	c.connected.Store(true)
	c.metrics.connected.Set(1)
	c.log.Info("ARI connected", zap.String("node", info.SystemInfo.EntityID),
		zap.String("asterisk", info.SystemInfo.Version), zap.String("app", c.cfg.Application))
	// Events may have been missed while disconnected: bring live calls up to date.
	c.reconcile(ctx)
	// Calls an earlier process left in Asterisk (crash, restart): adopt or end
	// each before reading on, so that their events find their sessions.
	c.recoverCalls(ctx, callCtx, h)

	for {
		var data []byte
		if err := websocket.Message.Receive(ws, &data); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("ARI websocket read: %w", err)
		}
		c.dispatch(callCtx, h, data)
	}
}

func (c *Client) dial() (*websocket.Conn, error) {
	base, err := url.Parse(strings.TrimRight(c.cfg.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("ARI URL: %w", err)
	}
	wsURL := *base
	wsURL.Scheme = map[string]string{"http": "ws", "https": "wss"}[base.Scheme]
	wsURL.Path += "/events"
	wsURL.RawQuery = url.Values{"app": {c.cfg.Application}, "subscribeAll": {"false"}}.Encode()
	wcfg, err := websocket.NewConfig(wsURL.String(), "http://localhost/")
	if err != nil {
		return nil, fmt.Errorf("ARI websocket config: %w", err)
	}
	wcfg.Header = http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(c.cfg.Username+":"+c.cfg.Password))}}
	wcfg.Dialer = &net.Dialer{Timeout: 5 * time.Second}
	ws, err := websocket.DialConfig(wcfg)
	if err != nil {
		return nil, fmt.Errorf("ARI websocket dial %s: %w", wsURL.Redacted(), err)
	}
	return ws, nil
}

// setEventFilter limits what Asterisk sends to the types we handle. It is per
// application and forgotten when Asterisk restarts, hence set after every connect.
func (c *Client) setEventFilter(ctx context.Context) error {
	type typ struct {
		Type string `json:"type"`
	}
	body := struct {
		Allowed []typ `json:"allowed"`
	}{}
	for _, t := range handledTypes {
		body.Allowed = append(body.Allowed, typ{t})
	}
	return c.api.do(ctx, http.MethodPut, "/applications/"+esc(c.cfg.Application)+"/eventFilter", body, nil)
}

// dispatch decodes one message and routes it. It never blocks on a call: routing
// only updates the call's state under its lock.
func (c *Client) dispatch(callCtx context.Context, h Handler, data []byte) {
	ev, typ, err := decodeEvent(data)
	if err != nil {
		reason := "decode_error"
		switch {
		case errors.Is(err, ErrUnhandledEvent):
			reason = "unhandled_type"
		case errors.Is(err, errDecodePanic):
			reason = "decoder_panic"
			c.log.Error("ARI decoder panicked; event skipped", zap.String("type", typ), zap.Error(err))
		default:
			c.log.Warn("ARI event skipped", zap.String("type", typ), zap.Error(err))
		}
		c.metrics.skipped.WithLabelValues(reason).Inc()
		return
	}
	c.metrics.events.WithLabelValues(typ).Inc()

	targets := c.route(ev)
	if len(targets) == 0 {
		if start, ok := ev.(*ariv5.StasisStart); ok {
			c.startSession(callCtx, h, start)
			return
		}
		c.metrics.skipped.WithLabelValues("unrouted").Inc()
		return
	}
	for _, s := range targets {
		s.apply(ev)
	}
}

// route finds the sessions that own any of the event's keys.
func (c *Client) route(ev ariv5.Event) []*Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Session
	for _, k := range ev.Keys() {
		if s, ok := c.routes[k.Kind+":"+k.ID]; ok && !containsSession(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func containsSession(list []*Session, s *Session) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *Client) startSession(callCtx context.Context, h Handler, start *ariv5.StasisStart) {
	chID := start.Channel.ID
	log := c.log.With(zap.String("call_id", chID))
	if c.draining.Load() && c.cfg.DrainContext != "" {
		// Hand the caller to the dialplan's fallback rather than to a service that is
		// going away; another node or the fallback voicemail answers.
		c.refuse(callCtx, log, h, start, "draining")
		c.metrics.drained.Inc()
		return
	}
	if rec, ok := c.journaledCall(chID); ok {
		// A call of an earlier process coming back into the application (from
		// the dialplan's fax handling): take it over, it is not a new call.
		if r, ok := h.(Resumer); ok {
			c.adopt(callCtx, r, rec, start)
			return
		}
	}
	if c.overCapacity() {
		// Past capacity a caller answered at all would be answered late and
		// served badly, and would slow every call in progress: the fallback
		// (apology, message) answers at once instead.
		c.refuse(callCtx, log, h, start, "capacity")
		c.metrics.refused.WithLabelValues("capacity").Inc()
		return
	}
	s := newSession(c, chID, log)
	s.apply(start)
	c.runSession(s, func() { h.HandleCall(callCtx, s) })
}

// overCapacity tells whether a new call would exceed MaxActiveCalls.
func (c *Client) overCapacity() bool {
	if c.cfg.MaxActiveCalls <= 0 {
		return false
	}
	return c.Active() >= c.cfg.MaxActiveCalls
}

// RefusalRecorder is implemented by a Handler that keeps an account of the
// calls the client sends to the dialplan's fallback without handing them to it
// (past capacity, or while draining): the caller was a citizen calling the
// hotline all the same, and the record must say so.
type RefusalRecorder interface {
	// RecordRefused runs after the call went to the fallback (sent says
	// whether Asterisk took the request); it must not block for long.
	RecordRefused(call RefusedCall)
}

// RefusedCall is a new call sent to the fallback unhandled.
type RefusedCall struct {
	Info   ChannelInfo // as the channel entered the application
	Reason string      // "capacity" or "draining"
	At     time.Time   // when it arrived
	Sent   bool        // the fallback took it (false: the request failed)
}

// refuse sends a new call back to the dialplan's fallback. It does not run
// on the event reader: at capacity the connection pool may be busy, and the
// reader must not wait for it (every call's events would). The request is
// bounded by ctx (the calls' context) and the request deadline; Wait covers it.
func (c *Client) refuse(ctx context.Context, log *zap.Logger, h Handler, start *ariv5.StasisStart, reason string) {
	chID := start.Channel.ID
	var ch channelState
	ch.info.Created = time.Now()
	fillChannel(&ch, start.Channel)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		err := c.api.do(ctx, http.MethodPost, chPath(chID, "continue"), continueBody(c.cfg.DrainContext, "fallback", 1), nil)
		if err != nil {
			log.Error("could not send call to the dialplan fallback", zap.String("reason", reason), zap.Error(err))
		} else {
			log.Info("new call sent to the dialplan fallback", zap.String("reason", reason))
		}
		if r, ok := h.(RefusalRecorder); ok {
			r.RecordRefused(RefusedCall{Info: ch.info, Reason: reason, At: ch.info.Created, Sent: err == nil})
		}
	}()
}

// runSession registers s and runs fn for it in a goroutine of its own; when fn
// returns, the session ends.
func (c *Client) runSession(s *Session, fn func()) {
	c.mu.Lock()
	c.sessions[s] = struct{}{}
	c.metrics.sessions.Set(float64(len(c.sessions)))
	c.mu.Unlock()
	s.own(ariv5.ChannelKey, s.id)

	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.endSession(s)
		defer func() {
			if r := recover(); r != nil {
				c.metrics.handlerPanics.Inc()
				s.Log.Error("call handler panicked; call ended", zap.Any("panic", r), zap.Stack("stack"))
			}
		}()
		fn()
	}()
}

// endSession hangs up what the session still owns and forgets its routes. A
// session its handler kept (Session.Keep: the call goes on in Asterisk for the
// next process) is only forgotten.
func (c *Client) endSession(s *Session) {
	if !s.Kept() {
		// The call's context may be over (drain grace): cleanup has its own bounds.
		ctx := context.Background()
		for _, id := range s.liveChannels() {
			_ = c.api.do(ctx, http.MethodDelete, chPath(id)+"?reason=normal", nil, nil)
		}
		for _, id := range s.ownedBridges() {
			_ = c.api.do(ctx, http.MethodDelete, "/bridges/"+esc(id), nil, nil)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, owner := range c.routes {
		if owner == s {
			delete(c.routes, k)
		}
	}
	delete(c.sessions, s)
	c.metrics.sessions.Set(float64(len(c.sessions)))
}

func (c *Client) register(s *Session, kind, id string) {
	c.mu.Lock()
	c.routes[kind+":"+id] = s
	c.mu.Unlock()
}

// reconcile asks Asterisk about every live call's channels and playbacks after a
// reconnect, and settles what ended while we were not listening.
func (c *Client) reconcile(ctx context.Context) {
	c.mu.Lock()
	sessions := make([]*Session, 0, len(c.sessions))
	for s := range c.sessions {
		sessions = append(sessions, s)
	}
	c.mu.Unlock()
	for _, s := range sessions {
		s.reconcile(ctx)
	}
}
