package ivr

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestParseFaxResult(t *testing.T) {
	for in, want := range map[string]faxResult{
		"SUCCESS|2|HANGUP|+86 10 1234": {Status: "success", Pages: 2, Remote: "+86 10 1234"},
		"FAILED|0|Timed out waiting for initial communication|": {Status: "failed",
			Error: "Timed out waiting for initial communication"},
		"": {Status: "failed", Error: "no result from the fax modem"},
	} {
		if got := parseFaxResult(in); got != want {
			t.Errorf("%q: got %+v, want %+v", in, got, want)
		}
	}
}

// tiffWithPages builds a little-endian TIFF whose IFD chain has n entries.
func tiffWithPages(n int) []byte {
	b := []byte{'I', 'I', 42, 0, 8, 0, 0, 0}
	for i := range n {
		ifd := make([]byte, 2+12+4)
		binary.LittleEndian.PutUint16(ifd, 1) // one (dummy) entry
		next := uint32(0)
		if i < n-1 {
			next = uint32(len(b) + len(ifd))
		}
		binary.LittleEndian.PutUint32(ifd[14:], next)
		b = append(b, ifd...)
	}
	return b
}

func TestCountTIFFPages(t *testing.T) {
	for _, n := range []int{1, 2, 5} {
		got, err := countTIFFPages(tiffWithPages(n))
		if err != nil || got != n {
			t.Errorf("%d pages: got %d, %v", n, got, err)
		}
	}
	loop := tiffWithPages(1)
	binary.LittleEndian.PutUint32(loop[8+14:], 8) // points back at itself
	if _, err := countTIFFPages(loop); err == nil {
		t.Error("an IFD loop must be an error")
	}
	if _, err := countTIFFPages([]byte("GIF89a..")); err == nil {
		t.Error("not a TIFF must be an error")
	}
}

// TestMkdirSharedSetsSetgid: every level below base is group-writable and
// setgid, so files Asterisk (in the group) writes there stay in the group and
// the next day's directory inherits it; base's own group carries down.
func TestMkdirSharedSetsSetgid(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "received", "2026", "11", "22")
	if err := mkdirShared(base, dir); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"received", "received/2026", "received/2026/11", "received/2026/11/22"} {
		fi, err := os.Stat(filepath.Join(base, rel))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSetgid == 0 || fi.Mode().Perm() != 0o770 {
			t.Errorf("%s: mode %v, want setgid and rwxrwx---", rel, fi.Mode())
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if bst, _ := os.Stat(base); bst != nil && st.Gid != bst.Sys().(*syscall.Stat_t).Gid {
				t.Errorf("%s: group %d, want base's group", rel, st.Gid)
			}
		}
	}
	if err := mkdirShared(base, filepath.Join(filepath.Dir(base), "elsewhere")); err == nil {
		t.Error("a directory outside base must be refused")
	}
}
