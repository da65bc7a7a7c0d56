// Package routecheck lets a role × endpoint matrix test prove that it covers
// every route of an HTTP API (issue 14): the operations its OpenAPI document
// lists, the mux patterns its source registers, and the matrix's rows must
// all meet. Both services' matrices use it (casework/api, routing).
package routecheck

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Documented lists "METHOD /path" for every operation of an OpenAPI document
// whose layout is the project's (paths at two spaces, methods at four), sorted.
func Documented(openapi []byte) []string {
	pathRe := regexp.MustCompile(`^  (/\S*):\s*$`)
	methodRe := regexp.MustCompile(`^    (get|put|post|delete|patch):\s*$`)
	var out []string
	inPaths, path := false, ""
	sc := bufio.NewScanner(bytes.NewReader(openapi))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case inPaths && line != "" && !strings.HasPrefix(line, " "):
			inPaths = false
		case inPaths && pathRe.MatchString(line):
			path = pathRe.FindStringSubmatch(line)[1]
		case inPaths && methodRe.MatchString(line):
			out = append(out, strings.ToUpper(methodRe.FindStringSubmatch(line)[1])+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// placeholder turns {names} of OpenAPI, patterns and rows into one form.
var placeholder = regexp.MustCompile(`\{[^}]+\}`)

// quotedWildcard is a {name} after regexp.QuoteMeta.
var quotedWildcard = regexp.MustCompile(`\\\{[^}\\]*\\\}`)

// Normal writes "METHOD /path" with every {name} as {}, so that a row, an
// OpenAPI path and a pattern name a parameter alike.
func Normal(op string) string { return placeholder.ReplaceAllString(op, "{}") }

// Registrations reads the mux patterns registered in the non-test Go files of
// dirs (mux.Handle/HandleFunc calls) as regular expressions over a Normal
// "METHOD /path": string parts literal, the named constants resolved, anything
// else (a variable prefix, string(act)) a wildcard. A pattern without a method
// matches "ANY /path". Keys say where each was found.
func Registrations(consts map[string]string, dirs ...string) (map[string]*regexp.Regexp, error) {
	call := regexp.MustCompile(`\bmux\.Handle(?:Func)?\(([^,]+),`)
	method := regexp.MustCompile(`^(GET|POST|PUT|DELETE|PATCH) `)
	out := map[string]*regexp.Regexp{}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			for _, line := range strings.Split(string(src), "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "//") {
					continue
				}
				m := call.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				var re strings.Builder
				for _, part := range strings.Split(m[1], "+") {
					part = strings.TrimSpace(part)
					switch {
					case strings.HasPrefix(part, `"`):
						re.WriteString(regexp.QuoteMeta(strings.ReplaceAll(strings.Trim(part, `"`), "{$}", "")))
					case consts[part] != "":
						re.WriteString(regexp.QuoteMeta(consts[part]))
					default:
						re.WriteString(`.*`)
					}
				}
				// {name} in a pattern is one path segment, which OpenAPI may
				// write with more text ({service_request_id}.json).
				s := quotedWildcard.ReplaceAllString(re.String(), `\{\}[^/]*`)
				if !method.MatchString(strings.Trim(m[1], `"`)) {
					s = "ANY " + s
				}
				out[f+": "+m[1]] = regexp.MustCompile("^" + s + "$")
			}
		}
	}
	return out, nil
}

// Uncovered compares a matrix's rows with the documented operations (already
// as served, e.g. with the API's prefix) and the registered patterns, and
// returns one line for every operation or pattern without a row and every row
// that is neither documented nor registered (none: the matrix covers the API).
func Uncovered(rows, documented []string, regs map[string]*regexp.Regexp) []string {
	var out []string
	have, known := map[string]bool{}, map[string]bool{}
	for _, r := range rows {
		if have[Normal(r)] {
			out = append(out, fmt.Sprintf("row %s twice", r))
		}
		have[Normal(r)] = true
	}
	for _, op := range documented {
		known[Normal(op)] = true
		if !have[Normal(op)] {
			out = append(out, fmt.Sprintf("%s (openapi.yaml) has no row in the role × endpoint matrix: decide who may call it", op))
		}
	}
	for _, where := range slices.Sorted(maps.Keys(regs)) {
		n := 0
		for op := range have {
			if regs[where].MatchString(op) {
				known[op] = true
				n++
			}
		}
		if n == 0 {
			out = append(out, fmt.Sprintf("%s registers a route with no row in the role × endpoint matrix (%s)", where, regs[where]))
		}
	}
	for _, r := range rows {
		if !known[Normal(r)] {
			out = append(out, fmt.Sprintf("row %s is neither documented nor registered", r))
		}
	}
	return out
}
