package shard

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		err  bool
	}{
		{in: "1/2", want: Spec{1, 2}},
		{in: " 3/3 ", want: Spec{3, 3}},
		{in: "1/1", want: Spec{1, 1}},
		{in: "0/2", err: true},
		{in: "3/2", err: true},
		{in: "1/0", err: true},
		{in: "2", err: true},
		{in: "a/b", err: true},
		{in: "", err: true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestTestsListsTopLevelTestFunctions(t *testing.T) {
	dir := t.TempDir()
	src := `package x

import "testing"

func TestMain(m *testing.M)          {}
func TestA(t *testing.T)             {}
func TestÄ(t *testing.T)             {}
func Test(t *testing.T)              {}
func Testlower(t *testing.T)         {}
func TestBench(b *testing.B)         {}
func TestTwoArgs(t *testing.T, n int) {}
func TestZ_underscore(t *testing.T)  {}
func helper(t *testing.T)            {}
type s struct{}
func (s) TestMethod(t *testing.T)    {}
`
	if err := os.WriteFile(filepath.Join(dir, "a_test.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.go"), []byte("package x\nfunc TestNotInTestFile(t *testing.T) {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Tests(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Test", "TestA", "TestZ_underscore", "TestÄ"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tests = %q, want %q", got, want)
	}
}

func TestLoadDurations(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	os.WriteFile(good, []byte("# measured\nTestA 12.5\n\nTestB 3 # fast\n"), 0o644)
	got, err := LoadDurations(good)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"TestA": 12500 * time.Millisecond, "TestB": 3 * time.Second}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("durations = %v, want %v", got, want)
	}
	if d, err := LoadDurations(filepath.Join(dir, "missing.txt")); err != nil || len(d) != 0 {
		t.Fatalf("missing file: %v, %v; want empty, no error", d, err)
	}
	for _, bad := range []string{"TestA\n", "TestA x\n", "TestA -1\n", "TestA 1 2\n"} {
		p := filepath.Join(dir, "bad.txt")
		os.WriteFile(p, []byte(bad), 0o644)
		if _, err := LoadDurations(p); err == nil || !strings.Contains(err.Error(), "bad.txt:1") {
			t.Errorf("%q: error %v, want one naming bad.txt:1", bad, err)
		}
	}
}

func secs(kv ...any) map[string]time.Duration {
	m := map[string]time.Duration{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = time.Duration(kv[i+1].(int)) * time.Second
	}
	return m
}

func TestAssign(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tests []string
		dur   map[string]time.Duration
		n     int
		want  [][]string
	}{
		{
			name:  "longest first to the least loaded",
			tests: []string{"TestA", "TestB", "TestC", "TestD", "TestE"},
			dur:   secs("TestA", 60, "TestB", 50, "TestC", 40, "TestD", 30, "TestE", 20),
			n:     2,
			// A(60)->1, B(50)->2, C(40)->2 (90), D(30)->1 (90), E(20)->1 (110)
			want: [][]string{{"TestA", "TestD", "TestE"}, {"TestB", "TestC"}},
		},
		{
			name:  "unmeasured tests count as the median",
			tests: []string{"TestA", "TestB", "TestC", "TestNew"},
			dur:   secs("TestA", 10, "TestB", 30, "TestC", 100),
			n:     2,
			// C(100)->1, B(30)->2, New(30, the median)->2 (60), A(10)->2 (70)
			want: [][]string{{"TestC"}, {"TestA", "TestB", "TestNew"}},
		},
		{
			name:  "no durations at all: by name, round robin",
			tests: []string{"TestD", "TestC", "TestB", "TestA"},
			n:     3,
			want:  [][]string{{"TestA", "TestD"}, {"TestB"}, {"TestC"}},
		},
		{
			name:  "more shards than tests",
			tests: []string{"TestA"},
			n:     3,
			want:  [][]string{{"TestA"}, nil, nil},
		},
		{
			name:  "one shard has everything",
			tests: []string{"TestB", "TestA"},
			dur:   secs("TestA", 1),
			n:     1,
			want:  [][]string{{"TestA", "TestB"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Assign(tc.tests, tc.dur, tc.n)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Assign = %q, want %q", got, tc.want)
			}
		})
	}
}

