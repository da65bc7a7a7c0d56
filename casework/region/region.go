// Package region is the list of administrative areas a hotline registers cases
// in: GB/T 2260 six-digit division codes (行政区划代码) of the city and its
// districts. Reports group cases by region, so a code outside the list would be
// a group of its own that nobody can name; registrations are checked against it.
//
// The list is data: an embedded default for the demo city (default.csv), or a
// deployment's own file of the same form (cmd/casework HOTLINE_REGIONS). The
// domain only knows the shape of a code (domain.Region).
package region

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/hotline12345/hotline/casework/domain"
)

//go:embed default.csv
var defaultCSV []byte

// DefaultSource names the embedded list in messages.
const DefaultSource = "embedded list (北京市)"

// List is a city's regions by code.
type List struct {
	// Source is where the list came from, for messages and logs.
	Source string
	names  map[domain.Region]string
	codes  []domain.Region // in file order
}

// codePattern is a GB/T 2260 code: two digits of province, two of prefecture,
// two of county; the first digit is never 0.
var codePattern = regexp.MustCompile(`^[1-9][0-9]{5}$`)

// Default is the embedded list of the demo city.
func Default() *List {
	l, err := Parse(bytes.NewReader(defaultCSV), DefaultSource)
	if err != nil { // the embedded file is checked by the package's tests
		panic(fmt.Sprintf("region: embedded list: %v", err))
	}
	return l
}

// Load reads a list from a file (see Parse).
func Load(path string) (*List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("region list: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads "code,name" lines (a "code,name" header and # comment lines are
// allowed) and reports every bad line at once: a malformed or repeated code, a
// missing name. An empty list is an error: it would refuse every case.
func Parse(r io.Reader, source string) (*List, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	l := &List{Source: source, names: map[domain.Region]string{}}
	var errs []error
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("region list %s: %w", source, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 2 && rec[0] == "code" && rec[1] == "name" {
			continue
		}
		if len(rec) != 2 {
			errs = append(errs, fmt.Errorf("line %d: want code,name, got %d fields", line, len(rec)))
			continue
		}
		code, name := domain.Region(strings.TrimSpace(rec[0])), strings.TrimSpace(rec[1])
		switch {
		case !codePattern.MatchString(string(code)):
			errs = append(errs, fmt.Errorf("line %d: code %q is not a six-digit GB/T 2260 code", line, code))
		case name == "":
			errs = append(errs, fmt.Errorf("line %d: code %s has no name", line, code))
		case l.names[code] != "":
			errs = append(errs, fmt.Errorf("line %d: code %s listed twice", line, code))
		default:
			l.names[code] = name
			l.codes = append(l.codes, code)
		}
	}
	if len(errs) == 0 && len(l.codes) == 0 {
		errs = append(errs, errors.New("no regions"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("region list %s: %w", source, err)
	}
	return l, nil
}

// Name is the region's name, if r is in the list.
func (l *List) Name(r domain.Region) (string, bool) {
	n, ok := l.names[r]
	return n, ok
}

// Codes lists the codes in file order.
func (l *List) Codes() []domain.Region { return slices.Clone(l.codes) }

// Check refuses a region outside the list with a *domain.ValidationError on
// "region". A malformed code is left to the domain's own validation, so that it
// is reported once, with the shape it should have.
func (l *List) Check(r domain.Region) error {
	if !r.Valid() {
		return nil
	}
	if _, ok := l.names[r]; ok {
		return nil
	}
	return &domain.ValidationError{Field: "region", Value: string(r),
		Reason: fmt.Sprintf("not a region of this hotline (GB/T 2260 code of the %s)", l.Source)}
}
