package ari

// The REST half of ARI. ari/v5's native client sends its requests through an
// unexported, zero-value http.Client (http.DefaultTransport: 2 idle
// connections per host, no deadline; its RequestTimeout is declared and never
// used) and takes no context, so neither a connection pool nor a deadline can
// be injected into it. Under load that meant a new TCP connection for almost
// every concurrent request: Asterisk starts a thread per HTTP session, its
// listen backlog (10) overflows, requests stall for seconds to minutes and
// past "sessionlimit" (200) they are refused. So every REST request of this
// layer goes through restClient: one bounded pool of persistent connections
// and a deadline per request. The library's types (events, ChannelData,
// AsteriskInfo, request structs) are still used.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of the REST pool (HOTLINE_ARI_MAX_CONNS, HOTLINE_ARI_REQUEST_TIMEOUT).
const (
	DefaultMaxConns       = 32
	DefaultRequestTimeout = 5 * time.Second
	// asteriskKeepAlive is below http.conf's session_keep_alive (15 s by
	// default): Asterisk closes a persistent connection idle that long, and a
	// POST sent on a connection the server is closing is not retried by Go.
	idleConnTimeout = 10 * time.Second
	// downloadTimeout bounds a request whose body is audio (a stored
	// recording), which may take longer than a control request.
	downloadTimeout = 60 * time.Second
)

// ErrRequestTimeout is returned when Asterisk did not answer an ARI request
// within its deadline (HOTLINE_ARI_REQUEST_TIMEOUT).
var ErrRequestTimeout = errors.New("ARI request timed out")

// StatusError is a non-2xx answer of Asterisk to an ARI request.
type StatusError struct {
	Method, Path string
	Code         int
	Status       string
}

func (e *StatusError) Error() string { return fmt.Sprintf("%s %s: %s", e.Method, e.Path, e.Status) }

// Is makes a 404 match ErrNotFound.
func (e *StatusError) Is(target error) bool {
	return target == ErrNotFound && e.Code == http.StatusNotFound
}

// restClient sends ARI REST requests over a bounded pool of keep-alive
// connections, each request bounded by timeout.
type restClient struct {
	base       string // http://host:port/ari
	user, pass string
	timeout    time.Duration
	http       *http.Client
}

func newRESTClient(cfg Config) *restClient {
	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	t := &http.Transport{
		Proxy: nil, // Asterisk is reached directly, whatever HTTP_PROXY says
		DialContext: (&net.Dialer{
			Timeout:   timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		// MaxConnsPerHost makes requests past the bound wait for a free
		// connection (bounded by their deadline) instead of opening more:
		// Asterisk is better served by 32 busy connections than by 500.
		MaxConnsPerHost:     maxConns,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     idleConnTimeout,
		DisableCompression:  true,
	}
	return &restClient{
		base: strings.TrimRight(cfg.URL, "/"), user: cfg.Username, pass: cfg.Password,
		timeout: timeout, http: &http.Client{Transport: t},
	}
}

// close drops the pool's idle connections (shutdown, tests).
func (r *restClient) close() { r.http.CloseIdleConnections() }

// do sends one request. path is relative to the ARI base URL and may carry a
// query; body (if not nil) is sent as JSON; out (if not nil) receives the JSON
// answer. A 404 matches ErrNotFound, a deadline past matches ErrRequestTimeout.
func (r *restClient) do(ctx context.Context, method, path string, body, out any) error {
	resp, cancel, err := r.send(ctx, r.timeout, method, path, body)
	if err != nil {
		return err
	}
	defer cancel()
	defer drainClose(resp.Body)
	if resp.StatusCode/100 != 2 {
		return &StatusError{Method: method, Path: redactPath(path), Code: resp.StatusCode, Status: resp.Status}
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, redactPath(path), timeoutErr(ctx, err))
		}
	}
	return nil
}

// stream sends one request whose answer is read by the caller (audio); it is
// bounded by the longer download deadline. The caller closes the body and
// then calls cancel.
func (r *restClient) stream(ctx context.Context, method, path string) (*http.Response, context.CancelFunc, error) {
	resp, cancel, err := r.send(ctx, max(r.timeout, downloadTimeout), method, path, nil)
	if err != nil {
		return nil, nil, err
	}
	return resp, cancel, nil
}

func (r *restClient) send(ctx context.Context, timeout time.Duration, method, path string, body any) (*http.Response, context.CancelFunc, error) {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: encode: %w", method, redactPath(path), err)
		}
		rd = bytes.NewReader(buf)
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	req, err := http.NewRequestWithContext(rctx, method, r.base+path, rd)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("%s %s: %w", method, redactPath(path), err)
	}
	req.SetBasicAuth(r.user, r.pass)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.http.Do(req)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("%s %s: %w", method, redactPath(path), timeoutErr(ctx, err))
	}
	return resp, cancel, nil
}

// timeoutErr marks err as ErrRequestTimeout when our own deadline (not the
// caller's context) ended the request.
func timeoutErr(parent context.Context, err error) error {
	if parent.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrRequestTimeout, err)
	}
	return err
}

// drainClose reads what is left of a small answer so that its connection
// goes back to the pool instead of being closed.
func drainClose(b io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(b, 64<<10))
	_ = b.Close()
}

// redactPath keeps query values (variables set, media) out of error texts.
func redactPath(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }
