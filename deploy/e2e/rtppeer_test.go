package e2e

import (
	"encoding/binary"
	"math"
	"net"
	"sync"
	"testing"
	"time"
)

// rtpPeer is the caller's media end: it receives what the hotline plays (decoding
// G.711 to measure whether it is sound or silence) and sends RFC 4733 DTMF from the
// same socket, so Asterisk's symmetric RTP keeps talking to it.
type rtpPeer struct {
	t    testing.TB
	conn *net.UDPConn
	Addr string
	Port int

	mu      sync.Mutex
	remote  *net.UDPAddr
	packets int
	samples []int16
	ssrc    uint32
	seq     uint16
	ts      uint32
	done    chan struct{}
}

func newRTPPeer(t testing.TB, ip string) *rtpPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("rtp peer listen on %s: %v", ip, err)
	}
	p := &rtpPeer{t: t, conn: conn, Addr: ip, Port: conn.LocalAddr().(*net.UDPAddr).Port,
		ssrc: uint32(time.Now().UnixNano()), done: make(chan struct{})}
	go p.read()
	t.Cleanup(func() { conn.Close(); <-p.done })
	return p
}

func (p *rtpPeer) read() {
	defer close(p.done)
	buf := make([]byte, 2048)
	for {
		n, from, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 12 || buf[0]>>6 != 2 {
			continue
		}
		cc := int(buf[0] & 0x0f)
		off := 12 + 4*cc
		if buf[0]&0x10 != 0 && n >= off+4 { // header extension
			off += 4 + 4*int(binary.BigEndian.Uint16(buf[off+2:]))
		}
		if off > n {
			continue
		}
		pt := buf[1] & 0x7f
		p.mu.Lock()
		p.remote = from
		p.packets++
		for _, b := range buf[off:n] {
			switch pt {
			case 8:
				p.samples = append(p.samples, alaw2linear(b))
			case 0:
				p.samples = append(p.samples, ulaw2linear(b))
			}
		}
		p.mu.Unlock()
	}
}

// audioStats reports packets received, seconds of audio and how many of its 20 ms
// frames are above a silence threshold (about -45 dBFS).
func (p *rtpPeer) audioStats() (packets int, seconds float64, loudFrames int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	const frame = 160
	for i := 0; i+frame <= len(p.samples); i += frame {
		var sum float64
		for _, s := range p.samples[i : i+frame] {
			sum += float64(s) * float64(s)
		}
		if math.Sqrt(sum/frame) > 180 {
			loudFrames++
		}
	}
	return p.packets, float64(len(p.samples)) / 8000, loudFrames
}

// loudFrameCount is the number of non-silent 20 ms frames heard so far.
func (p *rtpPeer) loudFrameCount() int {
	_, _, loud := p.audioStats()
	return loud
}

// sendDTMF sends one RFC 4733 telephone-event (payload type 101) the way phones do:
// event packets every 20 ms for the duration, then three end packets.
func (p *rtpPeer) sendDTMF(digit rune, dur time.Duration) {
	p.t.Helper()
	code := map[rune]byte{'0': 0, '1': 1, '2': 2, '3': 3, '4': 4, '5': 5, '6': 6, '7': 7, '8': 8, '9': 9, '*': 10, '#': 11}[digit]
	p.mu.Lock()
	remote := p.remote
	p.ts += 8000
	ts := p.ts
	p.mu.Unlock()
	if remote == nil {
		p.t.Fatalf("sendDTMF: no RTP received yet, do not know where to send")
	}
	send := func(marker bool, end bool, durationTS uint16) {
		pkt := make([]byte, 16)
		pkt[0] = 0x80
		pkt[1] = 101
		if marker {
			pkt[1] |= 0x80
		}
		p.mu.Lock()
		p.seq++
		binary.BigEndian.PutUint16(pkt[2:], p.seq)
		p.mu.Unlock()
		binary.BigEndian.PutUint32(pkt[4:], ts)
		binary.BigEndian.PutUint32(pkt[8:], p.ssrc)
		pkt[12] = code
		pkt[13] = 10 // volume -10 dBm0
		if end {
			pkt[13] |= 0x80
		}
		binary.BigEndian.PutUint16(pkt[14:], durationTS)
		_, _ = p.conn.WriteToUDP(pkt, remote)
	}
	steps := int(dur / (20 * time.Millisecond))
	for i := 1; i <= steps; i++ {
		send(i == 1, false, uint16(i*160))
		time.Sleep(20 * time.Millisecond)
	}
	for range 3 {
		send(false, true, uint16(steps*160))
	}
	time.Sleep(60 * time.Millisecond)
}

// sendDigits keys a string of digits with realistic gaps.
func (p *rtpPeer) sendDigits(digits string) {
	for _, d := range digits {
		p.sendDTMF(d, 120*time.Millisecond)
		time.Sleep(80 * time.Millisecond)
	}
}

// sendFrame sends one 20 ms PCMA frame (160 samples) from the caller's side.
func (p *rtpPeer) sendFrame(samples []int16) {
	p.mu.Lock()
	remote := p.remote
	if remote == nil {
		p.mu.Unlock()
		return
	}
	p.seq++
	p.ts += 160
	pkt := make([]byte, 12, 12+len(samples))
	pkt[0], pkt[1] = 0x80, 8
	binary.BigEndian.PutUint16(pkt[2:], p.seq)
	binary.BigEndian.PutUint32(pkt[4:], p.ts)
	p.mu.Unlock()
	binary.BigEndian.PutUint32(pkt[8:], p.ssrc)
	for _, s := range samples {
		pkt = append(pkt, linear2alaw(s))
	}
	_, _ = p.conn.WriteToUDP(pkt, remote)
}

// linear2alaw is the ITU-T G.711 A-law encoder (13-bit magnitude, segment ends
// 0x1F..0xFFF), the inverse of alaw2linear within a quantization step.
func linear2alaw(pcm int16) byte {
	v := int(pcm) >> 3
	mask := 0xD5
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	seg := 0
	for end := 0x1F; seg < 8 && v > end; end = end<<1 | 1 {
		seg++
	}
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	a := seg << 4
	if seg < 2 {
		a |= (v >> 1) & 0x0F
	} else {
		a |= (v >> seg) & 0x0F
	}
	return byte(a ^ mask)
}

// G.711 decoders (ITU-T G.711), for measuring what the caller hears.
func alaw2linear(a byte) int16 {
	a ^= 0x55
	t := int16(a&0x0f) << 4
	seg := (a & 0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return t
	}
	return -t
}

func ulaw2linear(u byte) int16 {
	u = ^u
	t := (int16(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return 0x84 - t
	}
	return t - 0x84
}

// TestALawRoundTrip keeps the test peer's encoder honest: what it sends decodes to
// the same level within A-law's quantization (about 1/16 of the segment).
func TestALawRoundTrip(t *testing.T) {
	for _, x := range []int{0, 7, 31, 100, 255, 256, 1000, 4000, 6500, 12000, 20000, 32000} {
		for _, pcm := range []int16{int16(x), int16(-x)} {
			got := alaw2linear(linear2alaw(pcm))
			diff := math.Abs(float64(got) - float64(pcm))
			if diff > math.Max(16, math.Abs(float64(pcm))/16) {
				t.Errorf("alaw(%d) decodes to %d", pcm, got)
			}
		}
	}
}
