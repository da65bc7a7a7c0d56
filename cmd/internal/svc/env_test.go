package svc

import (
	"strings"
	"testing"
	"time"
)

func TestEnv(t *testing.T) {
	cases := []struct {
		name     string
		vars     map[string]string
		read     func(e *Env) any
		want     any
		problems []string // substrings of the error; none means no error
	}{
		{"default when unset", nil, func(e *Env) any { return e.Str("X", "d") }, "d", nil},
		{"value trimmed", map[string]string{"X": "  v "}, func(e *Env) any { return e.Str("X", "d") }, "v", nil},
		{"required missing", nil, func(e *Env) any { return e.Required("ARI_PASSWORD") }, "", []string{"ARI_PASSWORD is required"}},
		{"duration", map[string]string{"D": "45s"}, func(e *Env) any { return e.Duration("D", time.Second) }, 45 * time.Second, nil},
		{"bad duration keeps default", map[string]string{"D": "soon"}, func(e *Env) any { return e.Duration("D", time.Second) }, time.Second, []string{`D="soon"`}},
		{"negative duration", map[string]string{"D": "-1s"}, func(e *Env) any { return e.Duration("D", time.Second) }, time.Second, []string{"D="}},
		{"int", map[string]string{"N": "3"}, func(e *Env) any { return e.Int("N", 1) }, 3, nil},
		{"bad int", map[string]string{"N": "three"}, func(e *Env) any { return e.Int("N", 1) }, 1, []string{"N="}},
		{"bool", map[string]string{"B": "true"}, func(e *Env) any { return e.Bool("B", false) }, true, nil},
		{"one of", map[string]string{"P": "demo"}, func(e *Env) any { return e.OneOf("P", "production", "demo", "production") }, "demo", nil},
		{"not one of", map[string]string{"P": "staging"}, func(e *Env) any { return e.OneOf("P", "production", "demo", "production") }, "production", []string{"must be one of demo, production"}},
		{"demo secret refused in production", map[string]string{"S": "hotline-demo-password"}, func(e *Env) any { return e.Secret("S", ProfileProduction) }, "hotline-demo-password", []string{"S uses a demo value"}},
		{"demo secret allowed in demo", map[string]string{"S": "hotline-demo-password"}, func(e *Env) any { return e.Secret("S", ProfileDemo) }, "hotline-demo-password", nil},
		{"secret missing", nil, func(e *Env) any { return e.Secret("S", ProfileDemo) }, "", []string{"S is required"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEnv(func(k string) string { return tc.vars[k] })
			if got := tc.read(e); got != tc.want {
				t.Errorf("value = %v, want %v", got, tc.want)
			}
			checkProblems(t, e.Err(), tc.problems)
		})
	}
}

func TestEnvReportsEveryProblemAtOnce(t *testing.T) {
	e := NewEnv(func(string) string { return "" })
	e.Required("A")
	e.Required("B")
	e.Check(true, "C is odd")
	err := e.Err()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"A is required", "B is required", "C is odd"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from %q", want, err)
		}
	}
}

// checkProblems asserts that err reports every one of problems, or that there
// is no error when problems is empty.
func checkProblems(t *testing.T, err error, problems []string) {
	t.Helper()
	if len(problems) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want one mentioning %v", problems)
	}
	for _, p := range problems {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}
