package domain

import (
	"fmt"
	"time"
)

// MaterialKind is what a piece of the case file is (C9, 001 §五(五)3).
type MaterialKind string

const (
	MaterialRecording MaterialKind = "recording" // 录音 of an agent or three-way call (T6)
	MaterialVoicemail MaterialKind = "voicemail" // 留言 (T9)
	MaterialFax       MaterialKind = "fax"       // 传真 received (T11)
	MaterialDocument  MaterialKind = "document"  // 文件: letters, 结案报告 (004 第十条(十一)), photos
)

var materialEnum = enum[MaterialKind]{
	field:  "material.kind",
	codes:  []MaterialKind{MaterialRecording, MaterialVoicemail, MaterialFax, MaterialDocument},
	labels: []string{"录音", "留言", "传真", "文件"},
}

// ParseMaterialKind accepts a code or a label.
func ParseMaterialKind(s string) (MaterialKind, error) { return materialEnum.parse(s) }

// Valid reports whether k is one of the codes.
func (k MaterialKind) Valid() bool { return materialEnum.valid(k) }

// Label is the Chinese name.
func (k MaterialKind) Label() string { return materialEnum.label(k) }

// UnmarshalText refuses unknown kinds at the JSON boundary.
func (k *MaterialKind) UnmarshalText(b []byte) error {
	v, err := ParseMaterialKind(string(b))
	*k = v
	return err
}

// MaterialRef points at stored media; the bytes live elsewhere (file store, object
// store), the case keeps the reference.
type MaterialRef struct {
	Kind MaterialKind `json:"kind"`
	// Ref is a URI or storage ID, e.g. "file:///var/spool/hotline/rec/abc.wav" or
	// the recording ID of a call.recording_saved event.
	Ref string `json:"ref"`
}

// Validate checks kind and reference shape (printable ASCII, no spaces, so it can
// go into a URL or a file path without quoting).
func (m MaterialRef) Validate() error {
	if err := materialEnum.check(m.Kind); err != nil {
		return err
	}
	if !printableToken(m.Ref, 1024) {
		return invalid("material.ref", "", "want 1-1024 printable ASCII characters without spaces")
	}
	return nil
}

// Material is a reference as filed, with who added it and when.
type Material struct {
	MaterialRef
	AddedAt time.Time `json:"added_at"`
	AddedBy Actor     `json:"added_by"`
}

func checkCallID(field, id string) error {
	if !printableToken(id, 128) {
		return invalid(field, id, "want 1-128 printable ASCII characters without spaces")
	}
	return nil
}

// printableToken reports whether s is 1 to max printable ASCII characters
// without spaces.
func printableToken(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Filing is an inbox item (a voicemail or a received fax) a new case is made
// from, claimed for it by ClaimedBy. The case store links the item to the case
// in the case's own transaction, so that a case made from an item and the
// item's "filed" mark exist together or not at all; if the claim is no longer
// ClaimedBy's (it went stale and was released, perhaps re-claimed), the case
// is not created and the store answers ErrFilingLost.
type Filing struct {
	Kind      MaterialKind // MaterialVoicemail or MaterialFax
	ID        string
	ClaimedBy string
}

// ErrFilingLost: the inbox item is no longer claimed for the case being
// registered from it (a conflict: another agent may be filing it).
var ErrFilingLost = fmt.Errorf("%w: the item is no longer claimed for this case", ErrConflict)
