package prompts

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"
)

// makeWAV builds a 16-bit PCM WAV; extra chunks go between fmt and data.
func makeWAV(format, rate, channels int, samples []int16, extra ...string) []byte {
	var data bytes.Buffer
	for _, s := range samples {
		binary.Write(&data, binary.LittleEndian, s)
	}
	var body bytes.Buffer
	body.WriteString("WAVE")
	body.WriteString("fmt ")
	binary.Write(&body, binary.LittleEndian, uint32(16))
	binary.Write(&body, binary.LittleEndian, uint16(format))
	binary.Write(&body, binary.LittleEndian, uint16(channels))
	binary.Write(&body, binary.LittleEndian, uint32(rate))
	binary.Write(&body, binary.LittleEndian, uint32(rate*channels*2))
	binary.Write(&body, binary.LittleEndian, uint16(channels*2))
	binary.Write(&body, binary.LittleEndian, uint16(16))
	for _, e := range extra {
		body.WriteString(e[:4])
		binary.Write(&body, binary.LittleEndian, uint32(len(e)-4))
		body.WriteString(e[4:])
		if (len(e)-4)%2 == 1 {
			body.WriteByte(0)
		}
	}
	body.WriteString("data")
	binary.Write(&body, binary.LittleEndian, uint32(data.Len()))
	body.Write(data.Bytes())
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(body.Len()))
	out.Write(body.Bytes())
	return out.Bytes()
}

func sine(n int, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(amp * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return s
}

func TestParseWAV(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		wantErr  string
		rate     int
		frames   int
		loud     bool
		duration time.Duration
	}{
		{name: "tone", in: makeWAV(1, 8000, 1, sine(8000, 10000)), rate: 8000, frames: 8000, loud: true, duration: time.Second},
		{name: "silence", in: makeWAV(1, 8000, 1, make([]int16, 4000)), rate: 8000, frames: 4000, duration: 500 * time.Millisecond},
		{name: "odd LIST chunk skipped", in: makeWAV(1, 8000, 1, sine(800, 10000), "LISTabc"), rate: 8000, frames: 800, loud: true, duration: 100 * time.Millisecond},
		{name: "stereo frames", in: makeWAV(1, 16000, 2, sine(3200, 10000)), rate: 16000, frames: 1600, loud: true, duration: 100 * time.Millisecond},
		{name: "not riff", in: []byte("OggS0000000000000000"), wantErr: "not a RIFF"},
		{name: "short", in: []byte("RIFF"), wantErr: "RIFF header"},
		{name: "truncated data", in: makeWAV(1, 8000, 1, sine(100, 1))[:60], wantErr: "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := parseWAV(bytes.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.SampleRate != tt.rate || info.Frames != tt.frames || info.Duration() != tt.duration {
				t.Errorf("got %+v (%v), want rate %d frames %d (%v)", info, info.Duration(), tt.rate, tt.frames, tt.duration)
			}
			if loud := info.RMS >= minRMS; loud != tt.loud {
				t.Errorf("RMS %.1f: loud = %v, want %v", info.RMS, loud, tt.loud)
			}
		})
	}
}
