// Package svc is the plumbing every hotline binary shares: configuration from the
// environment, the logger, and the ops HTTP server (/metrics, /healthz, /readyz).
package svc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Env reads configuration from environment variables and collects every problem,
// so that a bad deployment is told all that is wrong at once, at start.
type Env struct {
	get      func(string) string
	problems []string
}

// NewEnv reads from get (os.Getenv in production, a map in tests).
func NewEnv(get func(string) string) *Env { return &Env{get: get} }

// Str returns the variable or def when it is unset or empty.
func (e *Env) Str(key, def string) string {
	if v := strings.TrimSpace(e.get(key)); v != "" {
		return v
	}
	return def
}

// Required returns the variable and records a problem when it is missing.
func (e *Env) Required(key string) string {
	v := strings.TrimSpace(e.get(key))
	if v == "" {
		e.problems = append(e.problems, key+" is required")
	}
	return v
}

// Duration parses a Go duration ("30s", "5m").
func (e *Env) Duration(key string, def time.Duration) time.Duration {
	v := e.Str(key, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		e.problems = append(e.problems, fmt.Sprintf("%s=%q is not a duration like 30s", key, v))
		return def
	}
	return d
}

// Int parses a non-negative integer.
func (e *Env) Int(key string, def int) int {
	v := e.Str(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		e.problems = append(e.problems, fmt.Sprintf("%s=%q is not a non-negative integer", key, v))
		return def
	}
	return n
}

// Bool parses true/false/1/0.
func (e *Env) Bool(key string, def bool) bool {
	v := e.Str(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.problems = append(e.problems, fmt.Sprintf("%s=%q is not true or false", key, v))
		return def
	}
	return b
}

// OneOf returns the variable, which must be one of allowed.
func (e *Env) OneOf(key, def string, allowed ...string) string {
	v := e.Str(key, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	e.problems = append(e.problems, fmt.Sprintf("%s=%q must be one of %s", key, v, strings.Join(allowed, ", ")))
	return def
}

// Check records a problem of the caller's own when bad is true.
func (e *Env) Check(bad bool, problem string) {
	if bad {
		e.problems = append(e.problems, problem)
	}
}

// Err returns every recorded problem, or nil.
func (e *Env) Err() error {
	if len(e.problems) == 0 {
		return nil
	}
	return errors.New("configuration: " + strings.Join(e.problems, "; "))
}

// Profiles. The demo profile is the only one in which well-known demo secrets may be
// used; production refuses them.
const (
	ProfileDemo       = "demo"
	ProfileProduction = "production"
)

// DemoSecrets are the passwords the demo profile ships (deploy/demo). A production
// configuration that uses one of them is refused.
var DemoSecrets = []string{"demo", "hotline-demo", "hotline-demo-password", "hotline-demo-selfservice-token", "hotline-demo-db-password", "hotline-demo-ami-password"}

// Secret reads a required secret; in production it must not be a demo value.
func (e *Env) Secret(key, profile string) string {
	v := e.Required(key)
	if profile != ProfileDemo {
		for _, d := range DemoSecrets {
			if v == d {
				e.problems = append(e.problems, key+" uses a demo value outside the demo profile")
			}
		}
	}
	return v
}
