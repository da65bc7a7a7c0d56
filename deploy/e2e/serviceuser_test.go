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

// The services' users and the groups they share files through, as
// deploy/stack.sh service-user makes them (deploy/stack/serviceuser.sh).
const (
	callUser   = "hotline-call"
	caseUser   = "hotline-case"
	mediaGroup = "hotline-media"
	faxGroup   = "hotline-fax"
)

// asServiceUsers starts each service as deploy/run-services.sh does: umask
// 0027, then setpriv to its own unprivileged user with that user's groups, no
// capabilities and no way to gain any.
func asServiceUsers() option {
	as := func(name string) []string {
		return []string{"bash", "-c", `umask 0027 && exec "$@"`, "bash",
			"setpriv", "--reuid=" + name, "--regid=" + name, "--init-groups", "--no-new-privs", "--inh-caps=-all", "--"}
	}
	return func(h *hotline) {
		h.runAs = map[string][]string{"callsvc": as(callUser), "casework": as(caseUser)}
	}
}

// asUser runs a command as user (its own group and supplementary groups, as
// the services get them) and returns its combined output.
func asUser(user string, args ...string) (string, error) {
	out, err := exec.Command("setpriv", append([]string{"--reuid=" + user, "--regid=" + user, "--init-groups", "--"}, args...)...).CombinedOutput()
	return string(out), err
}

// userID and groupID look up a user's uid and a group's gid.
func userID(t *testing.T, name string) int {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.Atoi(u.Uid)
	return id
}

func groupID(t *testing.T, name string) int {
	t.Helper()
	g, err := user.LookupGroup(name)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.Atoi(g.Gid)
	return id
}

// procGroups is a process's supplementary groups (/proc/<pid>/status Groups).
func procGroups(t *testing.T, pid int) map[int]bool {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	groups := map[int]bool{}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "Groups:"); ok {
			for _, f := range strings.Fields(rest) {
				g, _ := strconv.Atoi(f)
				groups[g] = true
			}
		}
	}
	return groups
}

