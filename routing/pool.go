package routing

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// waiter is one caller in the queue.
type waiter struct {
	callID   string
	enqueued time.Time
	// tried holds agents already offered this call without answer: the next
	// offer goes to someone else.
	tried map[string]bool
	// only, when set, restricts the offer to one agent (blind transfer to an agent).
	only string
	// since, when set, is when an adopted caller was first queued by an
	// earlier process: they keep their place.
	since time.Time
	// resumed: adopted from an earlier process (its call.queued was sent).
	resumed bool
}

// match pairs waiting callers (in queue order) with available agents: the first
// caller gets the agent idle longest, the second the next, and so on, skipping
// agents a caller has already tried. It is pure: the queue's whole policy.
func match(queue []*waiter, agents []*Agent) map[*waiter]string {
	avail := make([]*Agent, 0, len(agents))
	for _, a := range agents {
		if a.Available() {
			avail = append(avail, a)
		}
	}
	slices.SortStableFunc(avail, func(x, y *Agent) int {
		if c := x.IdleSince.Compare(y.IdleSince); c != 0 {
			return c
		}
		return compareStrings(x.Staff, y.Staff)
	})
	taken := map[string]bool{}
	out := map[*waiter]string{}
	for _, w := range queue {
		for _, a := range avail {
			if taken[a.Staff] || w.tried[a.Staff] || (w.only != "" && w.only != a.Staff) {
				continue
			}
			taken[a.Staff] = true
			out[w] = a.Staff
			break
		}
	}
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// estimateWait is the expected wait of the caller at position (1-based) given
// the average handling time (talk + wrap-up) and the agents serving the queue
// (ready, on call or wrapping up). With nobody serving, the wait is unknown
// (ok false).
func estimateWait(position int, aht time.Duration, serving int) (time.Duration, bool) {
	if serving <= 0 || position <= 0 {
		return 0, false
	}
	return time.Duration(float64(aht) * float64(position) / float64(serving)), true
}

// waitMinutes rounds an estimated wait up to whole minutes, at least one.
func waitMinutes(d time.Duration) int {
	m := int(math.Ceil(d.Minutes()))
	if m < 1 {
		m = 1
	}
	return m
}

// PoolConfig are the queue's policies.
type PoolConfig struct {
	// WrapUp is the after-call time before an agent is offered the next call.
	WrapUp time.Duration
	// MaxMissed offers in a row unanswered set the agent not ready (paused).
	MaxMissed int
	// InitialAHT is the average handling time assumed before any call was handled.
	InitialAHT time.Duration
}

// Pool is the agents and the queue, under one lock. Every change wakes waiters
// (the same broadcast pattern as ari.Session).
type Pool struct {
	cfg     PoolConfig
	now     func() time.Time
	metrics *Metrics

	mu      sync.Mutex
	changed chan struct{}
	agents  map[string]*Agent
	queue   []*waiter
	aht     time.Duration
	// wrapEnds is when each agent in wrap-up becomes ready again.
	wrapEnds map[string]time.Time
	// onState, when set, hears every state change (called with p.mu held: it
	// must not call back into the pool).
	onState func(a Agent, prev State, spent time.Duration)
	// stateFile, when set, keeps the agents' states across restarts (persist).
	stateFile string
	log       *zap.Logger
}

// NewPool returns an empty pool.
func NewPool(cfg PoolConfig, m *Metrics, now func() time.Time) *Pool {
	if now == nil {
		now = time.Now
	}
	if cfg.MaxMissed <= 0 {
		cfg.MaxMissed = 2
	}
	if cfg.InitialAHT <= 0 {
		cfg.InitialAHT = 3 * time.Minute
	}
	return &Pool{cfg: cfg, now: now, metrics: m, changed: make(chan struct{}),
		agents: map[string]*Agent{}, aht: cfg.InitialAHT, wrapEnds: map[string]time.Time{}}
}

// notify wakes every waiter (callers hold p.mu).
func (p *Pool) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Changed returns a channel closed at the next change.
func (p *Pool) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

// setState moves an agent to a new state, accounting the time spent in the old
// one (callers hold p.mu).
func (p *Pool) setState(a *Agent, s State, reason string) {
	now := p.now()
	prev, spent, changed := a.State, time.Duration(0), a.State != s || a.Reason != reason
	if a.State != s {
		if !a.Since.IsZero() {
			spent = now.Sub(a.Since)
			if p.metrics != nil {
				p.metrics.stateSeconds.WithLabelValues(string(a.State)).Add(spent.Seconds())
			}
		}
		a.State, a.Since = s, now
		if s == Ready {
			a.IdleSince = now
		}
	}
	a.Reason = reason
	if s != Paused {
		a.Reason = ""
	}
	if changed && p.onState != nil {
		p.onState(*a, prev, spent)
	}
	a.ForcedBy, a.forcedReason = "", "" // the order is on record; later changes are the agent's or the queue's
	if s != WrapUp {
		delete(p.wrapEnds, a.Staff)
	}
	p.saveLocked()
	p.gauges()
	p.notify()
}

func (p *Pool) gauges() {
	if p.metrics == nil {
		return
	}
	counts := map[State]int{}
	for _, a := range p.agents {
		counts[a.State]++
	}
	for _, s := range States {
		p.metrics.agents.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
	p.metrics.waiting.Set(float64(len(p.queue)))
}

// Apply runs an agent's action (login, logout, ready, pause) and returns the
// agent's new state.
func (p *Pool) Apply(staff string, act Action, reason string) (Agent, error) {
	return p.ApplyBy(staff, act, reason, "")
}

// ApplyBy is Apply ordered by someone else than the agent (by: a supervisor's
// user ID), which the state change carries for the record. A forced pause of
// an agent on a call takes effect when the call ends, as the agent's own does.
func (p *Pool) ApplyBy(staff string, act Action, reason, by string) (Agent, error) {
	if !ValidStaff(staff) {
		return Agent{}, fmt.Errorf("%w: %q", ErrUnknownAgent, staff)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endWrapUpsLocked()
	a, ok := p.agents[staff]
	if !ok {
		if act != ActLogin {
			return Agent{Staff: staff, State: LoggedOut}, fmt.Errorf("%w: %s while %s", ErrBadState, act, LoggedOut)
		}
		a = &Agent{Staff: staff, State: LoggedOut}
		p.agents[staff] = a
	}
	next, err := Next(a.State, act)
	if err != nil {
		return *a, err
	}
	a.ForcedBy, a.forcedReason = by, ""
	if by != "" {
		a.forcedReason = reason
	}
	switch {
	case act == ActPause && a.State == OnCall:
		a.PauseAfter = nonEmpty(reason, "break")
	case act == ActReady && a.State == OnCall:
		a.PauseAfter = ""
	default:
		if act == ActLogin && a.State != LoggedOut {
			return *a, nil
		}
		if act == ActReady || act == ActLogout {
			a.Missed, a.PauseAfter = 0, ""
		}
		if next == Paused {
			reason = nonEmpty(reason, "break")
			if act == ActLogin {
				reason = "logged_in"
			}
		}
		p.setState(a, next, reason)
	}
	return *a, nil
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Agent returns a copy of one agent.
func (p *Pool) Agent(staff string) (Agent, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endWrapUpsLocked()
	a, ok := p.agents[staff]
	if !ok {
		return Agent{Staff: staff, State: LoggedOut}, false
	}
	return *a, true
}

// Agents returns copies of every known agent, by staff number.
func (p *Pool) Agents() []Agent {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endWrapUpsLocked()
	out := make([]Agent, 0, len(p.agents))
	for _, a := range p.agents {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(x, y Agent) int { return compareStrings(x.Staff, y.Staff) })
	return out
}

// loggedIn counts agents not logged out.
func (p *Pool) loggedIn() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, a := range p.agents {
		if a.State != LoggedOut {
			n++
		}
	}
	return n
}

// enqueue adds a caller at the end of the queue and returns its position.
func (p *Pool) enqueue(w *waiter) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	w.enqueued = p.now()
	if !w.since.IsZero() {
		w.enqueued = w.since
	}
	if w.tried == nil {
		w.tried = map[string]bool{}
	}
	// In order of arrival: an adopted caller goes back to their place.
	i := len(p.queue)
	for i > 0 && p.queue[i-1].enqueued.After(w.enqueued) {
		i--
	}
	p.queue = slices.Insert(p.queue, i, w)
	p.gauges()
	p.notify()
	return i + 1
}

// dequeue removes a caller from the queue (answered, abandoned or overflowed).
func (p *Pool) dequeue(w *waiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.queue, w); i >= 0 {
		p.queue = slices.Delete(p.queue, i, i+1)
	}
	p.gauges()
	p.notify()
}

// position is the caller's 1-based place in the queue and the estimated wait.
func (p *Pool) position(w *waiter) (pos int, wait time.Duration, known bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos = slices.Index(p.queue, w) + 1
	serving := 0
	for _, a := range p.agents {
		switch a.State {
		case Ready, OnCall, WrapUp:
			serving++
		}
	}
	wait, known = estimateWait(pos, p.aht, serving)
	return pos, wait, known
}

// reserve returns the agent this caller should be offered now, marking the
// agent as being offered this call; "" when it is not this caller's turn or no
// agent is available.
func (p *Pool) reserve(w *waiter) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endWrapUpsLocked()
	agents := make([]*Agent, 0, len(p.agents))
	for _, a := range p.agents {
		agents = append(agents, a)
	}
	staff := match(p.queue, agents)[w]
	if staff != "" {
		p.agents[staff].Offering = w.callID
		p.notify()
	}
	return staff
}

