package policy

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Default is the profile a deployment gets unless it names its city's.
// Shijiazhuang (seed 002, 石政办发〔2006〕62号) is the only seed that states
// SPEC C4 as written: 7 working days for written transfers, 3 for phone and
// SMS transfers, urgent and leader-instructed cases by their own deadline.
const Default = "shijiazhuang"

//go:embed profiles/*.json
var profiles embed.FS

// Profile is one city's deadline policy. The JSON form is the same structure
// with snake_case keys (see profiles/*.json).
type Profile struct {
	Name   string `json:"name"`
	City   string `json:"city"`
	Source Source `json:"source"`

	Deadlines   Deadlines   `json:"deadlines"`
	Extension   Extension   `json:"extension"`
	Reminder    Reminder    `json:"reminder"`
	Supervision Supervision `json:"supervision"`

	// Notes record, per rule, which clause of the seed it comes from or, where
	// the seed is silent, which value was taken instead and why.
	Notes []string `json:"notes"`
}

// Source is the regulation a profile encodes.
type Source struct {
	Seed     string `json:"seed"`     // file in seeds/
	Document string `json:"document"` // document number (文号) or title
	Clauses  string `json:"clauses"`  // the clauses the rules come from
}

// Deadlines are the default time limits.
type Deadlines struct {
	WrittenDays     int `json:"written_days"`     // 书面交办, working days
	PhoneDays       int `json:"phone_days"`       // 电话、短信交办, working days
	UrgentHours     int `json:"urgent_hours"`     // 急办件 default, clock hours
	InstructedHours int `json:"instructed_hours"` // 领导批示件 default, clock hours
}

// Extension caps extensions (延期) of normal cases.
type Extension struct {
	Allowed bool `json:"allowed"`
	// MaxCount is the number of extensions a case may get; 0 means the
	// regulation sets no count, only the total.
	MaxCount int `json:"max_count"`
	// MaxTotalDays caps the whole time limit, original plus extensions, in
	// working days.
	MaxTotalDays int `json:"max_total_days"`
}

// Reminder is when the automatic reminder (催办) is due.
type Reminder struct {
	LeadWorkingDays int `json:"lead_working_days"` // before a working-day deadline
	LeadHours       int `json:"lead_hours"`        // before a clock-hour deadline
}

// Supervision are the triggers that hand a case to supervision (督办).
type Supervision struct {
	OnOverdue bool `json:"on_overdue"`
	// AfterReminders: supervise after this many reminders without result;
	// 0 disables the trigger.
	AfterReminders int `json:"after_reminders"`
}

// ErrUnknownProfile is returned by Load for a name without a profile.
var ErrUnknownProfile = errors.New("unknown policy profile")

// Names lists the embedded profiles, sorted.
func Names() []string {
	entries, err := fs.ReadDir(profiles, "profiles")
	if err != nil {
		return nil // cannot happen: the directory is embedded at build time
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	slices.Sort(names)
	return names
}

// Load returns the embedded profile called name (see Names), validated.
func Load(name string) (Profile, error) {
	var raw []byte
	err := fs.ErrNotExist
	if name != "" && !strings.ContainsAny(name, `/\.`) {
		raw, err = profiles.ReadFile(path.Join("profiles", name+".json"))
	}
	if err != nil {
		return Profile{}, fmt.Errorf("policy: %q (have %s): %w", name, strings.Join(Names(), ", "), ErrUnknownProfile)
	}
	p, err := Parse(raw)
	if err != nil {
		return Profile{}, fmt.Errorf("policy: profiles/%s.json: %w", name, err)
	}
	if p.Name != name {
		return Profile{}, fmt.Errorf("policy: profiles/%s.json: name %q does not match the file name", name, p.Name)
	}
	return p, nil
}

// Parse reads and validates a profile in the JSON form, for a city that
// ships its own file. Unknown keys are errors: a misspelt key would
// otherwise leave a zero limit in force.
func Parse(raw []byte) (Profile, error) {
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Profile{}, fmt.Errorf("decode profile: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Profile{}, errors.New("decode profile: trailing data after the JSON object")
	}
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// Validate reports every rule the profile breaks, joined.
func (p Profile) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	atLeast := func(field string, v, min int) {
		if v < min {
			bad("%s must be at least %d, got %d", field, min, v)
		}
	}
	if p.Name == "" {
		bad("name is required")
	}
	if p.Source.Seed == "" || p.Source.Document == "" {
		bad("source.seed and source.document are required")
	}
	d := p.Deadlines
	atLeast("deadlines.written_days", d.WrittenDays, 1)
	atLeast("deadlines.phone_days", d.PhoneDays, 1)
	atLeast("deadlines.urgent_hours", d.UrgentHours, 1)
	atLeast("deadlines.instructed_hours", d.InstructedHours, 1)

	x := p.Extension
	atLeast("extension.max_count", x.MaxCount, 0)
	if x.Allowed {
		if longest := max(d.WrittenDays, d.PhoneDays); x.MaxTotalDays <= longest {
			bad("extension.max_total_days (%d) leaves no room to extend the %d-working-day limit", x.MaxTotalDays, longest)
		}
	} else if x.MaxCount != 0 || x.MaxTotalDays != 0 {
		bad("extension.max_count and max_total_days must be 0 when extensions are not allowed")
	}

	r := p.Reminder
	atLeast("reminder.lead_working_days", r.LeadWorkingDays, 1)
	atLeast("reminder.lead_hours", r.LeadHours, 1)
	if shortest := min(d.WrittenDays, d.PhoneDays); r.LeadWorkingDays >= shortest {
		bad("reminder.lead_working_days (%d) must be below the shortest limit (%d working days)", r.LeadWorkingDays, shortest)
	}
	if shortest := min(d.UrgentHours, d.InstructedHours); r.LeadHours >= shortest {
		bad("reminder.lead_hours (%d) must be below the shortest default (%d hours)", r.LeadHours, shortest)
	}

	s := p.Supervision
	atLeast("supervision.after_reminders", s.AfterReminders, 0)
	if !s.OnOverdue && s.AfterReminders == 0 {
		bad("supervision needs a trigger: on_overdue or after_reminders")
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid profile %q: %w", p.Name, errors.Join(errs...))
	}
	return nil
}
