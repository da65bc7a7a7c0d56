// Package reqctx carries what every line logged for an HTTP request shares: the
// request ID and fields added while the request is handled (the user once
// authenticated, the case ID once known). The API's access-log middleware starts
// it; authentication, handlers and problem responses add to it and log through it,
// so the access line and any error line of one request carry the same fields (O2).
package reqctx

import (
	"context"
	"slices"
	"sync"

	"go.uber.org/zap"
)

type key struct{}

type state struct {
	id  string
	log *zap.Logger

	mu     sync.Mutex
	fields []zap.Field
	route  string
}

// Start returns a context for one request with ID id logging to log.
func Start(ctx context.Context, id string, log *zap.Logger) context.Context {
	if log == nil {
		log = zap.NewNop()
	}
	return context.WithValue(ctx, key{}, &state{id: id, log: log})
}

func get(ctx context.Context) *state {
	s, _ := ctx.Value(key{}).(*state)
	return s
}

// ID is the request ID, or "" outside a request.
func ID(ctx context.Context) string {
	if s := get(ctx); s != nil {
		return s.id
	}
	return ""
}

// Annotate adds fields to every later Logger of this request and to its access
// log line. Outside a request it does nothing.
func Annotate(ctx context.Context, fields ...zap.Field) {
	if s := get(ctx); s != nil {
		s.mu.Lock()
		s.fields = append(s.fields, fields...)
		s.mu.Unlock()
	}
}

// Fields returns the request ID and the annotations so far.
func Fields(ctx context.Context) []zap.Field {
	s := get(ctx)
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]zap.Field{zap.String("request_id", s.id)}, slices.Clone(s.fields)...)
}

// Logger returns the request's logger with its ID and annotations, or a no-op
// logger outside a request.
func Logger(ctx context.Context) *zap.Logger {
	s := get(ctx)
	if s == nil {
		return zap.NewNop()
	}
	return s.log.With(Fields(ctx)...)
}

// SetRoute records the route pattern that matched, for metrics labels (bounded,
// unlike paths). Outside a request it does nothing.
func SetRoute(ctx context.Context, pattern string) {
	if s := get(ctx); s != nil {
		s.mu.Lock()
		s.route = pattern
		s.mu.Unlock()
	}
}

// Route is the pattern recorded by SetRoute, or "".
func Route(ctx context.Context) string {
	if s := get(ctx); s != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.route
	}
	return ""
}
