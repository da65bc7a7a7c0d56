package ivr

import (
	"time"

	"github.com/hotline12345/hotline/casework/calendar"
)

// CallbackConfig configures satisfaction callbacks (回访, SPEC T12).
type CallbackConfig struct {
	Enabled bool
	// Dial is the dial string with {number} for the case's caller number, e.g.
	// PJSIP/{number}@carrier.
	Dial     string
	CallerID string
	// Hours are the calling hours (every day, Asia/Shanghai).
	Hours       calendar.OfficeHours
	Attempts    int
	RetryDelay  time.Duration
	RingTimeout time.Duration
	// Durable is the JetStream consumer name.
	Durable string
}
