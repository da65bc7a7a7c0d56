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
	reg.MustRegister(m.connected, m.reconnects, m.events, m.skipped, m.sessions, m.handlerPanics, m.drained, m.restErrors)
	// Pre-create the label values ops alert on, so their series exist at zero.
	for _, r := range []string{"unhandled_type", "decode_error", "decoder_panic", "unrouted"} {
		m.skipped.WithLabelValues(r)
	}
	return m
}
