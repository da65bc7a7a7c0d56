package ivr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// audioLevel is what a recorded message contains: its length and how much of
// it is above the silence threshold.
type audioLevel struct {
	Duration time.Duration
	Voiced   time.Duration
}

// voicedRMS is the 20 ms frame RMS (16-bit) above which a frame counts as
// sound: about -45 dBFS, well above a quiet line's comfort noise and well
// below speech (-20 to -30 dBFS).
const voicedRMS = 180

// measureWAV reads a 16-bit mono PCM WAV (what Asterisk writes for format
// "wav") and measures its voiced time. Asterisk decides when a recording ends
// by its own silence detector; whether a message holds anything at all is
// decided here, on the stored audio, so that the rule does not depend on DSP
// settings.
func measureWAV(r io.Reader) (audioLevel, error) {
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return audioLevel{}, fmt.Errorf("wav header: %w", err)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return audioLevel{}, errors.New("not a RIFF/WAVE file")
	}
	rate, bits := 0, 0
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return audioLevel{}, fmt.Errorf("wav: no data chunk: %w", err)
		}
		size := binary.LittleEndian.Uint32(hdr[4:])
		switch string(hdr[0:4]) {
		case "fmt ":
			buf := make([]byte, size)
			if _, err := io.ReadFull(r, buf); err != nil || size < 16 {
				return audioLevel{}, fmt.Errorf("wav fmt chunk: %v", err)
			}
			if binary.LittleEndian.Uint16(buf[0:]) != 1 || binary.LittleEndian.Uint16(buf[2:]) != 1 {
				return audioLevel{}, errors.New("wav: want mono PCM")
			}
			rate = int(binary.LittleEndian.Uint32(buf[4:]))
			bits = int(binary.LittleEndian.Uint16(buf[14:]))
		case "data":
			if bits != 16 || rate <= 0 {
				return audioLevel{}, fmt.Errorf("wav: want 16-bit PCM before data, got %d bits at %d Hz", bits, rate)
			}
			// The size in the header may be stale when the writer was cut off;
			// read what is there.
			return measurePCM16(r, rate)
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size+size%2)); err != nil {
				return audioLevel{}, fmt.Errorf("wav chunk %q: %w", hdr[0:4], err)
			}
		}
	}
}

func measurePCM16(r io.Reader, rate int) (audioLevel, error) {
	frame := rate / 50 // 20 ms
	buf := make([]byte, 2*frame)
	var frames, voiced int
	for {
		n, err := io.ReadFull(r, buf)
		if n >= 2 {
			var sum float64
			k := n / 2
			for i := range k {
				v := float64(int16(binary.LittleEndian.Uint16(buf[2*i:])))
				sum += v * v
			}
			frames++
			if math.Sqrt(sum/float64(k)) > voicedRMS {
				voiced++
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return audioLevel{}, fmt.Errorf("wav data: %w", err)
		}
	}
	return audioLevel{Duration: time.Duration(frames) * 20 * time.Millisecond,
		Voiced: time.Duration(voiced) * 20 * time.Millisecond}, nil
}
