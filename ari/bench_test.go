package ari

import (
	"context"
	"testing"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

var dtmfMsg = []byte(`{"type":"ChannelDtmfReceived","application":"hotline","timestamp":"2026-11-21T08:00:00.000+0800","digit":"5","duration_ms":120,"channel":{"id":"node-1700000000.1","name":"PJSIP/carrier-00000001","state":"Up","caller":{"name":"","number":"13800138000"},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"from-carrier","exten":"12345","priority":2,"app_name":"Stasis","app_data":"hotline"},"creationtime":"2026-11-21T08:00:00.000+0800","language":"en"}}`)

// BenchmarkDecode compares the guarded decoder with the library's bare one (the
// baseline, measured in the same run): the ratio is what the guard costs.
func BenchmarkDecode(b *testing.B) {
	var base, guarded time.Duration
	b.Run("library", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if _, err := ariv5.DecodeEvent(dtmfMsg); err != nil {
				b.Fatal(err)
			}
		}
		base = time.Since(start) / time.Duration(b.N)
	})
	b.Run("guarded", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if _, _, err := decodeEvent(dtmfMsg); err != nil {
				b.Fatal(err)
			}
		}
		guarded = time.Since(start) / time.Duration(b.N)
		if base > 0 {
			b.ReportMetric(float64(guarded)/float64(base), "x_library")
		}
	})
}

// BenchmarkDispatch measures decode + route + state update of one DTMF event to a
// live call among 1,000, the per-event cost of the websocket reader.
func BenchmarkDispatch(b *testing.B) {
	c, err := New(Config{URL: "http://127.0.0.1:1/ari", Username: "u", Password: "p", Application: "hotline"}, zap.NewNop(), NewMetrics(nopRegisterer{}))
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		s := newSession(c, "other-"+string(rune('a'+i%26))+string(rune(i)), zap.NewNop())
		s.own(ariv5.ChannelKey, s.id)
	}
	target := newSession(c, "node-1700000000.1", zap.NewNop())
	target.own(ariv5.ChannelKey, target.id)
	ctx := context.Background()
	for b.Loop() {
		c.dispatch(ctx, nil, dtmfMsg)
	}
	b.StopTimer()
	target.FlushDigits(target.id)
}

type nopRegisterer struct{}

func (nopRegisterer) Register(prometheus.Collector) error  { return nil }
func (nopRegisterer) MustRegister(...prometheus.Collector) {}
func (nopRegisterer) Unregister(prometheus.Collector) bool { return true }
