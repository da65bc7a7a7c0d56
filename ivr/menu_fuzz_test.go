package ivr

import (
	"testing"
	"time"
)

// FuzzMenuInput: any sequence of keys and timeouts, at any spacing, keeps the
// menu's promises: never more than MaxErrors counted errors before the default
// route, attempts count up by one per counted input, a burst step counts
// nothing, a valid key is always taken, and nothing panics.
func FuzzMenuInput(f *testing.F) {
	f.Add([]byte("*#*#9"), []byte{28, 28, 28, 28, 28})
	f.Add([]byte("7\x002"), []byte{10, 250, 3})
	f.Add([]byte("000000123"), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, keys, gaps []byte) {
		m := newMenuMachine(MenuConfig{})
		at := time.Date(2026, 12, 1, 20, 0, 0, 0, shanghai)
		for i, k := range keys {
			key := string(rune(k))
			if k == 0 {
				key = "" // a timeout
			}
			if i < len(gaps) {
				at = at.Add(time.Duration(gaps[i]) * 10 * time.Millisecond)
			}
			before := m.attempt
			st := m.inputAt(key, at)
			switch {
			case st.Burst:
				if m.attempt != before || st.Route != RouteNone {
					t.Fatalf("burst step %q changed the attempt or routed: %+v", key, st)
				}
			case m.attempt != before+1 || st.Attempt != m.attempt:
				t.Fatalf("key %q: attempt %d -> %d (step %d)", key, before, m.attempt, st.Attempt)
			}
			if _, valid := menuKeys[key]; valid && key != "0" && (st.Route == RouteNone || st.Default) {
				t.Fatalf("valid key %q not taken: %+v", key, st)
			}
			if m.errors > m.cfg.MaxErrors {
				t.Fatalf("%d errors counted, more than %d", m.errors, m.cfg.MaxErrors)
			}
			if st.Route != RouteNone {
				m.back() // the caller came back from the service
			}
		}
	})
}
