package prompts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// WAVInfo describes a PCM WAV file and its loudness.
type WAVInfo struct {
	Format        int // 1 = PCM (the only format Asterisk's format_wav plays)
	SampleRate    int
	Channels      int
	BitsPerSample int
	Frames        int     // samples per channel
	Peak          int     // largest absolute sample value (16-bit: 0..32768)
	RMS           float64 // root mean square of all samples
}

// Duration is the playing time.
func (w WAVInfo) Duration() time.Duration {
	if w.SampleRate == 0 {
		return 0
	}
	return time.Duration(w.Frames) * time.Second / time.Duration(w.SampleRate)
}

// RMSdBFS is the RMS level relative to full scale of 16-bit audio (-inf for
// digital silence).
func (w WAVInfo) RMSdBFS() float64 { return 20 * math.Log10(w.RMS/32768) }

// ReadWAVInfo parses the RIFF header of a 16-bit PCM WAV file and measures
// its samples.
func ReadWAVInfo(path string) (WAVInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return WAVInfo{}, fmt.Errorf("read wav: %w", err)
	}
	defer f.Close()
	info, err := parseWAV(f)
	if err != nil {
		return WAVInfo{}, fmt.Errorf("read wav %s: %w", path, err)
	}
	return info, nil
}

func parseWAV(r io.Reader) (WAVInfo, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return WAVInfo{}, fmt.Errorf("RIFF header: %w", err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return WAVInfo{}, errors.New("not a RIFF/WAVE file")
	}
	var (
		info   WAVInfo
		gotFmt bool
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return WAVInfo{}, fmt.Errorf("no data chunk: %w", err)
		}
		id, size := string(ch[0:4]), binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if size < 16 {
				return WAVInfo{}, fmt.Errorf("fmt chunk too short (%d bytes)", size)
			}
			buf := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, buf); err != nil {
				return WAVInfo{}, fmt.Errorf("fmt chunk: %w", err)
			}
			info.Format = int(binary.LittleEndian.Uint16(buf[0:2]))
			info.Channels = int(binary.LittleEndian.Uint16(buf[2:4]))
			info.SampleRate = int(binary.LittleEndian.Uint32(buf[4:8]))
			info.BitsPerSample = int(binary.LittleEndian.Uint16(buf[14:16]))
			gotFmt = true
		case "data":
			if !gotFmt {
				return WAVInfo{}, errors.New("data chunk before fmt chunk")
			}
			if info.BitsPerSample != 16 || info.Channels < 1 {
				return WAVInfo{}, fmt.Errorf("want 16-bit samples, got %d-bit, %d channels", info.BitsPerSample, info.Channels)
			}
			return measure16(r, size, info)
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size+size%2)); err != nil {
				return WAVInfo{}, fmt.Errorf("skip %q chunk: %w", id, err)
			}
		}
	}
}

func measure16(r io.Reader, size uint32, info WAVInfo) (WAVInfo, error) {
	data := make([]byte, size)
	n, err := io.ReadFull(r, data)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return WAVInfo{}, fmt.Errorf("data chunk: %w", err)
	}
	if n < int(size) {
		return WAVInfo{}, fmt.Errorf("data chunk truncated: %d of %d bytes", n, size)
	}
	samples := len(data) / 2
	var sum float64
	for i := 0; i < samples; i++ {
		v := int(int16(binary.LittleEndian.Uint16(data[2*i:])))
		if v < 0 {
			v = -v
		}
		if v > info.Peak {
			info.Peak = v
		}
		sum += float64(v) * float64(v)
	}
	if samples > 0 {
		info.RMS = math.Sqrt(sum / float64(samples))
	}
	info.Frames = samples / info.Channels
	return info, nil
}
