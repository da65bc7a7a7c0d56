package calendar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseImport reads a file an operator imports with `hotlinectl calendar
// import FILE`: the notice of a year that the binary does not embed yet, or a
// correction of one. name is the file name, used only in error messages,
// which are meant for the operator and say where in the file the problem is.
//
// Two formats are accepted, told apart by the first non-space character:
//
// A holiday-cn JSON file ('{'), the shape of data/2026.json, read strictly:
// unknown fields are refused; "year", "papers" and "days" are required, and
// every day needs "name", "date" and "isOffDay"; days without papers (the
// notice's URL) are refused. Errors name the line and column.
//
// A plain list, one item per line, '#' to the end of the line a comment:
//
//	# 国务院办公厅关于2027年部分节假日安排的通知
//	year 2027
//	paper https://www.gov.cn/zhengce/...  # the notice; optional, repeatable
//	2027-02-05 off 春节                   # or 休
//	2027-02-20 work 春节                  # or 班; only a Saturday or Sunday
//	2027-02-21 班                         # named 调休上班
//
// The "year" line may be left out when every date is in one calendar year. A
// name left out defaults to 休息日 (off) or 调休上班 (work). Errors are
// "NAME:LINE: message", all of them, one per line.
//
// In both formats a date may be listed once only (a date typed twice usually
// means the date meant is missing), dates must be in the notice's year or a
// neighbouring one, and a file that lists no day is refused. The notice
// returned has its days in date order and passes Validate.
func ParseImport(name string, raw []byte) (Notice, error) {
	raw = bytes.TrimPrefix(raw, []byte("\uFEFF")) // Windows editors start UTF-8 files with a BOM
	if off := invalidUTF8(raw); off >= 0 {
		line, col := textPos(raw, off)
		return Notice{}, fmt.Errorf("%s: line %d, column %d: not UTF-8 text (save the file as UTF-8)", name, line, col)
	}
	var (
		n   Notice
		err error
	)
	if first := bytes.TrimLeftFunc(raw, unicode.IsSpace); len(first) > 0 && first[0] == '{' {
		n, err = parseImportJSON(name, raw)
	} else {
		n, err = parseImportList(name, raw)
	}
	if err != nil {
		return Notice{}, err
	}
	if n.Empty() {
		return Notice{}, fmt.Errorf("%s: lists no day: a year without a notice needs no import", name)
	}
	if err := n.Validate(); err != nil {
		return Notice{}, fmt.Errorf("%s: %w", name, err)
	}
	n = n.sorted()
	if n.Papers == nil {
		n.Papers = []string{} // encoded as a holiday-cn file, papers is an array, never null
	}
	return n, nil
}

// invalidUTF8 is the offset of the first byte that is not UTF-8, or -1.
func invalidUTF8(raw []byte) int {
	for off := 0; off < len(raw); {
		r, size := utf8.DecodeRune(raw[off:])
		if r == utf8.RuneError && size == 1 {
			return off
		}
		off += size
	}
	return -1
}

// textPos converts a byte offset in raw into a 1-based line and column, the
// column counted in characters as an editor shows it (Chinese names).
func textPos(raw []byte, off int) (line, col int) {
	off = min(max(off, 0), len(raw))
	before := raw[:off]
	start := bytes.LastIndexByte(before, '\n') + 1
	return bytes.Count(before, []byte{'\n'}) + 1, utf8.RuneCount(before[start:]) + 1
}

func notADate(s string) string { return fmt.Sprintf("%q is not a date (YYYY-MM-DD)", s) }

// nearYear is what Validate demands of a date, said for a person.
func nearYear(d day, year int) (string, bool) {
	if y, _, _ := d.date(); y < year-1 || y > year+1 {
		return fmt.Sprintf("%s is not near %d: a notice lists its year and at most its neighbours' New Year days", d, year), false
	}
	return "", true
}

// The holiday-cn JSON format.

// jsonImport walks a JSON file token by token, so that every error can say
// where it is: encoding/json's own errors for unknown fields and missing
// values carry no position, and a struct decode forgets where each day was.
type jsonImport struct {
	name string
	raw  []byte
	dec  *json.Decoder
}

// jsonDay is one element of "days" as written, with where it starts.
type jsonDay struct {
	at         int // offset of its '{'
	name, date *string
	isOffDay   *bool
}

func parseImportJSON(name string, raw []byte) (Notice, error) {
	p := &jsonImport{name: name, raw: raw}
	if err := p.checkSyntax(); err != nil {
		return Notice{}, err
	}
	p.dec = json.NewDecoder(bytes.NewReader(raw))
	p.dec.UseNumber()
	return p.file()
}

