package ari

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the ARI layer's Prometheus series.
type Metrics struct {
	connected     prometheus.Gauge
	reconnects    prometheus.Counter
	events        *prometheus.CounterVec
	skipped       *prometheus.CounterVec
	sessions      prometheus.Gauge
	handlerPanics prometheus.Counter
	drained       prometheus.Counter
	restErrors    *prometheus.CounterVec
	restTimeouts  *prometheus.CounterVec
	refused       *prometheus.CounterVec
	// Crash recovery (recovery.go).
	recovered     *prometheus.CounterVec
	journalErrors prometheus.Counter
	journalBad    prometheus.Counter
}

// NewMetrics registers the ARI series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_ari_connected", Help: "1 while the ARI event websocket is up.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_ari_reconnects_total", Help: "ARI websocket reconnections.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ari_events_total", Help: "ARI events received and decoded, by type.",
		}, []string{"type"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ari_events_skipped_total",
			Help: "ARI events not delivered to a call: unhandled_type, decode_error, decoder_panic, unrouted.",
		}, []string{"reason"}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_calls_in_progress", Help: "Calls currently handled by this call service.",
		}),
		handlerPanics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_call_handler_panics_total", Help: "Call handlers that panicked (the call was ended, the service went on).",
		}),
		drained: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_calls_sent_to_fallback_total", Help: "New calls sent to the dialplan fallback while draining.",
		}),
		restErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ari_request_errors_total", Help: "Failed ARI REST requests, by operation.",
		}, []string{"op"}),
	}
	m.restTimeouts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_ari_request_timeouts_total", Help: "ARI REST requests Asterisk did not answer within HOTLINE_ARI_REQUEST_TIMEOUT, by operation.",
	}, []string{"op"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_calls_refused_total",
		Help: "New calls sent at once to the dialplan fallback instead of being handled, by reason (capacity: HOTLINE_MAX_ACTIVE_CALLS reached).",
	}, []string{"reason"})
	m.refused.WithLabelValues("capacity")
	m.recovered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_calls_recovered_total",
		Help: "Calls found in Asterisk or in the call journal at (re)connect, by what was done: adopted, ended (channel gone), new (never journaled), orphan_hungup.",
	}, []string{"result"})
	m.journalErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hotline_call_journal_errors_total",
		Help: "Call records that could not be written or removed (disk full?): a crash would lose track of those calls.",
	})
	m.journalBad = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hotline_call_journal_quarantined_total",
		Help: "Damaged call records renamed to .bad at start instead of stopping the service.",
	})
	reg.MustRegister(m.connected, m.reconnects, m.events, m.skipped, m.sessions, m.handlerPanics, m.drained, m.restErrors,
		m.restTimeouts, m.refused, m.recovered, m.journalErrors, m.journalBad)
	for _, r := range []string{"adopted", "ended", "new", "orphan_hungup"} {
		m.recovered.WithLabelValues(r)
	}
	// Pre-create the label values ops alert on, so their series exist at zero.
	for _, r := range []string{"unhandled_type", "decode_error", "decoder_panic", "unrouted"} {
		m.skipped.WithLabelValues(r)
	}
	return m
}
