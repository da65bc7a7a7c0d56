package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestDashboardQueriesReturnData runs a real Prometheus against the services and
// Asterisk of a live call, and checks that every query of every panel of the
// shipped Grafana dashboard returns data, and that the alert rules load.
func TestDashboardQueriesReturnData(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus is not installed (deploy/stack.sh install provides it): %v", err)
	}
	// Scans every second, so the scheduler's histograms have rates within the test.
	h := startHotline(t, withEnv("HOTLINE_ESCALATION_INTERVAL=1s"))
	dir := t.TempDir()
	port, _ := freePort("tcp")
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: callsvc
    static_configs: [{targets: [%q]}]
  - job_name: casework
    static_configs: [{targets: [%q]}]
  - job_name: asterisk
    static_configs: [{targets: ["127.0.0.1:%d"]}]
`, filepath.Join(st.repo, "deploy/prometheus/alerts.yml"), h.callHTTP, h.caseHTTP, st.httpPort)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	prom := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	prom.Stdout, prom.Stderr = logf, logf
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Process.Kill(); _ = prom.Wait(); logf.Close() })
	api := fmt.Sprintf("http://127.0.0.1:%d", port)
	eventually(t, 30*time.Second, "prometheus ready", func() bool {
		resp, err := http.Get(api + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	// Scrapes before, during and after a call, so rates and quantiles have data.
	time.Sleep(3 * time.Second)
	rtp := newRTPPeer(t, carrierIP)
	if r := waitSIPp(t, carrierCall(t, "13500135000", rtp, 5*time.Second), 60*time.Second); r.err != nil {
		t.Fatalf("call: %v\n%s", r.err, r.output)
	}
	eventually(t, 20*time.Second, "the call stored", func() bool {
		var n int
		_ = h.pool.QueryRow(t.Context(), `SELECT count(*) FROM calls WHERE caller = '13500135000' AND ended_at IS NOT NULL`).Scan(&n)
		return n == 1
	})
	// A public API request, so the API's request series exist.
	if resp, err := http.Get("http://" + h.caseHTTP + "/open311/v2/services.json"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	time.Sleep(4 * time.Second)

	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	raw, err := os.ReadFile(filepath.Join(st.repo, "deploy/grafana/dashboards/hotline.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if len(dash.Panels) == 0 {
		t.Fatal("dashboard has no panels")
	}
	checked := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			n, err := promQuery(api, tg.Expr)
			switch {
			case err != nil:
				t.Errorf("panel %q: %s: %v", p.Title, tg.Expr, err)
			case n == 0:
				t.Errorf("panel %q: %s returned no data", p.Title, tg.Expr)
			}
			checked++
		}
	}
	t.Logf("%d panels, %d queries checked against a live Prometheus", len(dash.Panels), checked)

	// The alert rules loaded and evaluate.
	resp, err := http.Get(api + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name   string `json:"name"`
					Health string `json:"health"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rules); err != nil {
		t.Fatal(err)
	}
	if len(rules.Data.Groups) == 0 || len(rules.Data.Groups[0].Rules) == 0 {
		t.Fatal("no alert rules loaded")
	}
	eventually(t, 10*time.Second, "alert rules evaluated", func() bool { return rulesHealthy(api) })
}

func rulesHealthy(api string) bool {
	resp, err := http.Get(api + "/api/v1/rules")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Health string `json:"health"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&rules) != nil {
		return false
	}
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			if r.Health != "ok" {
				return false
			}
		}
	}
	return true
}

// promQuery returns the number of series an instant query returns.
func promQuery(api, expr string) (int, error) {
	resp, err := http.Get(api + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, err
	}
	if out.Status != "success" {
		return 0, fmt.Errorf("prometheus: %s", out.Error)
	}
	return len(out.Data.Result), nil
}