// checkSyntax reads the whole file once first: json.SyntaxError has an
// offset, and afterwards the walk in file only meets well-formed JSON.
func (p *jsonImport) checkSyntax() error {
	dec := json.NewDecoder(bytes.NewReader(p.raw))
	var v json.RawMessage
	err := dec.Decode(&v)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return p.errorf(int(se.Offset)-1, "%w", err) // Offset counts the offending byte
	case errors.Is(err, io.ErrUnexpectedEOF):
		return p.errorf(len(bytes.TrimRightFunc(p.raw, unicode.IsSpace)), "the file ends inside the JSON object: %w", err)
	case err != nil:
		return fmt.Errorf("%s: %w", p.name, err)
	}
	if rest := p.skip(int(dec.InputOffset()), jsonSpace); rest < len(p.raw) {
		return p.errorf(rest, "trailing data after the JSON object")
	}
	return nil
}

func (p *jsonImport) errorf(at int, format string, args ...any) error {
	line, col := textPos(p.raw, at)
	return fmt.Errorf("%s: line %d, column %d: %w", p.name, line, col, fmt.Errorf(format, args...))
}

// next reads a token and returns where it starts. The decoder's offset is
// the end of the previous token; separators and spaces lie in between.
func (p *jsonImport) next() (json.Token, int, error) {
	at := p.skip(int(p.dec.InputOffset()), jsonSpace+",:")
	tok, err := p.dec.Token()
	if err != nil {
		return nil, at, p.errorf(at, "%w", err)
	}
	return tok, at, nil
}

// jsonSpace is JSON's white space.
const jsonSpace = " \t\r\n"

// skip returns the offset of the first byte from at that is not in chars.
func (p *jsonImport) skip(at int, chars string) int {
	for at < len(p.raw) && strings.IndexByte(chars, p.raw[at]) >= 0 {
		at++
	}
	return at
}

// jsonKind names a token's JSON type for "want X, got Y" messages.
func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "true/false"
	default:
		return "null"
	}
}

// object reads the members of the object whose '{' was just read, calling
// member with each key and where it is. A key given twice is refused: the
// decoder would silently keep the last one.
func (p *jsonImport) object(what string, member func(key string, at int) error) error {
	seen := map[string]bool{}
	for p.dec.More() {
		tok, at, err := p.next()
		if err != nil {
			return err
		}
		key, _ := tok.(string) // the syntax check made sure keys are strings
		if seen[key] {
			return p.errorf(at, "%s%q given twice", what, key)
		}
		seen[key] = true
		if err := member(key, at); err != nil {
			return err
		}
	}
	_, _, err := p.next() // '}'
	return err
}

// array reads the elements of the array that starts with the next token.
func (p *jsonImport) array(what, want string, element func(i int) error) (at int, err error) {
	tok, at, err := p.next()
	if err != nil {
		return at, err
	}
	if tok != json.Delim('[') {
		return at, p.errorf(at, "%s: want %s, got %s", what, want, jsonKind(tok))
	}
	for i := 0; p.dec.More(); i++ {
		if err := element(i); err != nil {
			return at, err
		}
	}
	_, _, err = p.next() // ']'
	return at, err
}

func (p *jsonImport) str(what string) (string, int, error) {
	tok, at, err := p.next()
	if err != nil {
		return "", at, err
	}
	s, ok := tok.(string)
	if !ok {
		return "", at, p.errorf(at, "%s: want a string, got %s", what, jsonKind(tok))
	}
	return s, at, nil
}

func (p *jsonImport) file() (Notice, error) {
	tok, start, err := p.next()
	if err != nil {
		return Notice{}, err
	}
	if tok != json.Delim('{') {
		return Notice{}, p.errorf(start, "want a JSON object, got %s", jsonKind(tok))
	}
	var (
		year             *int
		papers           []string
		days             []jsonDay
		papersAt, daysAt = -1, -1
	)
	err = p.object("", func(key string, at int) error {
		var err error
		switch key {
		case "$schema", "$id": // holiday-cn's own references, kept by copies of its files
			_, _, err = p.str(key)
		case "year":
			var y int
			y, err = p.year()
			year = &y
		case "papers":
			papers, papersAt, err = p.papers()
		case "days":
			days, daysAt, err = p.days()
		default:
			err = p.errorf(at, "unknown field %q: a holiday-cn file has year, papers and days", key)
		}
		return err
	})
	if err != nil {
		return Notice{}, err
	}
	switch {
	case year == nil:
		return Notice{}, p.errorf(start, `"year" is required`)
	case papersAt < 0:
		return Notice{}, p.errorf(start, `"papers" is required (the notice's URL)`)
	case daysAt < 0:
		return Notice{}, p.errorf(start, `"days" is required`)
	case len(days) > 0 && len(papers) == 0:
		return Notice{}, p.errorf(papersAt, "papers is empty: days listed without the notice they come from")
	}
	n := Notice{Year: *year, Papers: papers, Days: make([]NoticeDay, 0, len(days))}
	firstAt := map[day]int{} // date -> index of the day that listed it
	for i, x := range days {
		nd, err := p.day(i, x, *year, days, firstAt)
		if err != nil {
			return Notice{}, err
		}
		n.Days = append(n.Days, nd)
	}
	return n, nil
}

