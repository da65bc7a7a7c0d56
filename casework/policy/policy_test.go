package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/calendar"
)

func realCalendar(t *testing.T) *calendar.Calendar {
	t.Helper()
	c, err := calendar.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var _ WorkingDays = (*calendar.Calendar)(nil)

func at(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(calendar.Location)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func load(t *testing.T, name string) Profile {
	t.Helper()
	p, err := Load(name)
	if err != nil {
		t.Fatalf("Load(%q): %v", name, err)
	}
	return p
}

func TestNames(t *testing.T) {
	want := []string{"chongqing", "luohe", "mudanjiang", "rizhao", "shijiazhuang"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	if !slices.Contains(want, Default) {
		t.Errorf("Default %q is not a profile", Default)
	}
}

// What each seed says, as encoded; the comments name the clause or say that
// the seed is silent and the package default applies.
func TestProfilesEncodeSeeds(t *testing.T) {
	tests := []struct {
		name, seed, document string
		deadlines            Deadlines
		extension            Extension
		supervision          Supervision
	}{
		{
			// 000 三(三)1: 7 working days for every transfer; extension with
			// consent up to 30 working days in all, no count. 三(四)1: overdue.
			name: "chongqing", seed: "000_", document: "渝办发〔2005〕113号",
			deadlines:   Deadlines{WrittenDays: 7, PhoneDays: 7, UrgentHours: 24, InstructedHours: 72},
			extension:   Extension{Allowed: true, MaxCount: 0, MaxTotalDays: 30},
			supervision: Supervision{OnOverdue: true, AfterReminders: 2},
		},
		{
			// 001: no figures (SPEC C4 7/3); 五(二)4: two reminders or overdue.
			name: "rizhao", seed: "001_", document: "工作规程",
			deadlines:   Deadlines{WrittenDays: 7, PhoneDays: 3, UrgentHours: 24, InstructedHours: 72},
			extension:   Extension{Allowed: true, MaxCount: 1, MaxTotalDays: 30},
			supervision: Supervision{OnOverdue: true, AfterReminders: 2},
		},
		{
			// 002 二: written 7, phone/SMS 3, urgent and instructed own limit.
			name: "shijiazhuang", seed: "002_", document: "石政办发〔2006〕62号",
			deadlines:   Deadlines{WrittenDays: 7, PhoneDays: 3, UrgentHours: 24, InstructedHours: 72},
			extension:   Extension{Allowed: true, MaxCount: 1, MaxTotalDays: 30},
			supervision: Supervision{OnOverdue: true, AfterReminders: 2},
		},
		{
			// 003 四(一): ≤ 7 working days, extension on request without cap
			// (total capped at 30 as 000); 四(二): overdue.
			name: "luohe", seed: "003_", document: "漯政〔2014〕47号",
			deadlines:   Deadlines{WrittenDays: 7, PhoneDays: 7, UrgentHours: 24, InstructedHours: 72},
			extension:   Extension{Allowed: true, MaxCount: 0, MaxTotalDays: 30},
			supervision: Supervision{OnOverdue: true, AfterReminders: 2},
		},
		{
			// 004 第十条(八): only one extension; (九): overdue. Limits are set
			// per case by the center, defaults 7/3 from SPEC C4.
			name: "mudanjiang", seed: "004_", document: "牡政办发〔2010〕2号",
			deadlines:   Deadlines{WrittenDays: 7, PhoneDays: 3, UrgentHours: 24, InstructedHours: 72},
			extension:   Extension{Allowed: true, MaxCount: 1, MaxTotalDays: 30},
			supervision: Supervision{OnOverdue: true, AfterReminders: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, tt.name)
			if !strings.HasPrefix(p.Source.Seed, tt.seed) || !strings.Contains(p.Source.Document, tt.document) {
				t.Errorf("source = %+v, want seed %s*, document %s", p.Source, tt.seed, tt.document)
			}
			if p.Deadlines != tt.deadlines {
				t.Errorf("deadlines = %+v, want %+v", p.Deadlines, tt.deadlines)
			}
			if p.Extension != tt.extension {
				t.Errorf("extension = %+v, want %+v", p.Extension, tt.extension)
			}
			if p.Supervision != tt.supervision {
				t.Errorf("supervision = %+v, want %+v", p.Supervision, tt.supervision)
			}
			if p.Reminder != (Reminder{LeadWorkingDays: 1, LeadHours: 4}) {
				t.Errorf("reminder = %+v", p.Reminder)
			}
			if len(p.Notes) == 0 {
				t.Error("no notes on where the values come from")
			}
		})
	}
}

func TestLoadUnknown(t *testing.T) {
	for _, name := range []string{"", "beijing", "../policy", "shijiazhuang.json", "profiles/luohe"} {
		if _, err := Load(name); !errors.Is(err, ErrUnknownProfile) {
			t.Errorf("Load(%q): err = %v, want ErrUnknownProfile", name, err)
		}
	}
}

const validJSON = `{
  "name": "x", "city": "x",
  "source": {"seed": "s", "document": "d", "clauses": "c"},
  "deadlines": {"written_days": 7, "phone_days": 3, "urgent_hours": 24, "instructed_hours": 72},
  "extension": {"allowed": true, "max_count": 1, "max_total_days": 30},
  "reminder": {"lead_working_days": 1, "lead_hours": 4},
  "supervision": {"on_overdue": true, "after_reminders": 2},
  "notes": []
}`

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		old     string // replaced in validJSON
		new     string
		wantErr string
	}{
		{"valid", "", "", ""},
		{"unknown key", `"notes"`, `"note"`, "unknown field"},
		{"wrong type", `"written_days": 7`, `"written_days": "7"`, "decode"},
		{"negative days", `"written_days": 7`, `"written_days": -7`, "deadlines.written_days must be at least 1"},
		{"missing phone days", `"phone_days": 3, `, ``, "deadlines.phone_days must be at least 1"},
		{"zero hours", `"urgent_hours": 24`, `"urgent_hours": 0`, "deadlines.urgent_hours"},
		{"negative count", `"max_count": 1`, `"max_count": -1`, "extension.max_count"},
		{"total leaves no room", `"max_total_days": 30`, `"max_total_days": 7`, "no room"},
		{"caps without extension", `"allowed": true`, `"allowed": false`, "must be 0"},
		{"reminder lead too long", `"lead_working_days": 1`, `"lead_working_days": 3`, "shortest limit"},
		{"reminder hours too long", `"lead_hours": 4`, `"lead_hours": 24`, "shortest default"},
		{"no supervision trigger", `"on_overdue": true, "after_reminders": 2`, `"on_overdue": false, "after_reminders": 0`, "needs a trigger"},
		{"no source", `"seed": "s"`, `"seed": ""`, "source.seed"},
		{"trailing data", "", "", "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := validJSON
			if tt.old != "" {
				if !strings.Contains(raw, tt.old) {
					t.Fatalf("test bug: %q not in validJSON", tt.old)
				}
				raw = strings.Replace(raw, tt.old, tt.new, 1)
			}
			if tt.name == "trailing data" {
				raw += "{}"
			}
			_, err := Parse([]byte(raw))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseModeAndUrgency(t *testing.T) {
	for _, s := range []string{"written", "phone"} {
		if m, err := ParseHandlingMode(s); err != nil || string(m) != s {
			t.Errorf("ParseHandlingMode(%q) = %q, %v", s, m, err)
		}
	}
	for _, s := range []string{"normal", "urgent", "instructed"} {
		if u, err := ParseUrgency(s); err != nil || string(u) != s {
			t.Errorf("ParseUrgency(%q) = %q, %v", s, u, err)
		}
	}
	if _, err := ParseHandlingMode("fax"); err == nil {
		t.Error("ParseHandlingMode accepted fax")
	}
	if _, err := ParseUrgency("URGENT"); err == nil {
		t.Error("ParseUrgency accepted URGENT")
	}
}

// Received Friday 2026-09-18 16:00. From data/2026.json: Sunday 09-20 is a
// 国庆节 makeup day (working day 1), 09-21..24 are 2-5, 09-25..27 are 中秋节
// off, 09-28..30 are 6-8, 10-01..07 国庆节 off, 10-08/09 are 9-10, Saturday
// 10-10 is a makeup day (11), 10-12 is 12.
const received = "2026-09-18 16:00"

func TestDeadline(t *testing.T) {
	cal := realCalendar(t)
	tests := []struct {
		profile string
		terms   Terms
		want    string
	}{
		{"shijiazhuang", Terms{Mode: Written, Urgency: Normal}, "2026-09-30 00:00"},                       // end of day 7, 09-29
		{"shijiazhuang", Terms{Mode: Phone, Urgency: Normal}, "2026-09-23 00:00"},                         // end of day 3, 09-22
		{"rizhao", Terms{Mode: Phone, Urgency: Normal}, "2026-09-23 00:00"},                               // SPEC C4 default 3
		{"mudanjiang", Terms{Mode: Phone, Urgency: Normal}, "2026-09-23 00:00"},                           // SPEC C4 default 3
		{"chongqing", Terms{Mode: Phone, Urgency: Normal}, "2026-09-30 00:00"},                            // 000: 7 for every transfer
		{"luohe", Terms{Mode: Phone, Urgency: Normal}, "2026-09-30 00:00"},                                // 003: 7 for every transfer
		{"mudanjiang", Terms{Mode: Phone, Urgency: Normal, Days: 10}, "2026-10-10 00:00"},                 // center's own limit: day 10 = 10-09
		{"shijiazhuang", Terms{Mode: Written, Urgency: Normal, Extensions: []int{5}}, "2026-10-13 00:00"}, // 12 days: 10-12
		{"chongqing", Terms{Mode: Written, Urgency: Normal, Extensions: []int{2, 3}}, "2026-10-13 00:00"}, // 12 days
		{"shijiazhuang", Terms{Mode: Written, Urgency: Urgent}, "2026-09-19 16:00"},                       // 24 clock hours, weekend or not
		{"shijiazhuang", Terms{Mode: Phone, Urgency: Instructed}, "2026-09-21 16:00"},                     // 72 clock hours
		{"shijiazhuang", Terms{Mode: Phone, Urgency: Urgent, Hours: 6}, "2026-09-18 22:00"},               // own 6 hours
		{"luohe", Terms{Mode: Written, Urgency: Instructed, Hours: 48}, "2026-09-20 16:00"},
	}
	for _, tt := range tests {
		name := tt.profile + "/" + string(tt.terms.Mode) + "/" + string(tt.terms.Urgency)
		t.Run(name, func(t *testing.T) {
			p := load(t, tt.profile)
			tt.terms.ReceivedAt = at(t, received)
			got, err := p.Deadline(cal, tt.terms)
			if err != nil {
				t.Fatal(err)
			}
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("Deadline = %s, want %s", got, want)
			}
		})
	}
}

func TestDeadlineMissingYear(t *testing.T) {
	p := load(t, Default)
	// A strict calendar (2026 only): working days 1-5 are 12-22..25 and 12-28;
	// day 6 would be 12-29, which the 2027 notice can still move.
	strict, err := calendar.New(nil, 2026)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Deadline(strict, Terms{ReceivedAt: at(t, "2026-12-21 10:00"), Mode: Written, Urgency: Normal})
	var miss *calendar.MissingYearError
	if !errors.As(err, &miss) || miss.Year != 2027 {
		t.Fatalf("err = %v, want MissingYearError{2027}", err)
	}
	// The real calendar counts 2027 provisionally (statute days off) instead:
	// 12-22..25, 12-28, 12-29, 12-30 → the end of 12-30.
	due, err := p.Deadline(realCalendar(t), Terms{ReceivedAt: at(t, "2026-12-21 10:00"), Mode: Written, Urgency: Normal})
	if err != nil || !due.Equal(at(t, "2026-12-31 00:00")) {
		t.Errorf("provisional deadline = %s, %v", due, err)
	}
	// An urgent case needs no calendar and still gets its deadline.
	if _, err := p.Deadline(strict, Terms{ReceivedAt: at(t, "2026-12-31 10:00"), Mode: Phone, Urgency: Urgent}); err != nil {
		t.Errorf("urgent deadline: %v", err)
	}
}

func TestBadTerms(t *testing.T) {
	p := load(t, Default)
	cal := realCalendar(t)
	r := at(t, received)
	tests := []struct {
		name  string
		terms Terms
	}{
		{"no receipt time", Terms{Mode: Written, Urgency: Normal}},
		{"unknown mode", Terms{ReceivedAt: r, Mode: "fax", Urgency: Normal}},
		{"empty urgency", Terms{ReceivedAt: r, Mode: Written}},
		{"negative days", Terms{ReceivedAt: r, Mode: Written, Urgency: Normal, Days: -1}},
		{"hours on a normal case", Terms{ReceivedAt: r, Mode: Written, Urgency: Normal, Hours: 5}},
		{"days on an urgent case", Terms{ReceivedAt: r, Mode: Written, Urgency: Urgent, Days: 2}},
		{"extension on an urgent case", Terms{ReceivedAt: r, Mode: Written, Urgency: Urgent, Extensions: []int{2}}},
		{"zero extension", Terms{ReceivedAt: r, Mode: Written, Urgency: Normal, Extensions: []int{0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := p.Deadline(cal, tt.terms); err == nil {
				t.Error("Deadline: no error")
			}
			if _, err := p.ReminderAt(cal, tt.terms); err == nil {
				t.Error("ReminderAt: no error")
			}
			if err := p.CheckExtension(tt.terms, 1); err == nil || errors.Is(err, ErrExtensionLimit) {
				t.Errorf("CheckExtension: err = %v, want a plain error", err)
			}
		})
	}
}

func TestCheckExtension(t *testing.T) {
	normal := func(m HandlingMode, granted ...int) Terms {
		return Terms{ReceivedAt: time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC), Mode: m, Urgency: Normal, Extensions: granted}
	}
	tests := []struct {
		name      string
		profile   string
		terms     Terms
		request   int
		wantRule  string // "" = allowed, "count"/"days" = ExtensionLimitError, "none" = ErrExtensionNotAllowed
		remaining int
	}{
		// 000: up to 30 working days in all, any number of extensions.
		{"000 first, to exactly 30", "chongqing", normal(Written), 23, "", 0},
		{"000 first, past 30", "chongqing", normal(Written), 24, "days", 23},
		{"000 third extension fits", "chongqing", normal(Written, 10, 10), 3, "", 0},
		{"000 third extension too long", "chongqing", normal(Written, 10, 10), 4, "days", 3},
		{"000 all 30 used", "chongqing", normal(Phone, 10, 10, 3), 1, "days", 0},
		// 004 第十条(八): only one extension.
		{"004 first", "mudanjiang", normal(Written), 10, "", 0},
		{"004 second refused", "mudanjiang", normal(Written, 1), 1, "count", 0},
		{"004 phone to 30", "mudanjiang", normal(Phone), 27, "", 0},
		{"004 phone past 30", "mudanjiang", normal(Phone), 28, "days", 27},
		{"004 own limit counts", "mudanjiang", Terms{ReceivedAt: time.Now(), Mode: Phone, Urgency: Normal, Days: 20}, 11, "days", 10},
		// 003: on request, no count cap, 30 in all.
		{"003 fourth extension", "luohe", normal(Written, 5, 5, 5), 8, "", 0},
		{"003 fourth too long", "luohe", normal(Written, 5, 5, 5), 9, "days", 8},
		// 001, 002: one extension within 30 (values taken from 004 and 000).
		{"001 first", "rizhao", normal(Written), 5, "", 0},
		{"001 second", "rizhao", normal(Written, 5), 5, "count", 0},
		{"002 first", "shijiazhuang", normal(Phone), 5, "", 0},
		{"002 second", "shijiazhuang", normal(Phone, 5), 5, "count", 0},
		// 002 二: urgent and instructed cases 必须在要求时限内办结.
		{"urgent keeps its deadline", "shijiazhuang", Terms{ReceivedAt: time.Now(), Mode: Phone, Urgency: Urgent}, 1, "none", 0},
		{"instructed keeps its deadline", "chongqing", Terms{ReceivedAt: time.Now(), Mode: Written, Urgency: Instructed}, 1, "none", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := load(t, tt.profile).CheckExtension(tt.terms, tt.request)
			switch tt.wantRule {
			case "":
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			case "none":
				if !errors.Is(err, ErrExtensionNotAllowed) {
					t.Fatalf("err = %v, want ErrExtensionNotAllowed", err)
				}
			default:
				var lim *ExtensionLimitError
				if !errors.Is(err, ErrExtensionLimit) || !errors.As(err, &lim) {
					t.Fatalf("err = %v, want ExtensionLimitError", err)
				}
				if lim.Rule != tt.wantRule || lim.Remaining != tt.remaining {
					t.Errorf("got rule %s remaining %d, want %s %d (%v)", lim.Rule, lim.Remaining, tt.wantRule, tt.remaining, err)
				}
			}
		})
	}
}

func TestCheckExtensionRules(t *testing.T) {
	p := load(t, Default)
	terms := Terms{ReceivedAt: time.Now(), Mode: Written, Urgency: Normal}
	if err := p.CheckExtension(terms, 0); err == nil || errors.Is(err, ErrExtensionLimit) {
		t.Errorf("request of 0 days: err = %v", err)
	}
	p.Extension = Extension{}
	if err := p.CheckExtension(terms, 1); !errors.Is(err, ErrExtensionNotAllowed) {
		t.Errorf("profile without extensions: err = %v", err)
	}
}

func TestReminderAt(t *testing.T) {
	cal := realCalendar(t)
	tests := []struct {
		profile string
		terms   Terms
		want    string
	}{
		// Written 7 ends 09-30 00:00; one working day before is the end of day 6 (09-28).
		{"shijiazhuang", Terms{Mode: Written, Urgency: Normal}, "2026-09-29 00:00"},
		// Phone 3 ends 09-23 00:00; end of day 2 (09-21).
		{"shijiazhuang", Terms{Mode: Phone, Urgency: Normal}, "2026-09-22 00:00"},
		{"chongqing", Terms{Mode: Phone, Urgency: Normal}, "2026-09-29 00:00"},
		// 12 days with an extension; end of day 11, the makeup Saturday 10-10.
		{"mudanjiang", Terms{Mode: Written, Urgency: Normal, Extensions: []int{5}}, "2026-10-11 00:00"},
		// Clock hours: 4 hours before.
		{"rizhao", Terms{Mode: Phone, Urgency: Urgent}, "2026-09-19 12:00"},
		{"rizhao", Terms{Mode: Phone, Urgency: Instructed}, "2026-09-21 12:00"},
		// An own deadline shorter than the lead: remind at once.
		{"rizhao", Terms{Mode: Phone, Urgency: Urgent, Hours: 2}, received},
		// The center's own limit of 1 working day leaves no room: remind at once.
		{"mudanjiang", Terms{Mode: Phone, Urgency: Normal, Days: 1}, received},
	}
	for _, tt := range tests {
		t.Run(tt.profile+"/"+string(tt.terms.Urgency), func(t *testing.T) {
			p := load(t, tt.profile)
			tt.terms.ReceivedAt = at(t, received)
			got, err := p.ReminderAt(cal, tt.terms)
			if err != nil {
				t.Fatal(err)
			}
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("ReminderAt = %s, want %s", got, want)
			}
			deadline, err := p.Deadline(cal, tt.terms)
			if err != nil || got.After(deadline) {
				t.Errorf("reminder %s after deadline %s (%v)", got, deadline, err)
			}
		})
	}
}