// TestServicesRunAsServiceUser (issue 14): each service runs as its own
// unprivileged user, as `make run` starts it, on the stack's real data
// directory layout (deploy/stack.sh service-user): neither is in Asterisk's
// group or the other's, neither reads the other's NATS password or Asterisk's
// configuration, and a call works end to end through the files they share
// with Asterisk and with each other: the prompts play, the fax catalogue is
// rendered for Asterisk, a voicemail is recorded by Asterisk, stored by the
// call service and served by casework.
func TestServicesRunAsServiceUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	// The stack's NATS password files, as stack.sh up makes them (made here
	// for the test when no make run made them, removed afterwards).
	secrets := filepath.Join(st.dataDir, "nats-hotline", "secrets")
	for _, f := range []string{"callsvc", "casework"} {
		path := filepath.Join(secrets, f+".password")
		if _, err := os.Stat(path); err == nil {
			continue
		}
		if err := os.MkdirAll(secrets, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(randomHex(24)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(path) })
	}
	if out, err := st.stackCmd("service-user"); err != nil {
		t.Fatalf("deploy/stack.sh service-user: %v\n%s", err, out)
	}
	uid := userID(t, callUser)
	gid, caseGID := groupID(t, callUser), groupID(t, caseUser)
	astGID, mediaGID, faxGID := groupID(t, "asterisk"), groupID(t, mediaGroup), groupID(t, faxGroup)
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
	h := startHotline(t, asServiceUsers(), withEnv("HOTLINE_SERVICE_MODE=closed",
		"HOTLINE_SPOOL_DIR="+filepath.Join(own, "spool", "events"),
		"HOTLINE_CALENDAR_CACHE="+filepath.Join(own, "calendar.json"),
		"HOTLINE_FAX_DOCS_DIR="+filepath.Join(st.repo, "ivr", "fax", "docs"),
		"HOTLINE_VOICEMAIL_DIR="+filepath.Join(st.dataDir, "voicemail")))

	for _, c := range []struct {
		p         *proc
		user      string
		want, not []int // supplementary groups it must and must not have
	}{
		{h.callsvc, callUser, []int{mediaGID, faxGID}, []int{astGID, caseGID}},
		{h.casework, caseUser, []int{faxGID}, []int{astGID, gid, mediaGID}},
	} {
		pid := c.p.cmd.Process.Pid
		out, err := exec.Command("ps", "-o", "user=", "-p", strconv.Itoa(pid)).Output()
		if err != nil || strings.TrimSpace(string(out)) != c.user {
			t.Errorf("%s runs as %q (%v), want %s", c.p.name, bytes.TrimSpace(out), err, c.user)
		}
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, want := range []string{"CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "NoNewPrivs:\t1"} {
			if !strings.Contains(string(status), want) {
				t.Errorf("%s: /proc status lacks %q", c.p.name, want)
			}
		}
		groups := procGroups(t, pid)
		for _, g := range c.want {
			if !groups[g] {
				t.Errorf("%s: groups %v lack %d", c.p.name, groups, g)
			}
		}
		for _, g := range c.not {
			if groups[g] {
				t.Errorf("%s: groups %v include %d (Asterisk's %d, %s %d, %s %d, %s %d)", c.p.name, groups, g,
					astGID, callUser, gid, caseUser, caseGID, mediaGroup, mediaGID)
			}
		}
		t.Logf("%s: pid %d, user %s, groups %v", c.p.name, pid, bytes.TrimSpace(out), groups)
	}

	// What neither may read: the other's NATS password, Asterisk's
	// configuration (agents' SIP passwords, ARI and AMI passwords), the demo's
	// tokens; what each needs, it reads.
	etc := filepath.Join(st.dataDir, "asterisk", st.instance, "etc")
	denied := map[string][]string{
		callUser: {filepath.Join(secrets, "casework.password"), filepath.Join(etc, "pjsip.conf"), filepath.Join(etc, "ari.conf"), filepath.Join(etc, "manager.conf")},
		caseUser: {filepath.Join(secrets, "callsvc.password"), filepath.Join(etc, "pjsip.conf"), filepath.Join(etc, "ari.conf"), filepath.Join(etc, "manager.conf")},
	}
	for u, files := range denied {
		for _, f := range files {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("%s: %v (the test expects the file)", f, err)
				continue
			}
			if out, err := asUser(u, "cat", f); err == nil || !strings.Contains(out, "Permission denied") {
				t.Errorf("%s reads %s: %v %.80q", u, f, err, out)
			}
		}
	}
	for u, f := range map[string]string{callUser: "callsvc", caseUser: "casework"} {
		if out, err := asUser(u, "cat", filepath.Join(secrets, f+".password")); err != nil {
			t.Errorf("%s cannot read its own NATS password: %v %s", u, err, out)
		}
	}
	// Asterisk's spool (the fallback's mailbox): the call service imports and
	// removes messages there, casework has nothing to do there.
	astSpool := filepath.Join(st.dataDir, "asterisk", st.instance, "spool")
	if out, err := asUser(callUser, "test", "-r", astSpool, "-a", "-w", astSpool, "-a", "-x", astSpool); err != nil {
		t.Errorf("%s cannot use Asterisk's spool %s: %v %s", callUser, astSpool, err, out)
	}
	if out, err := asUser(caseUser, "ls", astSpool); err == nil {
		t.Errorf("%s lists Asterisk's spool: %s", caseUser, out)
	}
	// Asterisk itself has the shared groups (asterisk.conf names no rungroup).
	if out, err := exec.Command("pgrep", "-u", "asterisk", "-f", filepath.Join(etc, "asterisk.conf")).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			pid, _ := strconv.Atoi(f)
			if groups := procGroups(t, pid); !groups[mediaGID] || !groups[faxGID] {
				t.Errorf("Asterisk (pid %d): groups %v lack %s %d or %s %d", pid, groups, mediaGroup, mediaGID, faxGroup, faxGID)
			}
		}
	} else {
		t.Errorf("Asterisk's process not found: %v", err)
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
		// The owner may be root too: the e2e data dir is shared by every
		// test of both shards, and the other tests run their call service as
		// root, which renders the same catalogue when it starts.
		if (int(s.Uid) != uid && s.Uid != 0) || (int(s.Gid) != mediaGID && fi.Mode().Perm()&0o004 == 0) || fi.Mode().Perm()&0o040 == 0 {
			t.Errorf("catalogue %s: uid %d gid %d mode %v; want the call service's, readable by group %s (%d)", f, s.Uid, s.Gid, fi.Mode(), mediaGroup, mediaGID)
		}
		if out, err := asUser("asterisk", "cat", f); err != nil {
			t.Errorf("Asterisk's user cannot read %s: %v %.80q", f, err, out)
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
	if s := fi.Sys().(*syscall.Stat_t); int(s.Uid) != uid || int(s.Gid) != caseGID || fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("message %s: uid %d gid %d mode %v; want the call service's, group %s, nothing for others", uri, s.Uid, s.Gid, fi.Mode(), caseUser)
	}
	// Casework reads it, Asterisk does not.
	if out, err := asUser("asterisk", "cat", uri); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("Asterisk's user reads the stored message: %v", err)
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
	t.Logf("message %s stored as %s (%v), served by casework as %s", id, callUser, fi.Mode(), caseUser)
}
