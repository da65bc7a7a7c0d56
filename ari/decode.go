package ari

import (
	"encoding/json"
	"errors"
	"fmt"

	ariv5 "github.com/CyCoreSystems/ari/v5"
)

// handledTypes are the ARI event types this service acts on. They are also sent to
// Asterisk as the application's event filter, so Asterisk 22's newer event types
// (which ari/v5 v5.3.1 cannot decode) are not sent at all; whatever still arrives
// outside this set is counted and skipped by decodeEvent.
var handledTypes = []string{
	"StasisStart", "StasisEnd",
	"ChannelDestroyed", "ChannelHangupRequest", "ChannelStateChange",
	"ChannelDtmfReceived", "ChannelVarset",
	"ChannelEnteredBridge", "ChannelLeftBridge",
	"PlaybackStarted", "PlaybackFinished",
	"RecordingStarted", "RecordingFinished", "RecordingFailed",
	"Dial",
	"BridgeDestroyed",
	"ApplicationReplaced",
}

var handled = func() map[string]bool {
	m := make(map[string]bool, len(handledTypes))
	for _, t := range handledTypes {
		m[t] = true
	}
	return m
}()

// ErrUnhandledEvent marks an event type outside handledTypes.
var ErrUnhandledEvent = errors.New("unhandled ARI event type")

// errDecodePanic marks a panic inside the library's decoder.
var errDecodePanic = errors.New("ARI event decoder panicked")

// decodeEvent turns one websocket message into a typed event without ever
// panicking: ari/v5's own reader hands a nil event to its bus for any type it does
// not know (a panic that kills the process), and its generated decoders have no
// business crashing a call service either.
func decodeEvent(data []byte) (ev ariv5.Event, typ string, err error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, "", fmt.Errorf("decode ARI event type: %w", err)
	}
	if head.Type == "" {
		return nil, "", errors.New("decode ARI event: no type")
	}
	if !handled[head.Type] {
		return nil, head.Type, fmt.Errorf("%w: %s", ErrUnhandledEvent, head.Type)
	}
	defer func() {
		if r := recover(); r != nil {
			ev, err = nil, fmt.Errorf("%w on %s: %v", errDecodePanic, head.Type, r)
		}
	}()
	ev, err = ariv5.DecodeEvent(data)
	if err != nil {
		return nil, head.Type, fmt.Errorf("decode ARI %s: %w", head.Type, err)
	}
	if ev == nil {
		return nil, head.Type, fmt.Errorf("decode ARI %s: no event", head.Type)
	}
	return ev, head.Type, nil
}