// Every test lands in exactly one shard, and the split is within one test
// of the ideal (the bound of longest-first greedy).
func TestAssignCoversEveryTestOnceAndBalances(t *testing.T) {
	var tests []string
	dur := map[string]time.Duration{}
	for i := range 47 {
		name := fmt.Sprintf("Test%02d", i)
		tests = append(tests, name)
		dur[name] = time.Duration(3+(i*37)%60) * time.Second
	}
	for n := 1; n <= 5; n++ {
		shards := Assign(tests, dur, n)
		var all []string
		var total, most, longest time.Duration
		for _, s := range shards {
			var load time.Duration
			for _, name := range s {
				load += dur[name]
				longest = max(longest, dur[name])
			}
			total += load
			most = max(most, load)
			all = append(all, s...)
		}
		slices.Sort(all)
		if !reflect.DeepEqual(all, tests) {
			t.Fatalf("n=%d: shards hold %d tests, want each of %d once", n, len(all), len(tests))
		}
		if most > total/time.Duration(n)+longest {
			t.Errorf("n=%d: busiest shard %s, ideal %s", n, most, total/time.Duration(n))
		}
		if again := Assign(tests, dur, n); !reflect.DeepEqual(again, shards) {
			t.Fatalf("n=%d: assignment not deterministic", n)
		}
	}
}

func TestSelect(t *testing.T) {
	tests := []string{"TestDeskA", "TestDeskB", "TestVoiceA", "TestVoiceB"}
	dur := secs("TestDeskA", 40, "TestDeskB", 30, "TestVoiceA", 20, "TestVoiceB", 10)
	// Shard 1: DeskA, VoiceB; shard 2: DeskB, VoiceA.
	for _, tc := range []struct {
		s       Spec
		run     string
		want    []string
		pattern string
	}{
		{s: Spec{1, 2}, want: []string{"TestDeskA", "TestVoiceB"}, pattern: `^(TestDeskA|TestVoiceB)$`},
		{s: Spec{2, 2}, want: []string{"TestDeskB", "TestVoiceA"}, pattern: `^(TestDeskB|TestVoiceA)$`},
		{s: Spec{1, 2}, run: "Desk", want: []string{"TestDeskA"}, pattern: `^(TestDeskA)$`},
		// The selected tests are what is split: VoiceA and VoiceB on two shards.
		{s: Spec{1, 2}, run: "Voice", want: []string{"TestVoiceA"}, pattern: `^(TestVoiceA)$`},
		{s: Spec{2, 2}, run: "Voice", want: []string{"TestVoiceB"}, pattern: `^(TestVoiceB)$`},
		{s: Spec{1, 2}, run: "^TestVoiceB$", want: []string{"TestVoiceB"}, pattern: `^(TestVoiceB)$`},
		{s: Spec{2, 2}, run: "^TestVoiceB$"},
		{s: Spec{1, 2}, run: "TestDesk/sub(a|b)/x", want: []string{"TestDeskA"}, pattern: `^(TestDeskA)$/sub(a|b)/x`},
		{s: Spec{1, 2}, run: "Test(Desk|Voice)[AB/]", want: []string{"TestDeskA", "TestVoiceB"}, pattern: `^(TestDeskA|TestVoiceB)$`},
		{s: Spec{1, 1}, want: tests, pattern: `^(TestDeskA|TestDeskB|TestVoiceA|TestVoiceB)$`},
	} {
		got, pattern, err := Select(tests, dur, tc.s, tc.run)
		if err != nil {
			t.Fatalf("%v -run %q: %v", tc.s, tc.run, err)
		}
		if !reflect.DeepEqual(got, tc.want) || pattern != tc.pattern {
			t.Errorf("%v -run %q = %q, %q; want %q, %q", tc.s, tc.run, got, pattern, tc.want, tc.pattern)
		}
		if pattern != "" {
			top, _ := splitRun(pattern)
			re := regexp.MustCompile(top)
			for _, name := range tests {
				if re.MatchString(name) != slices.Contains(got, name) {
					t.Errorf("pattern %q and selection %q disagree on %s", pattern, got, name)
				}
			}
		}
	}
	if _, _, err := Select(tests, dur, Spec{1, 2}, "Test("); err == nil {
		t.Error("a bad -run pattern: no error")
	}
}

// The durations file kept for the e2e package parses, and the package's
// tests split into shards that hold each exactly once.
func TestE2EPackageSplits(t *testing.T) {
	tests, err := Tests("..")
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) < 10 {
		t.Fatalf("found %d e2e tests in .., want the package's", len(tests))
	}
	dur, err := LoadDurations("../testdata/durations.txt")
	if err != nil {
		t.Fatal(err)
	}
	for name := range dur {
		if !slices.Contains(tests, name) {
			t.Logf("durations.txt names %s, which is no longer a test (refresh the file)", name)
		}
	}
	for n := 1; n <= 4; n++ {
		seen := map[string]int{}
		for i := 1; i <= n; i++ {
			mine, _, err := Select(tests, dur, Spec{i, n}, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range mine {
				seen[m]++
			}
		}
		for _, name := range tests {
			if seen[name] != 1 {
				t.Errorf("n=%d: %s runs in %d shards", n, name, seen[name])
			}
		}
	}
}
