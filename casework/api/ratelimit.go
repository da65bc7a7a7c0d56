package api

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hotline12345/hotline/casework/api/problem"
)

// clientLimiter gives every client address a token bucket. It guards the public
// routes (Open311): they need no login, so without it anyone could walk the
// case numbers of a day at line rate. Behind a reverse proxy every client has
// the proxy's address; put the limit in the proxy there (documented).
type clientLimiter struct {
	limit   rate.Limit
	burst   int
	now     func() time.Time
	mu      sync.Mutex
	clients map[string]*clientBucket
	swept   time.Time
}

type clientBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// clientIdle is how long a quiet client's bucket is kept; a full bucket
// refills long before, so forgetting it changes nothing.
const clientIdle = 10 * time.Minute

func newClientLimiter(perSecond float64, burst int, now func() time.Time) *clientLimiter {
	return &clientLimiter{limit: rate.Limit(perSecond), burst: burst, now: now, clients: map[string]*clientBucket{}}
}

// allow takes a token of the client's bucket.
func (l *clientLimiter) allow(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > clientIdle {
		for k, b := range l.clients {
			if now.Sub(b.seen) > clientIdle {
				delete(l.clients, k)
			}
		}
		l.swept = now
	}
	b, ok := l.clients[host]
	if !ok {
		b = &clientBucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.clients[host] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

// limited answers 429 with Retry-After when the client is over its rate.
func (l *clientLimiter) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.allow(r.RemoteAddr) {
			w.Header().Set("Retry-After", "1")
			problem.Write(w, r, problem.Problem{Type: problem.TypeRateLimited, Status: http.StatusTooManyRequests,
				Detail: "too many requests from this address; slow down"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
