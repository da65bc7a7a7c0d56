package domain

import (
	"regexp"
	"strconv"
	"time"
)

// CaseNumber is the human case number: the registration date YYYYMMDD followed by
// a 4- to 8-digit sequence, e.g. 202405140007. Digits only, because citizens key
// it on the phone for self-service (T10). Generating the sequence needs the store,
// so it happens outside; the domain only refuses malformed numbers.
type CaseNumber string

var caseNumberPattern = regexp.MustCompile(`^[0-9]{12,16}$`)

// ParseCaseNumber checks the shape and that the date part is a real date.
func ParseCaseNumber(s string) (CaseNumber, error) {
	if !caseNumberPattern.MatchString(s) {
		return "", invalid("number", s, "want YYYYMMDD followed by a 4-8 digit sequence")
	}
	if _, err := time.Parse("20060102", s[:8]); err != nil {
		return "", invalid("number", s, "the first 8 digits are not a date")
	}
	return CaseNumber(s), nil
}

// Valid reports whether n is well-formed.
func (n CaseNumber) Valid() bool {
	_, err := ParseCaseNumber(string(n))
	return err == nil
}

// Date is the registration day encoded in the number (midnight UTC of that day).
func (n CaseNumber) Date() time.Time {
	d, _ := time.Parse("20060102", string(n)[:min(8, len(n))])
	return d
}

// Sequence is the day's sequence number.
func (n CaseNumber) Sequence() int {
	if len(n) <= 8 {
		return 0
	}
	v, _ := strconv.Atoi(string(n)[8:])
	return v
}

// UnmarshalText refuses malformed numbers at the JSON boundary.
func (n *CaseNumber) UnmarshalText(b []byte) error {
	v, err := ParseCaseNumber(string(b))
	*n = v
	return err
}
