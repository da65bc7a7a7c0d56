package e2e

import (
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

func readyStatus(addr string) int {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestDrainKeepsLiveCallsAndSendsNewOnesToFallback: on SIGTERM the call service
// stops taking calls (readyz 503, new calls hear the fallback), lets the live call
// finish, and then exits cleanly with the live call's events stored.
func TestDrainKeepsLiveCallsAndSendsNewOnesToFallback(t *testing.T) {
	h := startHotline(t, withEnv("HOTLINE_DRAIN_TIMEOUT=30s"))
	live := newRTPPeer(t, carrierIP)
	liveRes := carrierCall(t, "13700137001", live, 12*time.Second)
	eventually(t, 15*time.Second, "the live caller hearing the greeting", func() bool { return live.loudFrameCount() > 10 })

	if err := h.callsvc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "readyz to report draining", func() bool { return readyStatus(h.callHTTP) == http.StatusServiceUnavailable })

	newcomer := newRTPPeer(t, carrierIP)
	r := waitSIPp(t, carrierCall(t, "13700137002", newcomer, 5*time.Second), 40*time.Second)
	if r.err != nil {
		t.Fatalf("call during drain was not answered: %v\n%s", r.err, r.output)
	}
	if loud := newcomer.loudFrameCount(); loud < 50 {
		t.Fatalf("call during drain heard %d non-silent frames, want the fallback apology", loud)
	}
	if !fallbackLogged(t, "13700137002") {
		t.Fatal("the call during drain was not sent to the dialplan fallback")
	}

	lr := waitSIPp(t, liveRes, 40*time.Second)
	if lr.err != nil {
		t.Fatalf("the live call was cut by the drain: %v\n%s", lr.err, lr.output)
	}
	select {
	case err := <-h.callsvc.done:
		h.callsvc.done <- err
		if err != nil {
			t.Fatalf("call service exit after drain: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("call service did not exit after its last call ended")
	}
	var by string
	eventually(t, 20*time.Second, "the live call stored as ended by the caller", func() bool {
		return h.pool.QueryRow(t.Context(), `SELECT hangup_by FROM calls WHERE caller = '13700137001' AND ended_at IS NOT NULL`).Scan(&by) == nil
	})
	if by != "caller" {
		t.Fatalf("live call hangup_by = %q, want caller (the drain must not end it)", by)
	}
	// It never reached the draining front door, yet it is in the record.
	wantRecordedAsFallback(t, h, "13700137002")
}

// wantRecordedAsFallback asserts that a call the service refused (capacity,
// drain) is stored as a call of the hotline sent to the fallback by the system,
// never answered by the service.
func wantRecordedAsFallback(t *testing.T, h *hotline, caller string) {
	t.Helper()
	var outcome, by string
	var answered *time.Time
	eventually(t, 20*time.Second, "the refused call "+caller+" stored as sent to the fallback", func() bool {
		err := h.pool.QueryRow(t.Context(), `SELECT outcome, hangup_by, answered_at FROM calls
			WHERE caller = $1 AND ended_at IS NOT NULL`, caller).Scan(&outcome, &by, &answered)
		return err == nil
	})
	if outcome != "fallback" || by != "system" || answered != nil {
		t.Fatalf("refused call stored as outcome %q, hung up by %q, answered %v; want fallback, system, never answered by the service",
			outcome, by, answered)
	}
}

// TestReconnectsAfterAsteriskRestart: the call service notices Asterisk going away
// (not ready), reconnects when it is back, and handles the next call.
func TestReconnectsAfterAsteriskRestart(t *testing.T) {
	h := startHotline(t)
	if out, err := st.stackCmd("asterisk-stop", st.instance); err != nil {
		t.Fatalf("stop Asterisk: %v\n%s", err, out)
	}
	eventually(t, 10*time.Second, "readyz to report ARI down", func() bool { return readyStatus(h.callHTTP) == http.StatusServiceUnavailable })
	if out, err := st.stackCmd("asterisk-start", st.instance); err != nil {
		t.Fatalf("start Asterisk: %v\n%s", err, out)
	}
	eventually(t, 20*time.Second, "the call service to reconnect", func() bool { return readyStatus(h.callHTTP) == http.StatusOK })

	rtp := newRTPPeer(t, carrierIP)
	r := waitSIPp(t, carrierCall(t, "13600136000", rtp, 6*time.Second), 60*time.Second)
	if r.err != nil {
		t.Fatalf("call after reconnect failed: %v\n%s", r.err, r.output)
	}
	if loud := rtp.loudFrameCount(); loud < 50 {
		t.Fatalf("greeting after reconnect not heard (%d frames)", loud)
	}
	eventually(t, 20*time.Second, "the call after reconnect stored", func() bool {
		var n int
		_ = h.pool.QueryRow(t.Context(), `SELECT count(*) FROM calls WHERE caller = '13600136000' AND ended_at IS NOT NULL`).Scan(&n)
		return n == 1
	})
}

// TestCapacityRefusesNewCallsToFallback: with HOTLINE_MAX_ACTIVE_CALLS=1 a
// second caller arriving while the first is being served is not answered
// late by an overloaded service: the dialplan fallback (apology, message)
// takes it at once, the first call goes on, and the refusal is counted.
func TestCapacityRefusesNewCallsToFallback(t *testing.T) {
	h := startHotline(t, withEnv("HOTLINE_MAX_ACTIVE_CALLS=1"))
	live := newRTPPeer(t, carrierIP)
	liveRes := carrierCall(t, "13700137011", live, 12*time.Second)
	eventually(t, 15*time.Second, "the first caller hearing the greeting", func() bool { return live.loudFrameCount() > 10 })

	second := newRTPPeer(t, carrierIP)
	start := time.Now()
	secondRes := carrierCall(t, "13700137012", second, 5*time.Second)
	// "At once": the fallback's apology reaches the caller while the first
	// call still holds the only place.
	eventually(t, 5*time.Second, "the second caller hearing the fallback", func() bool { return second.loudFrameCount() > 10 })
	t.Logf("second caller heard the fallback %s after dialling", time.Since(start).Round(10*time.Millisecond))
	if r := waitSIPp(t, secondRes, 40*time.Second); r.err != nil {
		t.Fatalf("the call past capacity was not answered: %v\n%s", r.err, r.output)
	}
	if !fallbackLogged(t, "13700137012") {
		t.Fatal("the call past capacity was not sent to the dialplan fallback")
	}
	if lr := waitSIPp(t, liveRes, 40*time.Second); lr.err != nil {
		t.Fatalf("the first call was disturbed: %v\n%s", lr.err, lr.output)
	}
	resp, err := http.Get("http://" + h.callHTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `hotline_calls_refused_total{reason="capacity"} 1`; !strings.Contains(string(metrics), want) {
		t.Errorf("/metrics lacks %s", want)
	}
	var n int
	eventually(t, 20*time.Second, "the first call stored", func() bool {
		_ = h.pool.QueryRow(t.Context(), `SELECT count(*) FROM calls WHERE caller = '13700137011' AND ended_at IS NOT NULL`).Scan(&n)
		return n == 1
	})
	// The call past capacity never reached the front door, yet it is in the record.
	wantRecordedAsFallback(t, h, "13700137012")
}
