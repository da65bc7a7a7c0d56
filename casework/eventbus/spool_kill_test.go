package eventbus_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
)

// spoolChildEnv makes the test binary the publishing child of
// TestKill9LosesNoSpooledEvent.
const spoolChildEnv = "HOTLINE_TEST_SPOOL_CHILD_DIR"

// TestKill9LosesNoSpooledEvent: a process publishing from many goroutines at
// once (so group commits of many events happen) is killed with SIGKILL; every
// event whose Publish had returned nil — acknowledged as spooled — is in the
// spool afterwards and is sent by the next process.
func TestKill9LosesNoSpooledEvent(t *testing.T) {
	if dir := os.Getenv(spoolChildEnv); dir != "" {
		spoolChild(t, dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9LosesNoSpooledEvent$", "-test.count=1")
	cmd.Env = append(os.Environ(), spoolChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "spooled ")
		if !ok {
			continue
		}
		acked[id] = true
		if len(acked) == 2000 && !killed {
			// Mid-stream: writes are in flight in many goroutines.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("the child stopped after %d events without being killed", len(acked))
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := natstest.Config(t, natstest.URL())
	nc, err := nats.Connect(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, err := eventbus.EnsureStream(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json*"))
	pub, err := eventbus.NewPublisher(nc, cfg, dir, zaptest.NewLogger(t), eventbus.NewPublisherMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	spooled := pub.Depth()
	sent, err := eventbus.Drain(ctx, pub)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed after %d acknowledged events; spool held %d events in %d files; %d sent", len(acked), spooled, len(files), sent)
	// Every sent event is in the stream: fetch them and tick off the acknowledged.
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for got := 0; got < sent; {
		batch, err := cons.Fetch(min(sent-got, 500), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			env, err := event.Decode(m.Data())
			if err != nil {
				t.Fatal(err)
			}
			delete(acked, env.ID)
			n++
		}
		if n == 0 {
			t.Fatalf("stream gave %d of %d sent events", got, sent)
		}
		got += n
	}
	if len(acked) > 0 {
		t.Fatalf("%d events acknowledged as spooled were lost by kill -9", len(acked))
	}
	if d := pub.Depth(); d != 0 {
		t.Errorf("Depth() = %d after sending everything", d)
	}
}

// spoolChild publishes from 32 goroutines until it is killed, printing each
// event's ID once Publish has returned nil. NATS is not used: nothing is sent.
func spoolChild(t *testing.T, dir string) {
	cfg := natstest.Config(t, natstest.URL())
	nc, err := nats.Connect(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := eventbus.NewPublisher(nc, cfg, dir, zap.NewNop(), eventbus.NewPublisherMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				env, err := event.New(event.CallStarted, "kill-test", fmt.Sprintf("c-%d-%d", g, i),
					event.CallStartedPayload{Called: "12345", Direction: "inbound"})
				if err != nil {
					panic(err)
				}
				if err := pub.Publish(env); err != nil {
					panic(err)
				}
				mu.Lock()
				// Unbuffered: the line is in the pipe when Publish has returned.
				fmt.Fprintf(os.Stdout, "spooled %s\n", env.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
