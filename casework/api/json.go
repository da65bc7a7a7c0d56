package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/domain"
)

// DecodeJSON reads the request body into v, strictly: a JSON media type (when
// one is given), exactly one JSON value, no unknown fields, at most the server's
// body limit. On failure it has already answered (400, 413, 415 or, for a value
// a domain type refused while decoding, 422) and returns false.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeJSON(w, r, v, false)
}

// DecodeOptionalJSON is DecodeJSON for endpoints whose body may be empty; v is
// left as it is then.
func DecodeOptionalJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeJSON(w, r, v, true)
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			problem.Write(w, r, problem.Problem{Type: problem.TypeUnsupportedMedia, Status: http.StatusUnsupportedMediaType,
				Detail: "send the body as application/json"})
			return false
		}
	}
	// The body is already bounded by Server.Handler (Config.MaxBodyBytes).
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		if optional {
			return true
		}
		problem.BadRequest(w, r, "the request body is empty; a JSON object is required")
		return false
	}
	if err == nil {
		// A second value (or trailing garbage) means the client sent something
		// other than what it thinks; refuse rather than ignore half of it.
		if err = dec.Decode(&json.RawMessage{}); errors.Is(err, io.EOF) {
			return true
		}
		if err == nil {
			err = errors.New("more than one JSON value")
		}
	}
	writeDecodeError(w, r, err)
	return false
}

func writeDecodeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		problem.Error(w, r, err)
	case errors.Is(err, domain.ErrInvalid):
		// A domain type's UnmarshalText refused the value (an unknown role, ...).
		problem.Error(w, r, err)
	case errors.As(err, &syntax):
		problem.BadRequest(w, r, fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, err))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			problem.BadRequest(w, r, "the body must be a JSON object")
			return
		}
		problem.BadRequest(w, r, "a field has the wrong JSON type",
			problem.Field(field, fmt.Sprintf("want a JSON %s, got %s", jsonKind(typ.Type.Kind().String()), typ.Value)))
	case errors.Is(err, io.ErrUnexpectedEOF):
		problem.BadRequest(w, r, "malformed JSON: the body ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		problem.BadRequest(w, r, "unknown field "+name, problem.Field(name, "unknown field"))
	default:
		problem.BadRequest(w, r, "malformed JSON: "+err.Error())
	}
}

// jsonKind names a Go kind as JSON calls it.
func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "number"
	case k == "bool":
		return "boolean"
	case k == "slice", k == "array":
		return "array"
	case k == "struct", k == "map", k == "ptr":
		return "object"
	}
	return k
}

// WriteJSON answers status with v as JSON. v is encoded before anything is sent,
// so an encoding failure still becomes a proper 500.
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		problem.Internal(w, r, fmt.Errorf("encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