func (p *jsonImport) year() (int, error) {
	tok, at, err := p.next()
	if err != nil {
		return 0, err
	}
	num, ok := tok.(json.Number)
	if !ok {
		return 0, p.errorf(at, "year: want a number, got %s", jsonKind(tok))
	}
	y, err := strconv.Atoi(num.String())
	if err != nil {
		return 0, p.errorf(at, "year: %s is not a whole number", num)
	}
	if y < MinYear || y > MaxYear {
		return 0, p.errorf(at, "year %d outside %d-%d", y, MinYear, MaxYear)
	}
	return y, nil
}

func (p *jsonImport) papers() ([]string, int, error) {
	papers := []string{}
	at, err := p.array("papers", "an array of URLs", func(i int) error {
		s, at, err := p.str(fmt.Sprintf("papers[%d]", i))
		if err == nil && strings.TrimSpace(s) == "" {
			err = p.errorf(at, "papers[%d] is empty", i)
		}
		papers = append(papers, s)
		return err
	})
	return papers, at, err
}

func (p *jsonImport) days() ([]jsonDay, int, error) {
	var days []jsonDay
	at, err := p.array("days", "an array of days", func(i int) error {
		tok, at, err := p.next()
		if err != nil {
			return err
		}
		what := fmt.Sprintf("days[%d]", i)
		if tok != json.Delim('{') {
			return p.errorf(at, "%s: want an object {name, date, isOffDay}, got %s", what, jsonKind(tok))
		}
		x := jsonDay{at: at}
		err = p.object(what+": ", func(key string, keyAt int) error {
			switch key {
			case "name":
				s, _, err := p.str(what + ".name")
				x.name = &s
				return err
			case "date":
				s, _, err := p.str(what + ".date")
				x.date = &s
				return err
			case "isOffDay":
				return p.isOffDay(what, &x)
			default:
				return p.errorf(keyAt, "%s: unknown field %q: a day has name, date and isOffDay", what, key)
			}
		})
		days = append(days, x)
		return err
	})
	return days, at, err
}

func (p *jsonImport) isOffDay(what string, x *jsonDay) error {
	tok, at, err := p.next()
	if err != nil {
		return err
	}
	b, ok := tok.(bool)
	if !ok {
		return p.errorf(at, "%s.isOffDay: want true or false, got %s", what, jsonKind(tok))
	}
	x.isOffDay = &b
	return nil
}

// day checks days[i] against the notice; its errors point at the line where
// the day's object starts, the line a person looks for.
func (p *jsonImport) day(i int, x jsonDay, year int, days []jsonDay, firstAt map[day]int) (NoticeDay, error) {
	var missing []string
	if x.name == nil || strings.TrimSpace(*x.name) == "" {
		missing = append(missing, "name")
	}
	if x.date == nil {
		missing = append(missing, "date")
	}
	if x.isOffDay == nil {
		missing = append(missing, "isOffDay")
	}
	if len(missing) > 0 {
		return NoticeDay{}, p.errorf(x.at, "days[%d]: %s required", i, strings.Join(missing, ", "))
	}
	d, err := parseDay(*x.date)
	if err != nil {
		return NoticeDay{}, p.errorf(x.at, "days[%d]: %s", i, notADate(*x.date))
	}
	if msg, ok := nearYear(d, year); !ok {
		return NoticeDay{}, p.errorf(x.at, "days[%d]: %s", i, msg)
	}
	if j, dup := firstAt[d]; dup {
		line, _ := textPos(p.raw, days[j].at)
		return NoticeDay{}, p.errorf(x.at, "days[%d]: %s listed again (first as days[%d] on line %d)", i, d, j, line)
	}
	firstAt[d] = i
	// A working day on a weekday is accepted: holiday-cn lists one (2020-02-03,
	// the end of the COVID extension), and it changes nothing.
	return NoticeDay{Name: *x.name, Date: *x.date, IsOffDay: *x.isOffDay}, nil
}

// The plain list format.

// listImport collects a plain list and every error in it, so that an
// operator can fix them all in one go.
type listImport struct {
	name     string
	year     int
	yearLine int
	papers   []string
	days     []listedDay
	lineOf   map[day]int // date -> line that listed it
	errs     []lineError
}

type listedDay struct {
	NoticeDay
	d    day
	line int
}

type lineError struct {
	line int
	err  error
}

// maxListErrors bounds the report: past it, the file is probably not a list.
const maxListErrors = 20

