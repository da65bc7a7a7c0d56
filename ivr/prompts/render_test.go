package prompts

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run the real espeak-ng and sox (deploy/stack.sh install puts
// them on the machine).
func requireTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (run deploy/stack.sh install): %v", tool, err)
		}
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

type fileID struct {
	ino   uint64
	mtime time.Time
}

func statFile(t *testing.T, path string) fileID {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileID{ino: fi.Sys().(*syscall.Stat_t).Ino, mtime: fi.ModTime()}
}

func TestRenderPrompt(t *testing.T) {
	requireTools(t)
	ctx := testContext(t)
	r := &Renderer{Dir: t.TempDir()}
	text, _ := Text(Greeting)

	res, err := r.Ensure(ctx, string(Greeting), text)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(r.Dir, "greeting"); res.Path != want || !res.Rendered {
		t.Fatalf("Ensure = %+v, want path %s rendered", res, want)
	}
	if got, want := SoundURI(res.Path), "sound:"+r.Dir+"/greeting"; got != want {
		t.Errorf("SoundURI = %q, want %q", got, want)
	}
	info, err := ReadWAVInfo(res.WAV())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("greeting: %v, %d Hz, %d ch, peak %d, RMS %.1f dBFS", info.Duration(), info.SampleRate, info.Channels, info.Peak, info.RMSdBFS())
	if info.Format != 1 || info.SampleRate != 8000 || info.Channels != 1 || info.BitsPerSample != 16 {
		t.Errorf("format = %+v, want PCM 8000 Hz mono 16 bit", info)
	}
	// 20 syllables of Mandarin take a few seconds; a very short file means
	// espeak read something else (e.g. skipped the 汉字).
	if d := info.Duration(); d < 2*time.Second || d > 20*time.Second {
		t.Errorf("duration %v outside 2s..20s", d)
	}
	if info.RMSdBFS() < -35 || info.Peak < 10000 {
		t.Errorf("too quiet: RMS %.1f dBFS, peak %d", info.RMSdBFS(), info.Peak)
	}
	// Independent check with sox's own reader: 8 kHz, mono.
	for flag, want := range map[string]string{"-r": "8000", "-c": "1", "-b": "16"} {
		out, err := exec.Command("soxi", flag, res.WAV()).CombinedOutput()
		if err != nil {
			t.Fatalf("soxi %s: %v: %s", flag, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("soxi %s = %q, want %q", flag, got, want)
		}
	}

	// Unchanged text: nothing is rewritten.
	before := statFile(t, res.WAV())
	res2, err := r.Ensure(ctx, string(Greeting), text)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Rendered || res2.Path != res.Path {
		t.Errorf("second Ensure = %+v, want unchanged %s", res2, res.Path)
	}
	if after := statFile(t, res.WAV()); after != before {
		t.Errorf("file rewritten: %+v -> %+v", before, after)
	}

	// Changed text or voice settings: rendered again.
	tests := []struct {
		name string
		r    *Renderer
		text string
	}{
		{"text changed", r, text + "再见。"},
		{"speed changed", &Renderer{Dir: r.Dir, Speed: 120}, text},
	}
	for _, tt := range tests {
		res3, err := tt.r.Ensure(ctx, string(Greeting), tt.text)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !res3.Rendered {
			t.Errorf("%s: not rendered again", tt.name)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(r.Dir, ".render-*")); len(leftovers) > 0 {
		t.Errorf("temp dirs left behind: %v", leftovers)
	}
}

func TestRenderText(t *testing.T) {
	requireTools(t)
	ctx := testContext(t)
	r := &Renderer{Dir: t.TempDir()}
	text := "您的案件编号20240506001，已由市住房和城乡建设局办理，" + Digits("1001") + "号话务员为您服务。"

	// Concurrent callers asking for the same text get the same file.
	var (
		wg    sync.WaitGroup
		paths [4]string
		errs  [4]error
	)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], errs[i] = r.RenderText(ctx, text)
		}()
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if paths[i] != paths[0] {
			t.Fatalf("paths differ: %v", paths)
		}
	}
	if dir := filepath.Dir(paths[0]); dir != filepath.Join(r.Dir, DynamicSubdir) {
		t.Errorf("dynamic prompt in %s, want %s/%s", dir, r.Dir, DynamicSubdir)
	}
	if err := checkRendered(paths[0] + ".wav"); err != nil {
		t.Error(err)
	}
	other, err := r.RenderText(ctx, "您的案件已办结。")
	if err != nil {
		t.Fatal(err)
	}
	if other == paths[0] {
		t.Error("different texts share a file")
	}
}

func TestRenderErrors(t *testing.T) {
	requireTools(t)
	ctx := testContext(t)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		r       *Renderer
		ctx     context.Context
		id      string
		text    string
		wantErr string
	}{
		{"invalid id", &Renderer{Dir: dir}, ctx, "../etc/passwd", "你好", "invalid id"},
		{"no dir", &Renderer{}, ctx, "x", "你好", "Dir is empty"},
		{"empty text", &Renderer{Dir: dir}, ctx, "x", "  ", "empty text"},
		{"unknown voice", &Renderer{Dir: dir, Voice: "nosuchvoice"}, ctx, "x", "你好", "voice does not exist"},
		{"missing sox", &Renderer{Dir: dir, Sox: "/nonexistent/sox"}, ctx, "x", "你好", "sox"},
		{"cancelled", &Renderer{Dir: dir}, cancelled, "x", "你好", "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.r.Render(tt.ctx, tt.id, tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x.wav")); !os.IsNotExist(err) {
		t.Errorf("failed renders left x.wav behind (stat: %v)", err)
	}
}

// espeak-ng falls back to English for anything its Mandarin rules can't read
// (and with the plain "cmn" voice of espeak-ng 1.51 even reads tone digits in
// English). Its phoneme output marks such stretches with "(en)": no prompt
// may contain one.
func TestPromptsAreMandarin(t *testing.T) {
	requireTools(t)
	ctx := testContext(t)
	for _, p := range Table() {
		out, err := exec.CommandContext(ctx, "espeak-ng", "-q", "-x", "-v", DefaultVoice, SpeechText(p.Text)).CombinedOutput()
		if err != nil {
			t.Fatalf("espeak-ng -x %s: %v: %s", p.ID, err, out)
		}
		if strings.Contains(string(out), "(en)") {
			t.Errorf("prompt %s is partly read as English: %s", p.ID, strings.TrimSpace(string(out)))
		}
	}
}
