// Command prompts renders the hotline's Mandarin IVR prompts (the table in
// ivr/prompts/prompts.tsv) into the sounds directory Asterisk plays from.
// Prompts whose text and voice settings are unchanged are skipped.
//
//	go run ./cmd/prompts [-dir DIR] [-voice V] [-speed WPM] [-list]
//
// Environment: HOTLINE_SOUNDS_DIR (default $HOTLINE_DATA_DIR/sounds/hotline,
// HOTLINE_DATA_DIR defaulting to /var/lib/hotline12345), HOTLINE_TTS_VOICE,
// HOTLINE_TTS_SPEED. Flags override the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hotline12345/hotline/ivr/prompts"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "prompts:", err)
		os.Exit(1)
	}
}

func defaultDir() string {
	if d := os.Getenv("HOTLINE_SOUNDS_DIR"); d != "" {
		return d
	}
	data := os.Getenv("HOTLINE_DATA_DIR")
	if data == "" {
		data = "/var/lib/hotline12345"
	}
	return filepath.Join(data, "sounds", "hotline")
}

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", name, v, err)
	}
	return n, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	speed, err := envInt("HOTLINE_TTS_SPEED", prompts.DefaultSpeed)
	if err != nil {
		return err
	}
	voice := os.Getenv("HOTLINE_TTS_VOICE")
	if voice == "" {
		voice = prompts.DefaultVoice
	}
	fs := flag.NewFlagSet("prompts", flag.ContinueOnError)
	dir := fs.String("dir", defaultDir(), "sounds directory (Asterisk plays sound:<dir>/<id>)")
	fs.StringVar(&voice, "voice", voice, "espeak-ng voice")
	fs.IntVar(&speed, "speed", speed, "speaking rate in words per minute")
	list := fs.Bool("list", false, "print the prompt table and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	table := prompts.Table()
	if *list {
		for _, p := range table {
			fmt.Fprintf(out, "%-26s %s\n", p.ID, p.Text)
		}
		return nil
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return fmt.Errorf("sounds dir: %w", err)
	}
	r := &prompts.Renderer{Dir: abs, Voice: voice, Speed: speed}

	// espeak-ng and sox are single-threaded: one worker per CPU.
	type outcome struct {
		res  prompts.Result
		took time.Duration
		err  error
	}
	results := make([]outcome, len(table))
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	start := time.Now()
	for i, p := range table {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			res, err := r.Ensure(ctx, string(p.ID), p.Text)
			results[i] = outcome{res, time.Since(t0), err}
		}()
	}
	wg.Wait()

	var rendered, unchanged int
	var errs []error
	for i, p := range table {
		o := results[i]
		switch {
		case o.err != nil:
			errs = append(errs, o.err)
			fmt.Fprintf(out, "FAILED    %-26s %v\n", p.ID, o.err)
		case o.res.Rendered:
			rendered++
			fmt.Fprintf(out, "rendered  %-26s %s (%s)\n", p.ID, o.res.WAV(), describe(o.res.WAV(), o.took))
		default:
			unchanged++
			fmt.Fprintf(out, "unchanged %-26s %s\n", p.ID, o.res.WAV())
		}
	}
	fmt.Fprintf(out, "%d rendered, %d unchanged, %d failed in %s (%.1fs); play with sound:%s/<id>\n",
		rendered, unchanged, len(errs), abs, time.Since(start).Seconds(), abs)
	return errors.Join(errs...)
}

func describe(wav string, took time.Duration) string {
	info, err := prompts.ReadWAVInfo(wav)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%.1fs audio, %.1f dBFS RMS, took %dms", info.Duration().Seconds(), info.RMSdBFS(), took.Milliseconds())
}
