package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hotline12345/hotline/casework/api/problem"
)

// Pagination of list endpoints: ?limit=N (1..MaxLimit, default DefaultLimit) and
// ?cursor=C, where C is the next_cursor of the previous page, opaque to clients.
// Responses are List[T]: {"items": [...], "next_cursor": "..."}; no next_cursor
// means the last page. Lists are ordered by a unique key (keyset pagination), so
// a page is stable while rows are added elsewhere and costs the same at any depth.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Page is a parsed page request.
type Page struct {
	Limit int
	// HasCursor tells whether a cursor was given (and decoded into ParsePage's after).
	HasCursor bool
}

// Fetch is how many rows to ask the store for: one more than Limit, to learn
// whether another page follows without a count.
func (p Page) Fetch() int { return p.Limit + 1 }

// ParsePage reads limit and cursor. The cursor is decoded into after, a pointer to
// the endpoint's key type (the one its NewList key function returns). On bad
// input it answers 400 and returns false.
func ParsePage(w http.ResponseWriter, r *http.Request, after any) (Page, bool) {
	q := r.URL.Query()
	p := Page{Limit: DefaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			problem.BadRequest(w, r, "bad limit", problem.Param("limit", fmt.Sprintf("want an integer from 1 to %d", MaxLimit)))
			return Page{}, false
		}
		p.Limit = n
	}
	if c := q.Get("cursor"); c != "" {
		if err := DecodeCursor(c, after); err != nil {
			problem.BadRequest(w, r, "bad cursor", problem.Param("cursor", "not a cursor from this list; start again without one"))
			return Page{}, false
		}
		p.HasCursor = true
	}
	return p, true
}

// List is one page of a list endpoint.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// NewList makes the page from rows fetched with p.Fetch(): when there is one row
// more than the limit, it is dropped and the last kept row's key becomes the next
// cursor. key returns the list's sort key of a row.
func NewList[T any](rows []T, p Page, key func(T) any) (List[T], error) {
	l := List[T]{Items: rows}
	if l.Items == nil {
		l.Items = []T{} // [] rather than null: clients iterate without a check
	}
	if len(rows) > p.Limit {
		l.Items = rows[:p.Limit]
		c, err := EncodeCursor(key(l.Items[p.Limit-1]))
		if err != nil {
			return List[T]{}, err
		}
		l.NextCursor = c
	}
	return l, nil
}

// EncodeCursor turns a sort key into an opaque cursor.
func EncodeCursor(key any) (string, error) {
	b, err := json.Marshal(key)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodeCursor reads a cursor made by EncodeCursor into key (a pointer).
func DecodeCursor(cursor string, key any) error {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return fmt.Errorf("decode cursor: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(key); err != nil {
		return fmt.Errorf("decode cursor: %w", err)
	}
	return nil
}

// OnlyParams answers 400 and returns false if the query has a parameter not in
// allowed, so that a misspelt filter fails loudly instead of returning everything.
func OnlyParams(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	var errs []problem.FieldError
	for name := range r.URL.Query() {
		if !slices.Contains(allowed, name) {
			errs = append(errs, problem.Param(name, "unknown parameter"))
		}
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b problem.FieldError) int { return strings.Compare(a.Parameter, b.Parameter) })
		problem.BadRequest(w, r, "unknown query parameter", errs...)
		return false
	}
	return true
}
