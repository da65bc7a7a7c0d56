package routing

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ErrUnauthorized: the bearer token is missing, unknown, revoked or not an agent's.
var ErrUnauthorized = errors.New("unauthorized")

// Identity is who a bearer token belongs to, as casework says.
type Identity struct {
	UserID      string `json:"user_id"`
	Name        string `json:"name"`
	Role        string `json:"role"`
	StaffNumber string `json:"staff_number"`
}

// Casework is the call service's client of the casework API: it checks agents'
// bearer tokens (GET /api/v1/me, cached for TTL so a busy agent screen does not
// hit casework on every request, and a revoked token stops working within TTL),
// reads the unit directory and looks up earlier cases, always with the agent's
// own token so that casework's access rules apply.
type Casework struct {
	BaseURL string // e.g. http://127.0.0.1:9102
	HTTP    *http.Client
	TTL     time.Duration
	now     func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cachedIdentity
}

type cachedIdentity struct {
	id      Identity
	expires time.Time
}

// NewCasework returns a client of the casework API at baseURL.
func NewCasework(baseURL string, ttl time.Duration) *Casework {
	return &Casework{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: &http.Client{Timeout: 5 * time.Second},
		TTL: ttl, now: time.Now, cache: map[[32]byte]cachedIdentity{}}
}

func (c *Casework) get(ctx context.Context, token, path string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("casework %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("casework %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("casework %s: %s", path, resp.Status)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return resp.StatusCode, fmt.Errorf("casework %s: decode: %w", path, err)
	}
	return resp.StatusCode, nil
}

// Verify returns the identity behind token.
func (c *Casework) Verify(ctx context.Context, token string) (Identity, error) {
	if token == "" {
		return Identity{}, ErrUnauthorized
	}
	key := sha256.Sum256([]byte(token))
	now := c.now()
	c.mu.Lock()
	if e, ok := c.cache[key]; ok && now.Before(e.expires) {
		c.mu.Unlock()
		return e.id, nil
	}
	c.mu.Unlock()
	var id Identity
	code, err := c.get(ctx, token, "/api/v1/me", &id)
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return Identity{}, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	case err != nil:
		return Identity{}, err
	}
	c.mu.Lock()
	for k, e := range c.cache { // keep the cache small: drop what expired
		if !now.Before(e.expires) {
			delete(c.cache, k)
		}
	}
	c.cache[key] = cachedIdentity{id: id, expires: now.Add(c.TTL)}
	c.mu.Unlock()
	return id, nil
}

// Unit reads one unit of the directory; an unknown unit is ErrNotInDirectory.
func (c *Casework) Unit(ctx context.Context, token, unitID string) (Unit, error) {
	if unitID == "" {
		return Unit{}, fmt.Errorf("%w: empty unit ID", ErrNotInDirectory)
	}
	var u Unit
	code, err := c.get(ctx, token, "/api/v1/units/"+url.PathEscape(unitID), &u)
	if code == http.StatusNotFound {
		return Unit{}, fmt.Errorf("%w: unit %s", ErrNotInDirectory, unitID)
	}
	return u, err
}

// EarlierCases lists the cases of a caller's number (GET /api/v1/cases?phone=).
func (c *Casework) EarlierCases(ctx context.Context, token, phone string) ([]CaseSummary, error) {
	var page struct {
		Items []CaseSummary `json:"items"`
		Cases []CaseSummary `json:"cases"`
	}
	if _, err := c.get(ctx, token, "/api/v1/cases?phone="+url.QueryEscape(phone), &page); err != nil {
		return nil, err
	}
	return append(page.Items, page.Cases...), nil
}

// Case reads the case a call is about (by ID or case number).
func (c *Casework) Case(ctx context.Context, token, ref string) (CaseRef, error) {
	if ref == "" || len(ref) > 64 || strings.ContainsAny(ref, "/?#%") {
		return CaseRef{}, fmt.Errorf("%w: %q", ErrUnknownCase, ref)
	}
	id := ref
	if caseNumber(ref) {
		var err error
		if id, err = c.caseID(ctx, token, ref); err != nil {
			return CaseRef{}, err
		}
	}
	var cr CaseRef
	var raw struct {
		CaseRef
		Number any `json:"number"`
	}
	code, err := c.get(ctx, token, "/api/v1/cases/"+url.PathEscape(id), &raw)
	switch {
	case code == http.StatusNotFound || code == http.StatusForbidden:
		return CaseRef{}, fmt.Errorf("%w: %s", ErrUnknownCase, ref)
	case err != nil:
		return CaseRef{}, err
	}
	cr = raw.CaseRef
	if raw.Number != nil {
		cr.Number = fmt.Sprint(raw.Number)
	}
	return cr, nil
}

// caseNumber tells whether ref has the shape of a case number (YYYYMMDD and a
// 4-8 digit sequence, casework/domain.CaseNumber) rather than a case ID (a UUID):
// casework reads cases by ID only, so a number is looked up first.
func caseNumber(ref string) bool {
	if len(ref) < 12 || len(ref) > 16 {
		return false
	}
	for _, r := range ref {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// caseID resolves a case number with casework's case list, whose q= parameter
// matches a well-formed number exactly (the unique index); the number is
// compared again so that a text match of the content is never taken for it.
func (c *Casework) caseID(ctx context.Context, token, number string) (string, error) {
	var page struct {
		Items []struct {
			ID     string `json:"id"`
			Number string `json:"number"`
		} `json:"items"`
	}
	code, err := c.get(ctx, token, "/api/v1/cases?limit=1&q="+url.QueryEscape(number), &page)
	switch {
	case code == http.StatusForbidden:
		return "", fmt.Errorf("%w: %s", ErrUnknownCase, number)
	case err != nil:
		return "", fmt.Errorf("case number %s: %w", number, err)
	}
	for _, it := range page.Items {
		if it.Number == number {
			return it.ID, nil
		}
	}
	return "", fmt.Errorf("%w: %s", ErrUnknownCase, number)
}
