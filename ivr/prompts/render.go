package prompts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of a Renderer.
const (
	// DefaultVoice is espeak-ng's Mandarin voice in its pinyin variant.
	// espeak-ng 1.51 (Debian 12) maps every 汉字 to pinyin with a tone digit
	// and, with plain "cmn", then reads that digit in English ("nin two");
	// "cmn-latn-pinyin" is the same Mandarin voice but reads the pinyin as
	// pinyin, so the tones come out right. Newer espeak-ng handles both.
	DefaultVoice = "cmn-latn-pinyin"
	// DefaultSpeed in espeak "words" per minute; for Mandarin a word is a
	// syllable, and 175 gives about 3.2 syllables/s: a calm IVR pace that
	// stays clear over an 8 kHz line (150 dragged, 200+ slurs).
	DefaultSpeed = 175
	// DefaultPitch is espeak-ng's default (0-99).
	DefaultPitch = 50

	// SampleRate of rendered files: narrowband telephony, what G.711 carries.
	SampleRate = 8000

	// DynamicSubdir holds texts rendered at run time (RenderText).
	DynamicSubdir = "tts"

	// renderVersion changes when the audio pipeline below changes, so that
	// all prompts are rendered again.
	renderVersion = "v1 sox:rate-h,gain-n-3,pad-0.15-0.25"

	// minRMS rejects silent output (about -50 dBFS); espeak speech sits
	// around -20 dBFS after normalisation.
	minRMS = 100
	// minDuration rejects output too short to be speech.
	minDuration = 300 * time.Millisecond
)

// Renderer renders texts to 8 kHz mono 16-bit WAV files in Dir with
// espeak-ng and sox. The zero value of every field but Dir is a sensible
// default. A Renderer is safe for concurrent use and must not be copied
// after first use.
type Renderer struct {
	Dir    string // where <id>.wav and <id>.stamp go; created if missing
	Voice  string // espeak-ng voice, default DefaultVoice
	Speed  int    // words per minute, default DefaultSpeed
	Pitch  int    // 0-99, default DefaultPitch
	Espeak string // espeak-ng binary, default "espeak-ng" from PATH
	Sox    string // sox binary, default "sox" from PATH

	locks [64]sync.Mutex // striped by output file, serialises renders of the same file
}

// Result tells what Ensure did.
type Result struct {
	Path     string // file path without extension, as Asterisk wants it
	Rendered bool   // false: the existing file was up to date
}

// WAV is the path of the rendered file.
func (r Result) WAV() string { return r.Path + ".wav" }

// SoundURI is the ARI media URI of a rendered file ("sound:" + path without
// extension), e.g. sound:/var/lib/hotline12345/sounds/hotline/greeting.
func SoundURI(path string) string { return "sound:" + path }

// Render makes sure Dir/<id>.wav says text and returns its path without
// extension (Dir/<id>). It renders only when the text or the voice settings
// changed since the last render.
func (r *Renderer) Render(ctx context.Context, id, text string) (string, error) {
	res, err := r.Ensure(ctx, id, text)
	return res.Path, err
}

// Ensure is Render that also reports whether the file was (re)rendered.
func (r *Renderer) Ensure(ctx context.Context, id, text string) (Result, error) {
	if !ValidID(id) {
		return Result{}, fmt.Errorf("render prompt: invalid id %q", id)
	}
	if r.Dir == "" {
		return Result{}, errors.New("render prompt: Renderer.Dir is empty")
	}
	res, err := r.ensure(ctx, filepath.Join(r.Dir, id), text)
	if err != nil {
		return Result{}, fmt.Errorf("render prompt %s: %w", id, err)
	}
	return res, nil
}

// RenderText renders dynamic text (e.g. a spoken case status) into
// Dir/tts/<hash> and returns that path without extension. The name is a hash
// of the text and the voice settings, so the same text is rendered once and
// then served from the file.
func (r *Renderer) RenderText(ctx context.Context, text string) (string, error) {
	if r.Dir == "" {
		return "", errors.New("render text: Renderer.Dir is empty")
	}
	key := r.key(SpeechText(text))
	res, err := r.ensure(ctx, filepath.Join(r.Dir, DynamicSubdir, key[:24]), text)
	if err != nil {
		return "", fmt.Errorf("render text %q: %w", abbreviate(text), err)
	}
	return res.Path, nil
}

func (r *Renderer) voice() string {
	if r.Voice != "" {
		return r.Voice
	}
	return DefaultVoice
}

func (r *Renderer) speed() int {
	if r.Speed > 0 {
		return r.Speed
	}
	return DefaultSpeed
}

