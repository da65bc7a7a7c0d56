package api

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hotline12345/hotline/casework/access"
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

// allowAddr takes a token of the bucket of a client address (host:port).
func (l *clientLimiter) allowAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return l.allow("addr:" + host)
}

// allow takes a token of key's bucket.
func (l *clientLimiter) allow(key string) bool {
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
	b, ok := l.clients[key]
	if !ok {
		b = &clientBucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.clients[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

// limited answers 429 with Retry-After when the client is over its rate.
func (l *clientLimiter) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.allowAddr(r.RemoteAddr) {
			w.Header().Set("Retry-After", "1")
			problem.Write(w, r, problem.Problem{Type: problem.TypeRateLimited, Status: http.StatusTooManyRequests,
				Detail: "too many requests from this address; slow down"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// perUser limits each signed-in user (after authentication) with their own
// bucket, keyed by user ID: a leaked token or a runaway script slows down, the
// others do not notice.
func (l *clientLimiter) perUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := access.PrincipalFrom(r.Context())
		if ok && !l.allow("user:"+p.UserID) {
			w.Header().Set("Retry-After", "1")
			problem.Write(w, r, problem.Problem{Type: problem.TypeRateLimited, Status: http.StatusTooManyRequests,
				Detail: "too many requests for this user; slow down"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