func parseImportList(name string, raw []byte) (Notice, error) {
	p := &listImport{name: name, lineOf: map[day]int{}}
	for i, text := range strings.Split(string(raw), "\n") {
		p.line(i+1, text)
	}
	p.settleYear()
	if err := p.err(); err != nil {
		return Notice{}, err
	}
	n := Notice{Year: p.year, Papers: append([]string{}, p.papers...), Days: make([]NoticeDay, 0, len(p.days))}
	for _, x := range p.days {
		n.Days = append(n.Days, x.NoticeDay)
	}
	return n, nil
}

func (p *listImport) errorf(line int, format string, args ...any) {
	p.errs = append(p.errs, lineError{line, fmt.Errorf("%s:%d: %s", p.name, line, fmt.Sprintf(format, args...))})
}

// err joins the errors in line order, one per line.
func (p *listImport) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].line < p.errs[j].line })
	var errs []error
	for i, e := range p.errs {
		if i == maxListErrors {
			errs = append(errs, fmt.Errorf("%s: %d more errors", p.name, len(p.errs)-i))
			break
		}
		errs = append(errs, e.err)
	}
	return errors.Join(errs...)
}

// cutField splits s (trimmed) into its first word and the trimmed rest.
func cutField(s string) (word, rest string) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

func (p *listImport) line(n int, text string) {
	if i := strings.IndexByte(text, '#'); i >= 0 {
		text = text[:i]
	}
	word, rest := cutField(text)
	switch {
	case word == "":
	case strings.EqualFold(word, "year"):
		p.yearDirective(n, rest)
	case strings.EqualFold(word, "paper"):
		p.paper(n, rest)
	case word[0] >= '0' && word[0] <= '9':
		p.day(n, word, rest)
	default:
		p.errorf(n, "unknown keyword %q: a line is \"year YYYY\", \"paper URL\" or \"YYYY-MM-DD off|work [name]\"", word)
	}
}

func (p *listImport) yearDirective(n int, rest string) {
	if p.yearLine != 0 {
		p.errorf(n, "year given again (first on line %d)", p.yearLine)
		return
	}
	y, err := strconv.Atoi(rest)
	if err != nil {
		p.errorf(n, "%q is not a year: want \"year YYYY\"", rest)
		return
	}
	if y < MinYear || y > MaxYear {
		p.errorf(n, "year %d outside %d-%d", y, MinYear, MaxYear)
		return
	}
	p.year, p.yearLine = y, n
}

func (p *listImport) paper(n int, rest string) {
	u, err := url.Parse(rest)
	if rest == "" || strings.ContainsFunc(rest, unicode.IsSpace) || err != nil ||
		(u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.errorf(n, "%q is not a URL: want \"paper https://...\", the notice's address", rest)
		return
	}
	p.papers = append(p.papers, rest)
}

// listKinds are the words for a day's kind: whether it is a day off.
var listKinds = map[string]bool{"off": true, "休": true, "work": false, "班": false}

func (p *listImport) day(n int, date, rest string) {
	d, err := parseDay(date)
	if err != nil {
		p.errorf(n, "%s", notADate(date))
		return
	}
	word, name := cutField(rest)
	off, ok := listKinds[strings.ToLower(word)]
	switch {
	case word == "":
		p.errorf(n, "%s: want off (休) or work (班) after the date", date)
		return
	case !ok:
		p.errorf(n, "%s: %q is neither off (休) nor work (班)", date, word)
		return
	}
	if !off && !isSatSun(d) {
		p.errorf(n, "%s is a %s: only a Saturday or Sunday can be made a working day", date, d.weekday())
		return
	}
	if first, dup := p.lineOf[d]; dup {
		p.errorf(n, "%s listed again (first on line %d)", date, first)
		return
	}
	p.lineOf[d] = n
	if name == "" {
		name = map[bool]string{true: "休息日", false: "调休上班"}[off]
	}
	p.days = append(p.days, listedDay{NoticeDay{Name: name, Date: date, IsOffDay: off}, d, n})
}

// settleYear takes the year from the dates when no year line gave it, and
// checks every date is near the year.
func (p *listImport) settleYear() {
	if len(p.days) == 0 {
		return
	}
	if p.yearLine == 0 {
		first, _, _ := p.days[0].d.date()
		for _, x := range p.days {
			if y, _, _ := x.d.date(); y != first {
				p.errorf(x.line, "no year line, and the dates span %d (line %d) and %d: add \"year YYYY\" for the notice's year",
					first, p.days[0].line, y)
				return
			}
		}
		if first < MinYear || first > MaxYear {
			p.errorf(p.days[0].line, "year %d outside %d-%d", first, MinYear, MaxYear)
			return
		}
		p.year = first
		return
	}
	for _, x := range p.days {
		if msg, ok := nearYear(x.d, p.year); !ok {
			p.errorf(x.line, "%s (year on line %d)", msg, p.yearLine)
		}
	}
}
