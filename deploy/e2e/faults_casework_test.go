package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hotline12345/hotline/casework/event"
)

// Faults of the casework side: a crash of the service under load and a cut
// of its database. The call side's faults are in recovery_test.go.

// loadEvents publishes n call.started events for callPrefix at rate per
// second to the test's stream, as the call service would (Nats-Msg-Id = event
// ID), and reports how many the broker acknowledged.
func loadEvents(t *testing.T, h *hotline, callPrefix string, n int, rate int) <-chan int {
	t.Helper()
	nc := natsAs(t, h.bus.URL, serviceUser("callsvc"))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		defer nc.Close()
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		acked := 0
		for i := range n {
			<-tick.C
			env, err := event.New(event.CallStarted, "fault-test", fmt.Sprintf("%s-%04d", callPrefix, i),
				event.CallStartedPayload{Caller: "13800138000", Called: "12345", Direction: "inbound"})
			if err != nil {
				continue
			}
			data, _ := json.Marshal(env)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err = js.PublishMsg(ctx, &nats.Msg{Subject: event.Subject(h.bus.SubjectRoot, event.CallStarted), Data: data},
				jetstream.WithMsgID(env.ID))
			cancel()
			if err == nil {
				acked++
			}
		}
		done <- acked
	}()
	return done
}

// storedCalls counts the events and calls rows of callPrefix in PostgreSQL.
func storedCalls(t *testing.T, h *hotline, callPrefix string) (events, calls int) {
	t.Helper()
	ctx := context.Background()
	_ = h.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE call_id LIKE $1`, callPrefix+"-%").Scan(&events)
	_ = h.pool.QueryRow(ctx, `SELECT count(*) FROM calls WHERE call_id LIKE $1`, callPrefix+"-%").Scan(&calls)
	return events, calls
}

// TestCaseworkKill9UnderLoadLosesNothing: kill -9 of the casework service
// while 100 events a second arrive; a new process stores every event once
// (acknowledged only after commit; the event ID is the key).
func TestCaseworkKill9UnderLoadLosesNothing(t *testing.T) {
	h := startHotline(t, withoutCallService())
	const n = 600
	acked := loadEvents(t, h, "kill", n, 100)
	time.Sleep(2 * time.Second)
	if err := h.casework.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-h.casework.done:
		h.casework.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("casework did not die")
	}
	killedAt := time.Now()
	time.Sleep(time.Second)
	h.casework = h.start("casework", "http://"+h.caseHTTP+"/readyz")
	if got := <-acked; got != n {
		t.Fatalf("the broker acknowledged %d of %d events", got, n)
	}
	eventually(t, 90*time.Second, "every event stored after the crash", func() bool {
		e, c := storedCalls(t, h, "kill")
		return e == n && c == n
	})
	e, c := storedCalls(t, h, "kill")
	t.Logf("kill -9 under 100 events/s: %d published, %d events and %d calls stored (no loss, no duplicate), all in %v after the kill",
		n, e, c, time.Since(killedAt).Round(100*time.Millisecond))
}

// TestDatabaseCutLosesNothing: the casework service loses PostgreSQL for 15 s
// (a proxy drops every connection and refuses new ones) while events arrive;
// when the database is back, the backlog is stored, nothing lost or doubled.
func TestDatabaseCutLosesNothing(t *testing.T) {
	var proxy *tcpProxy
	h := startHotline(t, withoutCallService(), func(h *hotline) {
		u, err := url.Parse(h.dbURL)
		if err != nil {
			t.Fatal(err)
		}
		proxy = newTCPProxy(t, u.Host)
		u.Host = proxy.addr
		h.env = append(h.env, "HOTLINE_DATABASE_URL="+u.String())
	})
	const n = 300
	acked := loadEvents(t, h, "dbcut", n, 20)
	time.Sleep(2 * time.Second)
	proxy.cut()
	time.Sleep(15 * time.Second)
	during, _ := storedCalls(t, h, "dbcut")
	proxy.restore()
	restored := time.Now()
	if got := <-acked; got != n {
		t.Fatalf("the broker acknowledged %d of %d events", got, n)
	}
	eventually(t, 90*time.Second, "the backlog stored after the database is back", func() bool {
		e, c := storedCalls(t, h, "dbcut")
		return e == n && c == n
	})
	t.Logf("database cut 15 s at 20 events/s: %d stored before and during the cut, all %d stored %v after it came back",
		during, n, time.Since(restored).Round(100*time.Millisecond))
}

// tcpProxy forwards a local port to target; cut closes every connection and
// refuses new ones, restore accepts again on the same port.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close(); c.Close() }()
			go func() { _, _ = io.Copy(c, up); up.Close(); c.Close() }()
		}
	}()
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *tcpProxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}
