// Package problem writes API errors as RFC 9457 application/problem+json, the one
// error format of the casework HTTP API and of the agents' API on the call
// service (routing). Clients branch on Type (a stable URN), show Detail, quote
// RequestID to ops, and map Errors onto form fields.
//
// The call service imports it from here: the package depends only on the pure
// case domain (for Error's mapping) and reqctx, nothing of casework's
// infrastructure, and casework imports nothing of telephony, so the dependency
// rule holds without a third top-level package.
package problem

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/domain"
)

// ContentType is the media type of every error response.
const ContentType = "application/problem+json"

// Problem types. They are URNs rather than URLs because nothing is served at
// them; openapi.yaml documents each.
const (
	TypeMalformed         = "urn:hotline12345:problem:malformed-request"  // 400
	TypeUnauthenticated   = "urn:hotline12345:problem:unauthenticated"    // 401
	TypeForbidden         = "urn:hotline12345:problem:forbidden"          // 403
	TypeNotFound          = "urn:hotline12345:problem:not-found"          // 404
	TypeMethodNotAllowed  = "urn:hotline12345:problem:method-not-allowed" // 405
	TypeConflict          = "urn:hotline12345:problem:conflict"           // 409
	TypeInvalidTransition = "urn:hotline12345:problem:invalid-transition" // 409
	TypeTooLarge          = "urn:hotline12345:problem:too-large"          // 413
	TypeUnsupportedMedia  = "urn:hotline12345:problem:unsupported-media"  // 415
	TypeValidation        = "urn:hotline12345:problem:validation"         // 422
	TypeRateLimited       = "urn:hotline12345:problem:rate-limited"       // 429
	TypeInternal          = "urn:hotline12345:problem:internal"           // 500
	TypeUnavailable       = "urn:hotline12345:problem:unavailable"        // 503
)