func TestShouldSupervise(t *testing.T) {
	deadline := at(t, "2026-09-30 00:00")
	before, after := deadline.Add(-time.Hour), deadline.Add(time.Nanosecond)
	reminderOnly := load(t, "rizhao")
	reminderOnly.Supervision = Supervision{OnOverdue: false, AfterReminders: 2}
	overdueOnly := load(t, "mudanjiang")
	overdueOnly.Supervision = Supervision{OnOverdue: true}
	tests := []struct {
		name       string
		p          Profile
		now        time.Time
		fruitless  int
		want       bool
		wantReason Reason
	}{
		{"in time, no reminders", load(t, "rizhao"), before, 0, false, ReasonNone},
		{"in time, one fruitless reminder", load(t, "rizhao"), before, 1, false, ReasonNone},
		{"001 五(二)4: two fruitless reminders", load(t, "rizhao"), before, 2, true, ReasonReminders},
		{"exactly at the deadline is in time", load(t, "rizhao"), deadline, 0, false, ReasonNone},
		{"just overdue", load(t, "chongqing"), after, 0, true, ReasonOverdue},
		{"overdue reported before reminders", load(t, "luohe"), after, 3, true, ReasonOverdue},
		{"002 overdue", load(t, "shijiazhuang"), after, 0, true, ReasonOverdue},
		{"004 overdue", load(t, "mudanjiang"), after, 0, true, ReasonOverdue},
		{"reminder trigger only: overdue alone is not enough", reminderOnly, after, 1, false, ReasonNone},
		{"overdue trigger only: reminders alone are not enough", overdueOnly, before, 5, false, ReasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := tt.p.ShouldSupervise(tt.now, deadline, tt.fruitless)
			if got != tt.want || reason != tt.wantReason {
				t.Errorf("ShouldSupervise = %v, %q; want %v, %q", got, reason, tt.want, tt.wantReason)
			}
		})
	}
}

// fakeDays fails like a calendar without data, to check the policy passes
// calendar errors on instead of guessing.
type fakeDays struct{ err error }

func (f fakeDays) AddWorkingDays(time.Time, int) (time.Time, error) { return time.Time{}, f.err }

func TestCalendarErrorsPropagate(t *testing.T) {
	boom := errors.New("no data")
	p := load(t, Default)
	terms := Terms{ReceivedAt: at(t, received), Mode: Written, Urgency: Normal}
	if _, err := p.Deadline(fakeDays{boom}, terms); !errors.Is(err, boom) {
		t.Errorf("Deadline: err = %v", err)
	}
	if _, err := p.ReminderAt(fakeDays{boom}, terms); !errors.Is(err, boom) {
		t.Errorf("ReminderAt: err = %v", err)
	}
}
