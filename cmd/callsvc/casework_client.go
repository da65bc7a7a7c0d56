package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hotline12345/hotline/ivr"
)

// caseworkClient reads case status for voice self-service from the casework
// API's self-service endpoint, GET /api/v1/selfservice/cases/{number}, with the
// call service's own bearer token (HOTLINE_CASEWORK_TOKEN).
type caseworkClient struct {
	base, token string
	http        *http.Client
}

func newCaseworkClient(base, token string) *caseworkClient {
	// A caller is waiting on the line: a slow casework must not hold them long.
	return &caseworkClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 4 * time.Second}}
}

// selfServiceAnswer mirrors casework/api's answer (only the fields spoken).
type selfServiceAnswer struct {
	Number     string    `json:"number"`
	State      string    `json:"state"`
	StateLabel string    `json:"state_label"`
	Detailed   bool      `json:"detailed"`
	UnitName   string    `json:"unit_name"`
	Deadline   time.Time `json:"deadline"`
	CodeLocked bool      `json:"code_locked"`
}

// LookupCase implements ivr.CaseLookup.
func (c *caseworkClient) LookupCase(ctx context.Context, number, caller, code string) (ivr.CaseStatus, error) {
	q := url.Values{}
	if caller != "" {
		q.Set("caller", caller)
	}
	if code != "" {
		q.Set("code", code)
	}
	u := c.base + "/api/v1/selfservice/cases/" + url.PathEscape(number)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return ivr.CaseStatus{}, fmt.Errorf("self-service lookup: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return ivr.CaseStatus{}, fmt.Errorf("self-service lookup: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return ivr.CaseStatus{}, ivr.ErrCaseNotFound
	case resp.StatusCode != http.StatusOK:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return ivr.CaseStatus{}, fmt.Errorf("self-service lookup: casework answered %s: %s", resp.Status, b)
	}
	var a selfServiceAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&a); err != nil {
		return ivr.CaseStatus{}, fmt.Errorf("self-service lookup: decode answer: %w", err)
	}
	status := a.StateLabel
	if status == "" {
		status = a.State
	}
	return ivr.CaseStatus{Number: a.Number, Status: status, Detailed: a.Detailed, Unit: a.UnitName, Deadline: a.Deadline,
		CodeLocked: a.CodeLocked}, nil
}
