package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSupervisorForcesAgentPauseAndSignOut: a supervisor takes an agent out of
// the queue with a reason and signs another out; agents cannot order each
// other; every order is in casework's audit log with the supervisor and the
// reason (from the agent.state_changed event that carries it).
func TestSupervisorForcesAgentPauseAndSignOut(t *testing.T) {
	e := startRouting(t)
	for _, staff := range []string{"1001", "1002"} {
		for _, act := range []string{"login", "ready"} {
			if code, out := e.agentAPI(t, staff, "POST", "/api/v1/agent/"+act, nil); code != http.StatusOK {
				t.Fatalf("%s %s: %d %v", staff, act, code, out)
			}
		}
	}
	if code, _ := e.agentAPI(t, "1002", "POST", "/api/v1/agents/1001/pause", map[string]any{"reason": "x"}); code != http.StatusForbidden {
		t.Errorf("an agent ordering another agent's pause: %d, want 403", code)
	}
	if code, _ := e.api(t, e.supervisor, "POST", "/api/v1/agents/1001/pause", map[string]any{}); code != http.StatusUnprocessableEntity {
		t.Errorf("an order without a reason: %d, want 422", code)
	}
	code, out := e.api(t, e.supervisor, "POST", "/api/v1/agents/1001/pause", map[string]any{"reason": "通话质量抽查"})
	if code != http.StatusOK || out["state"] != "paused" || out["reason"] != "督查：通话质量抽查" {
		t.Fatalf("forced pause: %d %v", code, out)
	}
	if code, out := e.api(t, e.supervisor, "POST", "/api/v1/agents/1002/logout", map[string]any{"reason": "下班未签出"}); code != http.StatusOK || out["state"] != "logged_out" {
		t.Fatalf("forced sign-out: %d %v", code, out)
	}
	// The queue no longer offers calls to either.
	code, out = e.agentAPI(t, "1001", "GET", "/api/v1/agent", nil)
	if code != http.StatusOK || out["state"] != "paused" {
		t.Errorf("1001 after the forced pause: %d %v", code, out)
	}
	var sup string
	if err := e.pool.QueryRow(context.Background(), `SELECT id FROM users WHERE role = 'supervisor'`).Scan(&sup); err != nil {
		t.Fatal(err)
	}
	var entries []string
	eventually(t, 30*time.Second, "both orders in the audit log", func() bool {
		rows, err := e.pool.Query(context.Background(), `SELECT action || ' ' || object_id FROM audit_log
			WHERE user_id = $1 AND object_type = 'agent' ORDER BY id`, sup)
		if err != nil {
			return false
		}
		defer rows.Close()
		entries = entries[:0]
		for rows.Next() {
			var s string
			if rows.Scan(&s) == nil {
				entries = append(entries, s)
			}
		}
		return len(entries) == 2
	})
	if got := strings.Join(entries, " | "); got != "force_paused 1001: 督查：通话质量抽查 | force_logged_out 1002: 督查：下班未签出" {
		t.Errorf("audit entries %q", got)
	}
}
