// Package prompts holds the Mandarin IVR prompts of the 12345 hotline and
// renders them to audio files Asterisk can play.
//
// The prompt texts live in prompts.tsv (embedded); ids.go has a constant per
// prompt. A Renderer turns a text into an 8 kHz mono 16-bit WAV file with
// espeak-ng (Mandarin voice) and sox, and re-renders only when the text or
// the voice settings change. The same Renderer renders dynamic text at run
// time (case status, staff numbers), cached by a hash of the text.
//
// Files are referenced from ARI without their extension:
//
//	sound:/var/lib/hotline12345/sounds/hotline/greeting
//
// (see SoundURI). The data dir is bind-mounted at the same path inside the
// Asterisk chroot, so the path is the same for Go and for Asterisk.
package prompts

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
)

//go:embed prompts.tsv
var tableTSV string

// Prompt is one entry of the prompt table.
type Prompt struct {
	ID   ID
	Text string // what the caller hears, before SpeechText rewriting
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// ValidID reports whether s can be used as a prompt ID (and file name).
func ValidID(s string) bool { return idPattern.MatchString(s) }

// ParseTable reads a prompt table: one "<id>\t<text>" per line, '#' starts a
// comment line, blank lines are ignored. IDs must be unique.
func ParseTable(r io.Reader) ([]Prompt, error) {
	var (
		out  []Prompt
		seen = map[ID]int{}
		sc   = bufio.NewScanner(r)
		line int
	)
	for sc.Scan() {
		line++
		raw := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(raw) == "" || strings.HasPrefix(raw, "#") {
			continue
		}
		id, text, ok := strings.Cut(raw, "\t")
		if !ok {
			return nil, fmt.Errorf("prompt table line %d: want \"<id><TAB><text>\", got %q", line, raw)
		}
		text = strings.TrimSpace(text)
		switch {
		case !ValidID(id):
			return nil, fmt.Errorf("prompt table line %d: invalid id %q (want [a-z0-9-])", line, id)
		case text == "":
			return nil, fmt.Errorf("prompt table line %d: prompt %q has no text", line, id)
		case strings.Contains(text, "\t"):
			return nil, fmt.Errorf("prompt table line %d: prompt %q: text contains a TAB", line, id)
		}
		if prev, dup := seen[ID(id)]; dup {
			return nil, fmt.Errorf("prompt table line %d: duplicate id %q (first on line %d)", line, id, prev)
		}
		seen[ID(id)] = line
		out = append(out, Prompt{ID: ID(id), Text: text})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read prompt table: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("prompt table is empty")
	}
	return out, nil
}

var table = sync.OnceValues(func() ([]Prompt, error) {
	p, err := ParseTable(strings.NewReader(tableTSV))
	if err != nil {
		return nil, fmt.Errorf("embedded prompts.tsv: %w", err)
	}
	return p, nil
})

// Table returns the embedded prompt table in file order (a copy).
// The embedded table is validated by the package tests, so an error here
// means a broken build.
func Table() []Prompt {
	p, err := table()
	if err != nil {
		panic(err)
	}
	return append([]Prompt(nil), p...)
}

// Text returns the text of a prompt of the embedded table.
func Text(id ID) (string, bool) {
	for _, p := range Table() {
		if p.ID == id {
			return p.Text, true
		}
	}
	return "", false
}