// Problem is an RFC 9457 problem detail with two extension members: request_id
// and errors.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// RequestID is also in the X-Request-ID header and on every log line.
	RequestID string       `json:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
}

// FieldError names one bad input: Pointer (a JSON Pointer into the request body,
// as a URI fragment, e.g. "#/duty_line") or Parameter (a query parameter).
type FieldError struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Detail    string `json:"detail"`
}

// Field is a FieldError for a body member; dots nest ("caller.phone" is
// "#/caller/phone").
func Field(name, detail string) FieldError {
	return FieldError{Pointer: "#/" + strings.ReplaceAll(name, ".", "/"), Detail: detail}
}

// Param is a FieldError for a query parameter.
func Param(name, detail string) FieldError { return FieldError{Parameter: name, Detail: detail} }

// Write sends p. Instance defaults to the request path and RequestID to the
// request's ID.
func Write(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	if p.RequestID == "" {
		p.RequestID = reqctx.ID(r.Context())
	}
	body, err := json.Marshal(p)
	if err != nil { // only strings and ints: cannot happen
		body = []byte(`{"type":"` + TypeInternal + `","title":"Internal Server Error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// BadRequest: the request cannot be read (malformed JSON, unknown field, bad
// query parameter).
func BadRequest(w http.ResponseWriter, r *http.Request, detail string, errs ...FieldError) {
	Write(w, r, Problem{Type: TypeMalformed, Status: http.StatusBadRequest, Detail: detail, Errors: errs})
}

// Unauthorized: no valid bearer token. The challenge tells clients what to send.
func Unauthorized(w http.ResponseWriter, r *http.Request, detail string) {
	challenge := `Bearer realm="hotline12345"`
	if r.Header.Get("Authorization") != "" {
		challenge += `, error="invalid_token"` // RFC 6750 §3.1
	}
	w.Header().Set("WWW-Authenticate", challenge)
	Write(w, r, Problem{Type: TypeUnauthenticated, Status: http.StatusUnauthorized, Detail: detail})
}

// Forbidden: authenticated, but the role or unit may not do this.
func Forbidden(w http.ResponseWriter, r *http.Request, detail string) {
	Write(w, r, Problem{Type: TypeForbidden, Status: http.StatusForbidden, Detail: detail})
}

// NotFound: no such resource, or one the caller may not know exists.
func NotFound(w http.ResponseWriter, r *http.Request, detail string) {
	Write(w, r, Problem{Type: TypeNotFound, Status: http.StatusNotFound, Detail: detail})
}

// Conflict: the request collides with the current state (duplicate ID, ...).
func Conflict(w http.ResponseWriter, r *http.Request, detail string) {
	Write(w, r, Problem{Type: TypeConflict, Status: http.StatusConflict, Detail: detail})
}

// InvalidTransition: the action is not allowed in the case's current state.
func InvalidTransition(w http.ResponseWriter, r *http.Request, detail string) {
	Write(w, r, Problem{Type: TypeInvalidTransition, Status: http.StatusConflict, Detail: detail})
}

// Unprocessable: well-formed, but fields fail validation.
func Unprocessable(w http.ResponseWriter, r *http.Request, detail string, errs ...FieldError) {
	if detail == "" {
		detail = "the request has invalid fields; see errors"
	}
	Write(w, r, Problem{Type: TypeValidation, Status: http.StatusUnprocessableEntity, Detail: detail, Errors: errs})
}

// Internal logs err with the request's fields and answers 500 without it: error
// text can carry SQL, hostnames or caller data. The client gets the request ID to
// quote instead.
func Internal(w http.ResponseWriter, r *http.Request, err error) {
	reqctx.Logger(r.Context()).Error("request failed", zap.Error(err))
	Write(w, r, Problem{Type: TypeInternal, Status: http.StatusInternalServerError,
		Detail: "internal error; quote the request_id when reporting it"})
}

// Error answers err with the status its kind calls for: validation errors (a
// *domain.ValidationError, several of them joined, or anything matching
// domain.ErrInvalid) 422; domain.ErrNotFound 404; ErrForbidden 403;
// ErrInvalidTransition and ErrConflict (and the extension rules) 409; a body over
// the limit 413; anything else 500 via Internal. The 4xx details are the error
// text, so errors returned to handlers should be worded for API clients.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, domain.ErrInvalid):
		fields := ValidationFields(err)
		detail := ""
		if len(fields) == 0 {
			detail = err.Error()
		}
		Unprocessable(w, r, detail, fields...)
	case errors.Is(err, domain.ErrNotFound):
		NotFound(w, r, err.Error())
	case errors.Is(err, domain.ErrForbidden):
		Forbidden(w, r, err.Error())
	case errors.Is(err, domain.ErrInvalidTransition):
		InvalidTransition(w, r, err.Error())
	case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrExtensionLimit),
		errors.Is(err, domain.ErrExtensionPending), errors.Is(err, domain.ErrNoPendingExtension):
		Conflict(w, r, err.Error())
	case errors.As(err, &tooLarge):
		Write(w, r, Problem{Type: TypeTooLarge, Status: http.StatusRequestEntityTooLarge,
			Detail: "request body larger than the limit"})
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads this answer and it is not our fault.
		reqctx.Logger(r.Context()).Info("request canceled by client", zap.Error(err))
		Write(w, r, Problem{Type: TypeUnavailable, Status: http.StatusServiceUnavailable, Detail: "request canceled"})
	default:
		Internal(w, r, err)
	}
}

// ValidationFields lists every *domain.ValidationError in err's tree (errors.Join
// and %w wrapping included) as body field errors.
func ValidationFields(err error) []FieldError {
	var out []FieldError
	var walk func(error)
	walk = func(e error) {
		if ve, ok := e.(*domain.ValidationError); ok {
			out = append(out, Field(ve.Field, ve.Reason))
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			if c := u.Unwrap(); c != nil {
				walk(c)
			}
		}
	}
	walk(err)
	return out
}
