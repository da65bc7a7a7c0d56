// Package webhook delivers units' notifications to their outbound webhooks:
// signed (notify.Sign), retried with exponential backoff while the receiver
// fails, each attempt recorded on the delivery (store.Notifications).
package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/notify"
	"github.com/hotline12345/hotline/casework/store"
)

// Store is what the dispatcher needs from store.Notifications.
type Store interface {
	ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.DueDelivery, error)
	Attempted(ctx context.Context, id string, delivered bool, status int, errText string, next time.Time) error
}

// Dispatcher sends due deliveries every Interval until its context ends.
type Dispatcher struct {
	Store  Store
	Client *http.Client // its Timeout bounds one attempt
	Log    *zap.Logger
	// Interval between passes; Backoff is the wait after the first failed
	// attempt, doubled after each further one up to MaxBackoff; after
	// MaxAttempts the delivery is failed for good.
	Interval, Backoff, MaxBackoff time.Duration
	MaxAttempts                   int
	Now                           func() time.Time

	sent *prometheus.CounterVec
}

// NewMetrics registers the dispatcher's counter on reg.
func (d *Dispatcher) NewMetrics(reg prometheus.Registerer) {
	d.sent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_webhook_attempts_total",
		Help: "Webhook delivery attempts to units by result (delivered, retry, failed)."}, []string{"result"})
	reg.MustRegister(d.sent)
}

// lease covers one attempt: a dispatcher that dies mid-attempt leaves the
// delivery to be retried after it.
func (d *Dispatcher) lease() time.Duration { return d.Client.Timeout + 30*time.Second }

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Run dispatches until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.Interval)
	defer t.Stop()
	for {
		if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.Log.Warn("webhook pass failed; retried at the next", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce attempts every delivery due now and returns how many it attempted.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	total := 0
	for ctx.Err() == nil {
		due, err := d.Store.ClaimDue(ctx, d.now(), d.lease(), 20)
		if err != nil {
			return total, err
		}
		for _, x := range due {
			d.attempt(ctx, x)
		}
		total += len(due)
		if len(due) < 20 {
			break
		}
	}
	return total, nil
}

// Backoff returns the wait after the n-th failed attempt (n >= 1).
func Backoff(first, maxWait time.Duration, n int) time.Duration {
	w := first
	for i := 1; i < n && w < maxWait; i++ {
		w *= 2
	}
	return min(w, maxWait)
}

func (d *Dispatcher) attempt(ctx context.Context, x store.DueDelivery) {
	log := d.Log.With(zap.String("delivery_id", x.ID), zap.String("url", x.URL), zap.Int("attempt", x.Attempts))
	status, err := d.post(ctx, x)
	var next time.Time
	result := "delivered"
	if err != nil {
		if x.Attempts < d.MaxAttempts {
			next = d.now().Add(Backoff(d.Backoff, d.MaxBackoff, x.Attempts))
			result = "retry"
		} else {
			result = "failed"
		}
		log.Warn("webhook delivery failed", zap.Int("status", status), zap.Error(err), zap.Time("next_attempt", next))
	} else {
		log.Info("webhook delivered", zap.Int("status", status))
	}
	if d.sent != nil {
		d.sent.WithLabelValues(result).Inc()
	}
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	// Recorded even when ctx ended meanwhile: the attempt happened.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.Store.Attempted(rctx, x.ID, err == nil, status, errText, next); err != nil {
		log.Error("webhook attempt not recorded; the lease ends and it is retried", zap.Error(err))
	}
}

// post sends one signed attempt; any 2xx is delivered.
func (d *Dispatcher) post(ctx context.Context, x store.DueDelivery) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.URL, bytes.NewReader(x.Payload))
	if err != nil {
		return 0, fmt.Errorf("webhook request: %w", err)
	}
	ts := d.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hotline12345-webhook/1")
	req.Header.Set(notify.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(notify.HeaderSignature, notify.Sign(x.Secret, ts, x.Payload))
	req.Header.Set(notify.HeaderDelivery, x.ID)
	req.Header.Set(notify.HeaderEvent, x.Kind)
	resp, err := d.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}
