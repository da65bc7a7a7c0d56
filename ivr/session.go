package ivr

import (
	"context"
	"io"
	"time"

	"github.com/hotline12345/hotline/ari"
)

// Session is the call operations the front door and the agent queue (package
// routing, which reuses it) need from a call. *ari.Session implements it
// against Asterisk; ari/aritest has a scripted fake, so that the call flows
// (menu, queue, three-way, transfer, callbacks) are tested in milliseconds
// rather than only through Asterisk end to end. The methods are exactly those
// ivr and routing call; their contracts are *ari.Session's.
type Session interface {
	ID() string
	Node() string

	// What is known of the call's channels.
	Caller() ari.ChannelInfo
	Channel(id string) (ari.ChannelInfo, bool)
	Alive(id string) bool
	WaitHangup(ctx context.Context, id string) error
	WaitDestroyed(ctx context.Context, id string) error

	// Channel control.
	Answer(ctx context.Context, id string) error
	Hangup(ctx context.Context, id, reason string) error
	SetVar(ctx context.Context, id, name, value string) error
	GlobalVar(ctx context.Context, name string) (string, error)
	SetGlobalVar(ctx context.Context, name, value string) error

	// Media and keys.
	Play(ctx context.Context, chID, media string, stopOnDigit bool) (ari.PlayResult, error)
	PlayAll(ctx context.Context, chID string, media []string, stopOnDigit bool) (ari.PlayResult, error)
	ReadDigits(ctx context.Context, chID string, o ari.ReadOptions) (string, error)
	FlushDigits(chID string)
	PendingDigits(chID string) string
	StartMOH(ctx context.Context, chID, class string) error
	StopMOH(ctx context.Context, chID string) error

	// Recordings.
	Record(ctx context.Context, chID string, o ari.RecordOptions) (ari.RecordResult, error)
	StartRecording(ctx context.Context, chID string, o ari.RecordOptions) (string, error)
	StopRecording(ctx context.Context, name string) error
	WaitRecording(ctx context.Context, name string) (ari.RecordResult, error)
	CopyRecording(ctx context.Context, name string, w io.Writer) (int64, error)
	DeleteRecording(ctx context.Context, name string) error

	// Other channels of the call, and bridges.
	Originate(ctx context.Context, r ari.OriginateRequest) (string, error)
	WaitUp(ctx context.Context, id string) error
	Snoop(ctx context.Context, chID, spy, whisper string) (string, error)
	WaitInApp(ctx context.Context, id string) error
	CreateBridge(ctx context.Context, kind string) (string, error)
	AddToBridge(ctx context.Context, bridgeID, chID string) error
	RemoveFromBridge(ctx context.Context, bridgeID, chID string) error
	DestroyBridge(ctx context.Context, bridgeID string) error

	// The dialplan: fax tone detection, fax, fallback.
	Follow(ctx context.Context, id string) error
	ContinueAndReturn(ctx context.Context, id, dpContext, exten string, priority int) error
	CameBack(ctx context.Context, id string, limit time.Duration) bool
	WaitReturn(ctx context.Context, id string, limit time.Duration) ([]string, bool)
	SendToFallback(ctx context.Context, id string) error

	// The call's durable record, for the process that adopts it after a
	// crash or a restart.
	CallRecord() ari.CallRecord
	BeginRecord(rec ari.CallRecord) error
	UpdateRecord(fn func(r *ari.CallRecord)) error
	ForgetRecord() error
	Keep()
	Kept() bool
	Detaching() bool
}

var _ Session = (*ari.Session)(nil)
