package eventbus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/event"
)

// RunFiltered is Run for a consumer that only wants events of some types (the
// call service's consumer of case.callback_requested): the durable consumer is
// created with those subjects as its filter, so JetStream does not deliver the
// rest of the stream to it at all.
func (c *Consumer) RunFiltered(ctx context.Context, h Handler, types ...event.Type) error {
	if len(types) == 0 {
		return c.Run(ctx, h)
	}
	stream, err := waitForJetStream(ctx, c.js, c.cfg, c.log)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	subjects := make([]string, len(types))
	for i, t := range types {
		subjects[i] = event.Subject(c.cfg.SubjectRoot, t)
	}
	cc := jetstream.ConsumerConfig{
		Durable:       c.durable,
		Description:   fmt.Sprintf("%s events", subjects),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckWait,
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 1000,
	}
	if len(subjects) == 1 {
		cc.FilterSubject = subjects[0]
	} else {
		cc.FilterSubjects = subjects
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, cc)
	if err != nil {
		return fmt.Errorf("ensure consumer %s: %w", c.durable, err)
	}
	for ctx.Err() == nil {
		if err := c.consume(ctx, cons, h); err != nil && ctx.Err() == nil {
			c.log.Warn("event iterator failed, recreating", zap.Error(err))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}
