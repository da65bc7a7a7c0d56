package main

// Dead events (issue 11): messages the casework consumer parked in dead_events
// because they broke the event contract or kept failing. A person looks at
// them (`events dead`) and, once the cause is fixed, sends them through the
// stream again (`events replay`).

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hotline12345/hotline/casework/eventbus"
)

func cmdEventsDead(ctx context.Context, c *cli, args []string) error {
	rest, err := flags("events dead", args, c.stderr, func(*flag.FlagSet) {})
	if err != nil {
		return err
	}
	if err := noArgs("events dead", rest); err != nil {
		return err
	}
	rows, err := c.pool.Query(ctx, `SELECT id, received_at, subject, error FROM dead_events ORDER BY id`)
	if err != nil {
		return fmt.Errorf("list dead events: %w", err)
	}
	defer rows.Close()
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tRECEIVED\tSUBJECT\tERROR")
	for rows.Next() {
		var (
			id       int64
			at       time.Time
			subj, er string
		)
		if err := rows.Scan(&id, &at, &subj, &er); err != nil {
			return err
		}
		if len(er) > 120 {
			er = er[:120] + "…"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", id, at.Format(time.RFC3339), subj, strings.ReplaceAll(er, "\n", " "))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return w.Flush()
}

// cmdEventsReplay publishes parked messages to their subjects again and
// removes them from dead_events once JetStream has them. Without a
// Nats-Msg-Id: the stream's duplicate window would swallow a replay of a
// recent event, and the event ID as the database key already stores it once.
// A message that fails again is parked again, as a new row.
func cmdEventsReplay(ctx context.Context, c *cli, args []string) error {
	var id int64
	var all bool
	rest, err := flags("events replay", args, c.stderr, func(fs *flag.FlagSet) {
		fs.Int64Var(&id, "id", 0, "the dead event to replay (see events dead)")
		fs.BoolVar(&all, "all", false, "replay every dead event")
	})
	if err != nil {
		return err
	}
	if err := noArgs("events replay", rest); err != nil {
		return err
	}
	if (id == 0) == !all {
		return usageErr("events replay: give --id N or --all")
	}
	if c.cfg.BusErr != nil {
		return fmt.Errorf("events replay: %w", c.cfg.BusErr)
	}
	opts, err := eventbus.DialOptions(c.cfg.Bus)
	if err != nil {
		return err
	}
	nc, err := nats.Connect(c.cfg.NatsURL, append(opts, nats.Name("hotlinectl"), nats.Timeout(5*time.Second))...)
	if err != nil {
		return fmt.Errorf("NATS %s: %w", c.cfg.NatsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	rows, err := c.pool.Query(ctx, `SELECT id, subject, data FROM dead_events WHERE $1 OR id = $2 ORDER BY id`, all, id)
	if err != nil {
		return fmt.Errorf("read dead events: %w", err)
	}
	type dead struct {
		id      int64
		subject string
		data    []byte
	}
	var list []dead
	for rows.Next() {
		var d dead
		if err := rows.Scan(&d.id, &d.subject, &d.data); err != nil {
			rows.Close()
			return err
		}
		list = append(list, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if id != 0 && len(list) == 0 {
		return fmt.Errorf("no dead event %d", id)
	}
	for _, d := range list {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := js.Publish(pctx, d.subject, d.data)
		cancel()
		if err != nil {
			return fmt.Errorf("replay dead event %d on %s: %w", d.id, d.subject, err)
		}
		if _, err := c.pool.Exec(ctx, `DELETE FROM dead_events WHERE id = $1`, d.id); err != nil {
			return fmt.Errorf("dead event %d replayed but not removed (a second replay stores it once): %w", d.id, err)
		}
		c.audit(ctx, "events.replay", "dead_event", fmt.Sprint(d.id))
		fmt.Fprintf(c.stdout, "replayed dead event %d on %s\n", d.id, d.subject)
	}
	return nil
}
