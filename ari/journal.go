package ari

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Call phases recorded in a CallRecord. The next process decides from the phase
// what to do with a call it finds in Asterisk: agent and queue calls are adopted
// as they are (the bridge and the music do not need us); a caller anywhere in
// the voice flow is taken back to the menu with an apology.
const (
	PhaseGreeting    = "greeting"
	PhaseMenu        = "menu"
	PhaseSelfService = "selfservice"
	PhaseVoicemail   = "voicemail"
	PhaseFax         = "fax"
	PhaseQueue       = "queue"
	PhaseAgent       = "agent"
)

// CallRecord is what a call service process knows of a call in progress that
// the next process needs after a crash or a restart: which channels, bridges
// and recording belong to it, how far it got, and the call.started (and, once
// built, call.ended) event it sent, so that a republish keeps their IDs and
// the casework side stores each once. It lives in a small fsynced file per
// call (Journal) from the call's arrival until its call.ended is spooled.
type CallRecord struct {
	CallID     string    `json:"call_id"` // = the caller's channel ID
	StartedAt  time.Time `json:"started_at"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	Staffed    bool      `json:"staffed"`
	Phase      string    `json:"phase"`
	Outcome    string    `json:"outcome,omitempty"`
	CaseID     string    `json:"case_id,omitempty"`

	// Started and Ended are the call's first and last events, opaque to this
	// package (the front door builds them).
	Started json.RawMessage `json:"started,omitempty"`
	Ended   json.RawMessage `json:"ended,omitempty"`

	// Queue (PhaseQueue).
	QueuedAt   time.Time `json:"queued_at,omitzero"`
	HoldBridge string    `json:"hold_bridge,omitempty"`

	// Conversation (PhaseAgent).
	Bridge       string    `json:"bridge,omitempty"`
	AgentChannel string    `json:"agent_channel,omitempty"`
	Staff        string    `json:"staff,omitempty"`
	ConnectedAt  time.Time `json:"connected_at,omitzero"`
	Snoop        string    `json:"snoop,omitempty"`
	Recording    string    `json:"recording,omitempty"`
	RecStart     time.Time `json:"rec_start,omitzero"`
	UnitChannel  string    `json:"unit_channel,omitempty"`
	UnitID       string    `json:"unit_id,omitempty"`
	DutyLine     string    `json:"duty_line,omitempty"`
	Confidential bool      `json:"confidential,omitempty"`

	// Voicemail (PhaseVoicemail): the live recording of the message.
	VMRecording string `json:"vm_recording,omitempty"`
	VMMessageID string `json:"vm_message_id,omitempty"`
}

// channels lists every channel of the record (for adoption and orphan checks).
func (r *CallRecord) channels() []string {
	var out []string
	for _, id := range []string{r.CallID, r.AgentChannel, r.Snoop, r.UnitChannel} {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}

// ErrJournal wraps every failure to write or remove a call record: the call
// goes on (the citizen comes first), but a crash would then lose track of it.
var ErrJournal = errors.New("call journal")

// Journal keeps one CallRecord file per call in progress in Dir. Every write is
// atomic and durable (temp file, fsync, rename, fsync of the directory), so a
// crash leaves the old record or the new one, never half of one.
type Journal struct {
	Dir string
}

// NewJournal creates dir if needed.
func NewJournal(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrJournal, dir, err)
	}
	return &Journal{Dir: dir}, nil
}

func (j *Journal) path(callID string) string { return filepath.Join(j.Dir, callID+".json") }

// Save writes the record.
func (j *Journal) Save(r *CallRecord) error {
	if r.CallID == "" || strings.ContainsAny(r.CallID, `/\`) {
		return fmt.Errorf("%w: bad call ID %q", ErrJournal, r.CallID)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("%w: encode %s: %w", ErrJournal, r.CallID, err)
	}
	if err := WriteFileSync(j.path(r.CallID), data, 0o640); err != nil {
		return fmt.Errorf("%w: %w", ErrJournal, err)
	}
	return nil
}

// Remove forgets a call (its call.ended is safely spooled).
func (j *Journal) Remove(callID string) error {
	if err := os.Remove(j.path(callID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrJournal, err)
	}
	return syncDir(j.Dir)
}

// Get reads one record; ok is false when there is none (or it is damaged).
func (j *Journal) Get(callID string) (CallRecord, bool) {
	if callID == "" || strings.ContainsAny(callID, `/\`) {
		return CallRecord{}, false
	}
	data, err := os.ReadFile(j.path(callID))
	if err != nil {
		return CallRecord{}, false
	}
	var r CallRecord
	if json.Unmarshal(data, &r) != nil || r.CallID != callID {
		return CallRecord{}, false
	}
	return r, true
}

// Load reads every record. A damaged file (truncated by a full disk, edited by
// hand) must not stop the service from starting: it is renamed to .bad and
// reported in bad, the rest is loaded.
func (j *Journal) Load() (recs []CallRecord, bad []string, err error) {
	entries, err := os.ReadDir(j.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: list %s: %w", ErrJournal, j.Dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		data, rerr := os.ReadFile(filepath.Join(j.Dir, name))
		var r CallRecord
		if rerr == nil {
			rerr = json.Unmarshal(data, &r)
		}
		if rerr == nil && r.CallID+".json" != name {
			rerr = fmt.Errorf("call ID %q does not match the file name", r.CallID)
		}
		if rerr != nil {
			_ = os.Rename(filepath.Join(j.Dir, name), filepath.Join(j.Dir, name+".bad"))
			bad = append(bad, fmt.Sprintf("%s: %v", name, rerr))
			continue
		}
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b CallRecord) int { return a.StartedAt.Compare(b.StartedAt) })
	return recs, bad, nil
}

// WriteFileSync writes path atomically and durably: a temp file beside it,
// fsync, rename, fsync of the directory. After it returns, a crash or power
// cut leaves the new content; before, the old one (or none); never a part.
func WriteFileSync(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}