func (r *Renderer) pitch() int {
	if r.Pitch > 0 {
		return r.Pitch
	}
	return DefaultPitch
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// key identifies the audio a text produces: text + every setting.
func (r *Renderer) key(speech string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%s", renderVersion, r.voice(), r.speed(), r.pitch(), speech)
	return hex.EncodeToString(h.Sum(nil))
}

func (r *Renderer) lock(base string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(base))
	return &r.locks[h.Sum32()%uint32(len(r.locks))]
}

// ensure renders text to base+".wav" unless base+".stamp" says it is current.
func (r *Renderer) ensure(ctx context.Context, base, text string) (Result, error) {
	speech := SpeechText(text)
	if speech == "" {
		return Result{}, errors.New("empty text")
	}
	key := r.key(speech)
	wav, stamp := base+".wav", base+".stamp"

	mu := r.lock(base)
	mu.Lock()
	defer mu.Unlock()

	if upToDate(wav, stamp, key) {
		return Result{Path: base}, nil
	}
	dir := filepath.Dir(base)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, fmt.Errorf("create sounds dir: %w", err)
	}
	// Work in a temp dir next to the target, then rename: a concurrent
	// Playback never sees a half-written file, and rename stays on one
	// file system.
	tmp, err := os.MkdirTemp(dir, ".render-")
	if err != nil {
		return Result{}, fmt.Errorf("create temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)

	raw, out := filepath.Join(tmp, "espeak.wav"), filepath.Join(tmp, "out.wav")
	if err := r.run(ctx, strings.NewReader(speech), orDefault(r.Espeak, "espeak-ng"),
		"-v", r.voice(), "-s", strconv.Itoa(r.speed()), "-p", strconv.Itoa(r.pitch()),
		"-w", raw, "--stdin"); err != nil {
		return Result{}, err
	}
	// 8 kHz mono signed 16-bit PCM WAV (format 1, which format_wav plays);
	// high-quality resampling, normalised to -3 dBFS peak, short leading pad
	// so the first syllable survives RTP start-up, trailing pad before the
	// next prompt or the beep.
	if err := r.run(ctx, nil, orDefault(r.Sox, "sox"), raw,
		"-r", strconv.Itoa(SampleRate), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "wav", out,
		"rate", "-h", strconv.Itoa(SampleRate), "gain", "-n", "-3", "pad", "0.15", "0.25"); err != nil {
		return Result{}, err
	}
	if err := checkRendered(out); err != nil {
		return Result{}, err
	}
	if err := os.Chmod(out, 0o644); err != nil {
		return Result{}, fmt.Errorf("chmod: %w", err)
	}
	if err := os.Rename(out, wav); err != nil {
		return Result{}, fmt.Errorf("install %s: %w", wav, err)
	}
	st := filepath.Join(tmp, "stamp")
	if err := os.WriteFile(st, []byte(key+"\n"+text+"\n"), 0o644); err != nil {
		return Result{}, fmt.Errorf("write stamp: %w", err)
	}
	if err := os.Rename(st, stamp); err != nil {
		return Result{}, fmt.Errorf("install stamp %s: %w", stamp, err)
	}
	return Result{Path: base, Rendered: true}, nil
}

func upToDate(wav, stamp, key string) bool {
	if _, err := os.Stat(wav); err != nil {
		return false
	}
	b, err := os.ReadFile(stamp)
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return first == key
}

// checkRendered refuses anything a caller would hear as silence or that
// Asterisk would not play.
func checkRendered(path string) error {
	info, err := ReadWAVInfo(path)
	if err != nil {
		return err
	}
	switch {
	case info.Format != 1 || info.SampleRate != SampleRate || info.Channels != 1 || info.BitsPerSample != 16:
		return fmt.Errorf("sox produced format %d, %d Hz, %d channels, %d bit; want PCM %d Hz mono 16 bit",
			info.Format, info.SampleRate, info.Channels, info.BitsPerSample, SampleRate)
	case info.Duration() < minDuration:
		return fmt.Errorf("rendered audio is only %v long", info.Duration())
	case info.RMS < minRMS:
		return fmt.Errorf("rendered audio is silent (RMS %.0f, %.1f dBFS)", info.RMS, info.RMSdBFS())
	}
	return nil
}

// run executes a tool; failures carry the tool's stderr.
func (r *Renderer) run(ctx context.Context, stdin *strings.Reader, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s: %w", filepath.Base(name), ctxErr)
		}
		return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func abbreviate(s string) string {
	const max = 24
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}
