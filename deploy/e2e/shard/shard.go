// Package shard splits the end-to-end tests into N balanced shards, so that N
// test processes, each with a private Asterisk instance, run them side by side
// (deploy/e2e/shards.sh). Every process computes the same assignment on its
// own from the package's test functions and a file of measured durations: no
// coordination is needed and a test runs in exactly one shard.
package shard

import (
	"bufio"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Spec is one shard of Count: Index counts from 1.
type Spec struct {
	Index, Count int
}

func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Parse reads "i/n" (1 <= i <= n), as in E2E_SHARD=2/3.
func Parse(s string) (Spec, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Spec{}, fmt.Errorf("shard %q: want i/n, e.g. 1/2", s)
	}
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return Spec{}, fmt.Errorf("shard %q: want i/n with 1 <= i <= n, e.g. 1/2", s)
	}
	return Spec{Index: i, Count: n}, nil
}

// Tests lists the top-level test functions (func TestXxx(t *testing.T)) of
// the _test.go files in dir, sorted, as `go test` would run them.
func Tests(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var names []string
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("list tests: %w", err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if ok && fn.Recv == nil && isTestName(fn.Name.Name) && takesTestingT(fn) {
				names = append(names, fn.Name.Name)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// isTestName is go test's rule: "Test", then nothing or a non-lower-case rune.
func isTestName(name string) bool {
	rest, ok := strings.CutPrefix(name, "Test")
	if !ok || name == "TestMain" {
		return false
	}
	if rest == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return !unicode.IsLower(r)
}

func takesTestingT(fn *ast.FuncDecl) bool {
	p := fn.Type.Params.List
	if len(p) != 1 || len(p[0].Names) > 1 || fn.Type.Results != nil {
		return false
	}
	star, ok := p[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "testing" && sel.Sel.Name == "T"
}

// LoadDurations reads "TestName seconds" lines ('#' starts a comment). A
// missing file is no error: every test then counts as the default.
func LoadDurations(path string) (map[string]time.Duration, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]time.Duration{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]time.Duration{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"TestName seconds\"", path, n)
		}
		sec, err := strconv.ParseFloat(fields[1], 64)
		if err != nil || sec < 0 {
			return nil, fmt.Errorf("%s:%d: seconds %q: want a number >= 0", path, n, fields[1])
		}
		out[fields[0]] = time.Duration(sec * float64(time.Second))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// Assign splits tests into n shards of about equal measured time: longest
// first, each to the shard with the least time so far (ties: the lower
// shard, then by name, so every process computes the same split). A test
// without a measured duration counts as the median of the measured ones
// (new tests are spread like any other). Shards are returned sorted by name.
func Assign(tests []string, durations map[string]time.Duration, n int) [][]string {
	if n < 1 {
		n = 1
	}
	def := median(durations)
	type job struct {
		name string
		d    time.Duration
	}
	jobs := make([]job, 0, len(tests))
	for _, t := range tests {
		d, ok := durations[t]
		if !ok {
			d = def
		}
		jobs = append(jobs, job{t, d})
	}
	sort.Slice(jobs, func(a, b int) bool {
		if jobs[a].d != jobs[b].d {
			return jobs[a].d > jobs[b].d
		}
		return jobs[a].name < jobs[b].name
	})
	shards := make([][]string, n)
	load := make([]time.Duration, n)
	for _, j := range jobs {
		best := 0
		for s := 1; s < n; s++ {
			if load[s] < load[best] {
				best = s
			}
		}
		shards[best] = append(shards[best], j.name)
		load[best] += j.d
	}
	for _, s := range shards {
		sort.Strings(s)
	}
	return shards
}

func median(durations map[string]time.Duration) time.Duration {
	if len(durations) == 0 {
		return 20 * time.Second
	}
	ds := make([]time.Duration, 0, len(durations))
	for _, d := range durations {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
	return ds[len(ds)/2]
}

// Select returns shard s's share of the tests a -run pattern (may be empty)
// selects, and the -run pattern that runs exactly them: its first element
// names the shard's tests, the rest of run (the subtest elements) is kept.
// The selected tests are split, not all of them: a subset (make faults) is
// balanced too. An empty list means the shard has nothing to run.
func Select(tests []string, durations map[string]time.Duration, s Spec, run string) ([]string, string, error) {
	top, sub := splitRun(run)
	selected := tests
	if top != "" {
		match, err := regexp.Compile(top)
		if err != nil {
			return nil, "", fmt.Errorf("-run %q: %w", run, err)
		}
		selected = nil
		for _, name := range tests {
			if match.MatchString(name) {
				selected = append(selected, name)
			}
		}
	}
	mine := Assign(selected, durations, s.Count)[s.Index-1]
	if len(mine) == 0 {
		return nil, "", nil
	}
	quoted := make([]string, len(mine))
	for i, m := range mine {
		quoted[i] = regexp.QuoteMeta(m)
	}
	pattern := "^(" + strings.Join(quoted, "|") + ")$"
	if sub != "" {
		pattern += "/" + sub
	}
	return mine, pattern, nil
}

// splitRun splits a -run pattern at its first '/' outside brackets and
// parentheses, as the testing package does: the top-level test's part and
// the rest.
func splitRun(run string) (top, rest string) {
	depth, escaped := 0, false
	for i, r := range run {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == '(' || r == '[':
			depth++
		case (r == ')' || r == ']') && depth > 0:
			depth--
		case r == '/' && depth == 0:
			return run[:i], run[i+1:]
		}
	}
	return run, ""
}
