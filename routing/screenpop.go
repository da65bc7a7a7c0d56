package routing

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
)

// Notifier publishes a message on the bus (core NATS: screen pops are for the
// agent's screen now, not part of the durable event stream).
type Notifier interface {
	Publish(subject string, data []byte) error
}

// CaseSummary is one earlier case as the casework API returns it (passed through
// unchanged to the agent's screen).
type CaseSummary = json.RawMessage

// ScreenPop is what an agent's screen gets when they answer a call (T15).
type ScreenPop struct {
	CallID      string    `json:"call_id"`
	StaffNumber string    `json:"staff_number"`
	At          time.Time `json:"at"`
	// Caller is the citizen's number; empty when withheld (Anonymous).
	Caller    string `json:"caller,omitempty"`
	Anonymous bool   `json:"anonymous"`
	// Cases are the caller's earlier cases (repeat callers, 002 三(六)).
	Cases []CaseSummary `json:"cases"`
	// CasesError says why earlier cases are missing (casework unreachable, ...).
	CasesError string `json:"cases_error,omitempty"`
}

// popHub fans screen pops out to the bus and to SSE subscribers.
type popHub struct {
	notify  Notifier
	subject func(staff string) string
	log     *zap.Logger

	mu   sync.Mutex
	subs map[string]map[chan ScreenPop]struct{}
}

func newPopHub(n Notifier, subject func(string) string, log *zap.Logger) *popHub {
	return &popHub{notify: n, subject: subject, log: log, subs: map[string]map[chan ScreenPop]struct{}{}}
}

// subscribe returns a channel of the agent's screen pops and its cancel.
func (h *popHub) subscribe(staff string) (<-chan ScreenPop, func()) {
	ch := make(chan ScreenPop, 8)
	h.mu.Lock()
	if h.subs[staff] == nil {
		h.subs[staff] = map[chan ScreenPop]struct{}{}
	}
	h.subs[staff][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[staff], ch)
		h.mu.Unlock()
	}
}

func (h *popHub) send(p ScreenPop) {
	if h.notify != nil && h.subject != nil {
		if b, err := json.Marshal(p); err == nil {
			if err := h.notify.Publish(h.subject(p.StaffNumber), b); err != nil {
				h.log.Warn("screen pop not published", zap.String("call_id", p.CallID), zap.String("staff", p.StaffNumber), zap.Error(err))
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[p.StaffNumber] {
		select {
		case ch <- p:
		default: // a stuck screen does not hold up calls
		}
	}
}

// screenPop looks up the caller's earlier cases with the agent's own credentials
// and pops the agent's screen. It runs in the background, bounded by ctx.
func (s *Service) screenPop(ctx context.Context, callID, staff string, info ari.ChannelInfo) {
	p := ScreenPop{CallID: callID, StaffNumber: staff, At: time.Now().UTC(), Cases: []CaseSummary{}}
	if anonymousNumber(info.CallerNumber) {
		p.Anonymous = true
	} else {
		p.Caller = info.CallerNumber
	}
	s.mu.Lock()
	token := s.token[staff]
	s.mu.Unlock()
	go func() {
		label := "none"
		if !p.Anonymous && s.dir != nil && token != "" {
			lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			cases, err := s.dir.EarlierCases(lctx, token, p.Caller)
			cancel()
			if err != nil {
				p.CasesError = err.Error()
				label = "error"
			} else {
				p.Cases = append(p.Cases, cases...)
				label = "found"
			}
		}
		s.metrics.screenpops.WithLabelValues(label).Inc()
		s.pop.send(p)
		s.log.Info("screen pop sent", zap.String("call_id", callID), zap.String("staff", staff), zap.Int("cases", len(p.Cases)))
	}()
}
