package region_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/region"
)

func TestDefaultListIsTheDemoCity(t *testing.T) {
	l := region.Default()
	if n, ok := l.Name("110101"); !ok || n != "东城区" {
		t.Fatalf("110101 = %q %v", n, ok)
	}
	if len(l.Codes()) != 17 {
		t.Fatalf("%d codes, want the city and its 16 districts", len(l.Codes()))
	}
}

func TestCheck(t *testing.T) {
	l := region.Default()
	for _, tc := range []struct {
		region domain.Region
		ok     bool
	}{
		{"110102", true},
		{"110000", true},
		{"xyz", false},
		{"370102", false},
		{"", true},   // missing: the domain's validation reports it
		{"东城", true}, // malformed: likewise
	} {
		err := l.Check(tc.region)
		var ve *domain.ValidationError
		if (err == nil) != tc.ok || (err != nil && (!errors.As(err, &ve) || ve.Field != "region")) {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.region, err, tc.ok)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // part of the error; "" for none
	}{
		{"ok", "code,name\n# comment\n130102,长安区\n130104,桥西区\n", ""},
		{"no header", "130102,长安区\n", ""},
		{"empty", "code,name\n", "no regions"},
		{"malformed code", "1301,长安区\n", `code "1301"`},
		{"letters", "xyz,某区\n", `code "xyz"`},
		{"no name", "130102,\n", "has no name"},
		{"twice", "130102,长安区\n130102,长安区\n", "listed twice"},
		{"fields", "130102\n", "want code,name"},
		{"every problem at once", "1301,a\n130102,\n", "has no name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := region.Parse(strings.NewReader(tc.in), "test")
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Parse: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regions.csv")
	if err := os.WriteFile(path, []byte("130102,长安区\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := region.Load(path)
	if err != nil || l.Check("130102") != nil || l.Check("110101") == nil || l.Source != path {
		t.Fatalf("Load: %+v %v", l, err)
	}
	if _, err := region.Load(filepath.Join(t.TempDir(), "missing.csv")); err == nil {
		t.Fatal("a missing file loads")
	}
}
