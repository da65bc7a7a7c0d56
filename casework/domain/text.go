package domain

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkText validates free text: valid UTF-8, at most max runes, and non-blank
// when required.
func checkText(field, s string, max int, required bool) error {
	if !utf8.ValidString(s) {
		return invalid(field, "", "not valid UTF-8")
	}
	if required && strings.TrimSpace(s) == "" {
		return invalid(field, "", "missing")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "", fmt.Sprintf("%d characters, at most %d allowed", n, max))
	}
	return nil
}
