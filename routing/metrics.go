package routing

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the queue's and agents' series (SPEC O1: queue wait, answer rate,
// abandonment, agent states, offers, three-way outcomes).
type Metrics struct {
	wait         *prometheus.HistogramVec
	answered     *prometheus.CounterVec
	abandoned    *prometheus.CounterVec
	overflow     prometheus.Counter
	waiting      prometheus.Gauge
	offers       *prometheus.CounterVec
	agents       *prometheus.GaugeVec
	stateSeconds *prometheus.CounterVec
	threeway     *prometheus.CounterVec
	recordings   *prometheus.CounterVec
	screenpops   *prometheus.CounterVec
	agentOps     *prometheus.CounterVec
}

// NewMetrics registers the routing series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hotline_queue_wait_seconds", Help: "Time callers waited in the agent queue, by how the wait ended (answered, abandoned, overflow).",
			Buckets: []float64{1, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600},
		}, []string{"outcome"}),
		answered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_queue_answered_total", Help: "Queued calls answered by an agent, by whether within 15 s of queueing.",
		}, []string{"within_15s"}),
		abandoned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_queue_abandoned_total", Help: "Callers who hung up while waiting, by whether the wait was under the short-abandon threshold.",
		}, []string{"short"}),
		overflow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_queue_overflow_total", Help: "Callers sent back to the voice menu/voicemail: nobody logged in or the maximum wait passed.",
		}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_queue_waiting", Help: "Callers waiting in the agent queue now.",
		}),
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_agent_offers_total", Help: "Calls offered (rung) to agents, by result (answered, no_answer, busy, failed).",
		}, []string{"result"}),
		agents: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hotline_agents", Help: "Agents by state.",
		}, []string{"state"}),
		stateSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_agent_state_seconds_total", Help: "Time agents spent in each state (counted when they leave it).",
		}, []string{"state"}),
		threeway: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_threeway_total", Help: "Three-way calls to unit duty lines, by outcome (joined, no_answer, busy, congestion, refused, error).",
		}, []string{"outcome"}),
		recordings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_agent_recordings_total", Help: "Agent call recordings, by result (saved, failed).",
		}, []string{"result"}),
		screenpops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_screenpops_total", Help: "Screen pops sent to agents, by whether earlier cases could be looked up.",
		}, []string{"cases"}),
		agentOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_agent_operations_total", Help: "Agent API operations, by operation and result.",
		}, []string{"op", "result"}),
	}
	reg.MustRegister(m.wait, m.answered, m.abandoned, m.overflow, m.waiting, m.offers, m.agents,
		m.stateSeconds, m.threeway, m.recordings, m.screenpops, m.agentOps)
	for _, s := range States {
		m.agents.WithLabelValues(string(s))
		m.stateSeconds.WithLabelValues(string(s))
	}
	for _, r := range []string{"answered", "no_answer", "busy", "failed"} {
		m.offers.WithLabelValues(r)
	}
	m.answered.WithLabelValues("true")
	m.answered.WithLabelValues("false")
	m.abandoned.WithLabelValues("true")
	m.abandoned.WithLabelValues("false")
	for _, o := range []string{"answered", "abandoned", "overflow"} {
		m.wait.WithLabelValues(o)
	}
	for _, o := range []string{"joined", "no_answer", "busy", "congestion", "refused", "error"} {
		m.threeway.WithLabelValues(o)
	}
	return m
}
