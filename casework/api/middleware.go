package api

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
)

// RequestIDHeader carries the request ID in and out.
const RequestIDHeader = "X-Request-ID"

// requestIDPattern accepts a caller's (or proxy's) request ID only when it is
// short and plain, since it goes into every log line.
var requestIDPattern = regexp.MustCompile(`^[0-9A-Za-z._:-]{1,64}$`)

// observe gives each request its ID, recovers panics into a 500, and writes the
// access log line and metrics when the request is done.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !requestIDPattern.MatchString(id) {
			id = uuid.NewString()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := reqctx.Start(r.Context(), id, s.log)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler { // the server's way to abort a response; not a bug
					panic(v)
				}
				reqctx.Logger(ctx).Error("panic serving request", zap.Any("panic", v), zap.StackSkip("stack", 1))
				if sw.status == 0 {
					problem.Internal(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			level := zapcore.InfoLevel
			if status >= 500 {
				level = zapcore.WarnLevel
			}
			fields := append(reqctx.Fields(ctx),
				zap.String("method", r.Method), zap.String("path", r.URL.Path),
				zap.Int("status", status), zap.Int64("bytes", sw.bytes), zap.Duration("duration", d))
			s.log.Log(level, "http request", fields...)
			if s.metrics != nil {
				route := reqctx.Route(ctx)
				if route == "" {
					route = "unmatched"
				}
				s.metrics.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
				s.metrics.duration.WithLabelValues(route).Observe(d.Seconds())
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status and size of the response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack is kept reachable for handlers that upgrade the connection.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_api_requests_total",
			Help: "Casework API requests by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_api_request_duration_seconds",
			Help:    "Casework API request duration by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	// A second Server on the same registry (tests, two listeners) shares the
	// collectors already there.
	if err := reg.Register(m.requests); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, fmt.Errorf("api metrics: %w", err)
		}
		m.requests = are.ExistingCollector.(*prometheus.CounterVec)
	}
	if err := reg.Register(m.duration); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, fmt.Errorf("api metrics: %w", err)
		}
		m.duration = are.ExistingCollector.(*prometheus.HistogramVec)
	}
	return m, nil
}
