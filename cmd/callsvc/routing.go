package main

import (
	"net/http"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/ivr"
	"github.com/hotline12345/hotline/ivr/prompts"
	"github.com/hotline12345/hotline/routing"
)

// humanDeps are what run.go hands the agent queue.
type humanDeps struct {
	Log        *zap.Logger
	Registerer prometheus.Registerer
	ARI        *ari.Client
	Sink       ivr.Sink
	Source     string
}

// humanService is the agent queue as the call service wires it: the front
// door's HumanService plus the agents' HTTP routes and screen-pop publisher.
type humanService struct {
	*routing.Service
	auth *routing.Casework
	pop  *lateNotifier
}

// lateNotifier forwards screen pops to the NATS connection once run.go has
// handed it over (attachHumanService); until then they go to SSE only.
type lateNotifier struct {
	mu sync.Mutex
	nc *nats.Conn
}

func (n *lateNotifier) Publish(subject string, data []byte) error {
	n.mu.Lock()
	nc := n.nc
	n.mu.Unlock()
	if nc == nil {
		return nil
	}
	return nc.Publish(subject, data)
}

// newHumanService builds the agent queue (nil when HOTLINE_HUMAN_SERVICE=off).
// It starts no goroutine of its own: wrap-ups end lazily and each caller's wait
// runs in that call's handler.
func newHumanService(cfg config, d humanDeps) (ivr.HumanService, error) {
	rc := cfg.Routing
	if !rc.Enabled {
		d.Log.Info("human service off: every caller gets the voice menu")
		return nil, nil
	}
	cw := routing.NewCasework(rc.CaseworkURL, rc.AuthCache)
	pop := &lateNotifier{}
	deps := routing.Deps{
		Speaker:    &prompts.Renderer{Dir: cfg.SoundsDir},
		Directory:  cw,
		Recordings: d.ARI,
		Notify:     pop,
		PopSubject: func(staff string) string { return rc.PopSubject + "." + staff + ".screenpop" },
		Events:     d.Sink,
		Source:     d.Source,
	}
	s := routing.New(rc.Service, deps, routing.NewMetrics(d.Registerer), d.Log.Named("routing"))
	d.Log.Info("agent queue ready", zap.String("casework", rc.CaseworkURL),
		zap.Duration("ring_timeout", rc.Service.RingTimeout), zap.Duration("max_wait", rc.Service.MaxWait),
		zap.String("screenpop_subject", rc.PopSubject+".<staff>.screenpop"))
	return &humanService{Service: s, auth: cw, pop: pop}, nil
}

// attachHumanService mounts the agents' API on the call service's ops mux and
// hands the NATS connection to the screen-pop publisher.
func attachHumanService(h ivr.HumanService, mux *http.ServeMux, nc *nats.Conn) {
	hs, ok := h.(*humanService)
	if !ok || hs == nil {
		return
	}
	hs.pop.mu.Lock()
	hs.pop.nc = nc
	hs.pop.mu.Unlock()
	hs.Routes(mux, hs.auth)
}
