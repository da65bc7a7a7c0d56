package domain

import "strings"

// enum holds the closed set of codes of one value type and their Chinese labels,
// so every value type parses, validates and labels the same way.
type enum[T ~string] struct {
	field  string
	codes  []T
	labels []string
}

// parse accepts the English code (any case, surrounding space ignored) or the
// Chinese label, because agents' screens and imported records use either.
func (e enum[T]) parse(s string) (T, error) {
	t := strings.TrimSpace(s)
	for i, c := range e.codes {
		if strings.EqualFold(t, string(c)) || t == e.labels[i] {
			return c, nil
		}
	}
	var zero T
	if t == "" {
		return zero, invalid(e.field, "", "missing; want one of "+e.list())
	}
	return zero, invalid(e.field, s, "unknown; want one of "+e.list())
}

func (e enum[T]) valid(v T) bool {
	for _, c := range e.codes {
		if c == v {
			return true
		}
	}
	return false
}

func (e enum[T]) label(v T) string {
	for i, c := range e.codes {
		if c == v {
			return e.labels[i]
		}
	}
	return ""
}

// check validates a value that arrived already typed (struct literal, database).
func (e enum[T]) check(v T) error {
	if e.valid(v) {
		return nil
	}
	_, err := e.parse(string(v))
	if err == nil {
		// A label or differently cased code is not the stored form.
		err = invalid(e.field, string(v), "not a canonical code; want one of "+e.list())
	}
	return err
}

func (e enum[T]) all() []T {
	return append([]T(nil), e.codes...)
}

func (e enum[T]) list() string {
	s := make([]string, len(e.codes))
	for i, c := range e.codes {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}
