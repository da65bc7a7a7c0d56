package eventbus

import "context"

// AfterSpoolWrite makes Publish run f once it has written an event's file and
// before it returns: the moment a running sending loop can overtake it.
func AfterSpoolWrite(p *Publisher, f func()) { p.afterWrite = f }

// Drain is one pass of the sending loop.
func Drain(ctx context.Context, p *Publisher) (int, error) { return p.drain(ctx) }

// PerEventSync turns group commit off (each event its own file and fsyncs):
// the baseline the benchmark compares group commit with.
func PerEventSync(p *Publisher) { p.perEventSync = true }