// offerDone settles an offer: answered puts the agent on the call; otherwise the
// agent counts a missed offer (and is paused after MaxMissed in a row) and the
// caller will not be offered to this agent again.
func (p *Pool) offerDone(w *waiter, staff string, answered bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.agents[staff]
	if !ok {
		return
	}
	a.Offering = ""
	if answered {
		a.Missed = 0
		a.CallID = w.callID
		a.Calls++
		// Paused or logged out while the phone rang and answered anyway: the call
		// is real; the pause or logout takes effect when it ends.
		switch a.State {
		case Paused:
			a.PauseAfter = nonEmpty(a.Reason, "break")
		case LoggedOut:
			a.LogoutAfter = true
		}
		p.setState(a, OnCall, "")
		return
	}
	w.tried[staff] = true
	// A transfer to one agent who does not answer falls back to the queue.
	w.only = ""
	a.Missed++
	if a.Missed >= p.cfg.MaxMissed && a.State == Ready {
		p.setState(a, Paused, ReasonNoAnswer)
		return
	}
	p.notify()
}

// offerCancelled withdraws an offer the caller hung up on; it does not count
// against the agent.
func (p *Pool) offerCancelled(staff string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.agents[staff]; ok {
		a.Offering = ""
		p.notify()
	}
}

// callEnded puts the agent into wrap-up (or the pause asked for during the
// call) and feeds the call's handling time into the average.
func (p *Pool) callEnded(staff string, talk time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.agents[staff]
	if !ok || a.State != OnCall {
		return
	}
	// Exponentially weighted: recent calls count most.
	handled := talk + p.cfg.WrapUp
	p.aht = time.Duration(0.8*float64(p.aht) + 0.2*float64(handled))
	if a.LogoutAfter {
		a.LogoutAfter, a.PauseAfter, a.CallID = false, "", ""
		p.setState(a, LoggedOut, "")
		return
	}
	if a.PauseAfter != "" {
		reason := a.PauseAfter
		a.PauseAfter = ""
		p.setState(a, Paused, reason)
		return
	}
	if p.cfg.WrapUp <= 0 {
		p.setState(a, Ready, "")
		return
	}
	p.setState(a, WrapUp, "")
	p.wrapEnds[staff] = p.now().Add(p.cfg.WrapUp)
}

// endWrapUps makes agents whose wrap-up is over ready; it returns the next
// wrap-up end (zero if none). Wrap-ups end lazily, whenever the pool is
// consulted; waiting callers also wake at the next end (see nextWrapEnd), so no
// timer goroutine is needed.
func (p *Pool) endWrapUps() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.endWrapUpsLocked()
}

func (p *Pool) endWrapUpsLocked() time.Time {
	now := p.now()
	var next time.Time
	for staff, end := range p.wrapEnds {
		a := p.agents[staff]
		if a == nil || a.State != WrapUp {
			delete(p.wrapEnds, staff)
			continue
		}
		if !end.After(now) {
			a.CallID = ""
			p.setState(a, Ready, "")
			continue
		}
		if next.IsZero() || end.Before(next) {
			next = end
		}
	}
	return next
}
