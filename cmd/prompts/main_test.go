package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotline12345/hotline/ivr/prompts"
)

func TestRunArguments(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantErr  string
		wantOut  string
		needTool bool
	}{
		{name: "list", args: []string{"-list"}, wantOut: "greeting                   您好，欢迎致电12345政务服务便民热线。"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "flag provided but not defined"},
		{name: "bad speed env", args: []string{"-list"}, env: map[string]string{"HOTLINE_TTS_SPEED": "fast"}, wantErr: "HOTLINE_TTS_SPEED"},
		{name: "render all", args: []string{"-dir", "DIR"}, wantOut: fmt.Sprintf("%d rendered, 0 unchanged, 0 failed", len(prompts.Table())), needTool: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needTool {
				if _, err := exec.LookPath("espeak-ng"); err != nil {
					t.Skip("espeak-ng not installed")
				}
			}
			t.Setenv("HOTLINE_TTS_SPEED", "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "DIR", dir)
			}
			var out bytes.Buffer
			err := run(context.Background(), args, &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out.String())
			}
		})
	}
}

func TestDefaultDir(t *testing.T) {
	tests := []struct{ sounds, data, want string }{
		{"", "", "/var/lib/hotline12345/sounds/hotline"},
		{"", "/srv/hl", "/srv/hl/sounds/hotline"},
		{"/x/sounds", "/srv/hl", "/x/sounds"},
	}
	for _, tt := range tests {
		t.Setenv("HOTLINE_SOUNDS_DIR", tt.sounds)
		t.Setenv("HOTLINE_DATA_DIR", tt.data)
		if got := defaultDir(); got != filepath.Clean(tt.want) {
			t.Errorf("defaultDir(%q, %q) = %q, want %q", tt.sounds, tt.data, got, tt.want)
		}
	}
}
