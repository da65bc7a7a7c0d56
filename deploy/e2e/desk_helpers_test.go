package e2e

// Helpers of the agent desktop tests (issue 12): a real Chromium driven with
// chromedp, fake media (a WAV file as the microphone), screenshots as test
// artifacts, and agents created the way people are told to (hotlinectl).

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// deskPassword is the test agents' sign-in password.
const deskPassword = "desk-e2e-Passw0rd"

// addDeskAgent creates an agent with a password in one hotlinectl command, as
// the README tells an administrator to.
func (h *hotline) addDeskAgent(t *testing.T, staff, name string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(st.binDir, "hotlinectl"), "user", "add", "--name", name, "--role", "agent",
		"--staff", staff, "--password-stdin")
	cmd.Env = append(os.Environ(), "HOTLINE_DATABASE_URL="+h.dbURL)
	cmd.Stdin = strings.NewReader(deskPassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hotlinectl user add: %v\n%s", err, out)
	}
}

// browser is one Chromium with its own profile.
type browser struct {
	t   *testing.T
	ctx context.Context
	art string // artifacts directory
}

// micWAV writes a WAV that Chromium uses as the microphone: bursts of a tone
// at freq, so the other parties can tell the agent's voice from prompts. Bursts
// with pauses of varying length, like speech: the browser's noise suppression
// learns a steady tone as noise within seconds and removes it.
func micWAV(t *testing.T, freq float64) string {
	const rate = 48000
	n := rate * 6
	var pcm bytes.Buffer
	for i := 0; i < n; i++ {
		ms := i * 1000 / rate
		on := ms%700 < 400 && ms%2300 < 1900
		var v int16
		if on {
			v = int16(9000 * math.Sin(2*math.Pi*freq*float64(i)/rate))
		}
		_ = binary.Write(&pcm, binary.LittleEndian, v)
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+pcm.Len()))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(rate * 2), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v) // PCM, mono, 16-bit
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(pcm.Len()))
	b.Write(pcm.Bytes())
	p := filepath.Join(t.TempDir(), "mic.wav")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// newBrowser starts a headless Chromium at 1366×768 with fake media devices
// (permission prompts answered yes) and the microphone playing mic.
func newBrowser(t *testing.T, mic string) *browser { return newBrowserMic(t, mic, true) }

// newBrowserMic is newBrowser with the microphone permission granted or denied.
func newBrowserMic(t *testing.T, mic string, allow bool) *browser {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not installed (deploy/stack.sh install puts it there): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // tests run as root
		chromedp.WindowSize(1366, 768),
		chromedp.Flag("use-fake-ui-for-media-stream", allow),
		chromedp.Flag("deny-permission-prompts", !allow),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// Host candidates as addresses, not mDNS names Asterisk cannot resolve.
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
	)
	if mic != "" {
		opts = append(opts, chromedp.Flag("use-file-for-fake-audio-capture", mic))
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// The page's console in the test log: what the softphone said is how a
	// failed run is debugged.
	msgs := chromedp.Console(ctx)
	var mu sync.Mutex
	ended := false
	t.Cleanup(func() { mu.Lock(); ended = true; mu.Unlock() }) // runs before the browser's cleanup
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			mu.Lock()
			if !ended {
				t.Logf("page console %s: %s", m.Type, m.Text)
			}
			mu.Unlock()
		}
	}()
	art := filepath.Join(st.repo, "deploy/e2e/artifacts", t.Name())
	_ = os.MkdirAll(art, 0o755)
	return &browser{t: t, ctx: ctx, art: art}
}

// run runs chromedp actions with a bound.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed")
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates JavaScript (awaiting a promise).
func eval[T any](b *browser, js string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// waitJS polls a JavaScript condition until it is true.
func (b *browser) waitJS(timeout time.Duration, what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = eval[bool](b, js); last == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.shot("timeout")
	b.t.Fatalf("timed out after %s waiting for %s (%s; last error %v)", timeout, what, js, last)
}

func (b *browser) text(id string) string {
	s, _ := eval[string](b, fmt.Sprintf(`document.getElementById(%q).textContent`, id))
	return s
}

// shot saves a screenshot of the page in the test's artifacts and, with
// E2E_DOCS_SCREENSHOTS=1, as docs/screenshots/desk-<name>.png for the README.
func (b *browser) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(b.art, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.t.Logf("screenshot %s (%d KB)", p, len(png)/1024)
	if os.Getenv("E2E_DOCS_SCREENSHOTS") == "1" && name != "failed" && name != "timeout" {
		file := "desk-" + name + ".png"
		if strings.HasPrefix(name, "portal-") || strings.HasPrefix(name, "supervise-") { // the portal and supervisor page have their own names
			file = name + ".png"
		}
		_ = os.WriteFile(filepath.Join(st.repo, "docs/screenshots", file), png, 0o644)
	}
}

// signIn fills the sign-in form and waits for the desk.
func (b *browser) signIn(baseURL, login, password, phone string) {
	b.t.Helper()
	b.run("open the desktop", chromedp.Navigate(baseURL+"/desk/"), chromedp.WaitVisible(chromedp.CSS("#signin-login")))
	b.run("sign in",
		chromedp.SetValue(chromedp.CSS("#signin-login"), login),
		chromedp.SetValue(chromedp.CSS("#signin-password"), password),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name=phone][value=%s]`, phone))),
		chromedp.Click(chromedp.CSS("#signin-submit")))
}

// pageWeight fetches a page's files as served (gzip) and sums what comes over
// the wire.
func pageWeight(t *testing.T, url string, paths ...string) (files int, bytesOnWire int64) {
	t.Helper()
	for _, p := range paths {
		req, _ := http.NewRequest("GET", url+p, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", p, resp.Status)
		}
		files++
		bytesOnWire += int64(buf.Len())
	}
	return files, bytesOnWire
}
