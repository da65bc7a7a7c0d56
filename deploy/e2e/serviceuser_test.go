package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
)

// svcRunUser is the services' user that deploy/stack.sh service-user makes.
const svcRunUser = "hotline"

// asServiceUser starts the services as deploy/run-services.sh does: umask
// 0027, then setpriv to the unprivileged user with its groups, no
// capabilities and no way to gain any.
func asServiceUser(name string) option {
	return func(h *hotline) {
		h.runAs = []string{"bash", "-c", `umask 0027 && exec "$@"`, "bash",
			"setpriv", "--reuid=" + name, "--regid=" + name, "--init-groups", "--no-new-privs", "--inh-caps=-all", "--"}
	}
}

// TestServicesRunAsServiceUser (issue 14): both services run as the
// unprivileged user `make run` uses, on the stack's real data directory
// layout (deploy/stack.sh service-user), and a call works end to end through
// the files they share with Asterisk: the prompts play, the fax catalogue is
// rendered for Asterisk's group, a voicemail is recorded by Asterisk, stored
// by the call service and served by casework.
func TestServicesRunAsServiceUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	if out, err := st.stackCmd("service-user"); err != nil {
		t.Fatalf("deploy/stack.sh service-user: %v\n%s", err, out)
	}
	u, err := user.Lookup(svcRunUser)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	ast, err := user.LookupGroup("asterisk")
	if err != nil {
		t.Fatal(err)
	}
	astGID, _ := strconv.Atoi(ast.Gid)
	// The test's own spool (the harness's temporary directories are root's).
	own, err := os.MkdirTemp("", "hotline-svcuser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(own) })
	if err := os.Chown(own, uid, gid); err != nil {
		t.Fatal(err)
	}
	ensureRecordingDir(t)
	h := startHotline(t, asServiceUser(svcRunUser), withEnv("HOTLINE_SERVICE_MODE=closed",
		"HOTLINE_SPOOL_DIR="+filepath.Join(own, "spool", "events"),
		"HOTLINE_CALENDAR_CACHE="+filepath.Join(own, "calendar.json"),
		"HOTLINE_FAX_DOCS_DIR="+filepath.Join(st.repo, "ivr", "fax", "docs"),
		"HOTLINE_VOICEMAIL_DIR="+filepath.Join(st.dataDir, "voicemail")))

	for _, p := range []*proc{h.casework, h.callsvc} {
		out, err := exec.Command("ps", "-o", "user=", "-p", strconv.Itoa(p.cmd.Process.Pid)).Output()
		if err != nil || strings.TrimSpace(string(out)) != svcRunUser {
			t.Errorf("%s runs as %q (%v), want %s", p.name, bytes.TrimSpace(out), err, svcRunUser)
		}
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
		for _, want := range []string{"CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "NoNewPrivs:\t1"} {
			if !strings.Contains(string(status), want) {
				t.Errorf("%s: /proc status lacks %q", p.name, want)
			}
		}
		t.Logf("%s: pid %d, user %s", p.name, p.cmd.Process.Pid, bytes.TrimSpace(out))
	}
	// The fax catalogue, rendered by the call service, is Asterisk's to read.
	tiffs, _ := filepath.Glob(filepath.Join(st.dataDir, "fax", "catalogue", "*.tiff"))
	if len(tiffs) == 0 {
		t.Error("no fax catalogue rendered")
	}
	for _, f := range tiffs {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		s := fi.Sys().(*syscall.Stat_t)
		if int(s.Uid) != uid || (int(s.Gid) != astGID && fi.Mode().Perm()&0o004 == 0) || fi.Mode().Perm()&0o040 == 0 {
			t.Errorf("catalogue %s: uid %d gid %d mode %v; want the service user's, readable by group asterisk (%d)", f, s.Uid, s.Gid, fi.Mode(), astGID)
		}
	}

	// A message: Asterisk records it, the call service stores it, casework serves it.
	agent := h.newUserToken("话务员", domain.RoleAgent, "1019")
	const caller = "13800000141"
	vm := leaveVoicemail(t, h, caller)
	uri := fmt.Sprint(vm["uri"])
	t.Cleanup(func() { // the stack's own message store: leave nothing behind
		os.Remove(uri)
		os.Remove(strings.TrimSuffix(uri, filepath.Ext(uri)) + ".json")
	})
	fi, err := os.Stat(uri)
	if err != nil {
		t.Fatalf("stored message: %v", err)
	}
	if s := fi.Sys().(*syscall.Stat_t); int(s.Uid) != uid || fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("message %s: uid %d mode %v; want the service user's and nothing for others", uri, s.Uid, fi.Mode())
	}
	id := fmt.Sprint(vm["message_id"])
	eventually(t, 20*time.Second, "the message served by casework", func() bool {
		code, hdr, audio := h.caseworkAPI(agent, "GET", "/api/v1/voicemails/"+id+"/audio", nil)
		stored, _ := os.ReadFile(uri)
		return code == http.StatusOK && hdr.Get("Content-Type") == "audio/wav" && bytes.Equal(audio, stored)
	})
	// The call service's own files are its user's.
	spool, err := os.Stat(filepath.Join(own, "spool", "events"))
	if err != nil {
		t.Fatalf("event spool: %v", err)
	}
	if s := spool.Sys().(*syscall.Stat_t); int(s.Uid) != uid {
		t.Errorf("event spool owned by uid %d, want %d", s.Uid, uid)
	}
	t.Logf("message %s stored as %s (%v), served by casework", id, svcRunUser, fi.Mode())
}
