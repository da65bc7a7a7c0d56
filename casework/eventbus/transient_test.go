package eventbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/hotline12345/hotline/casework/event"
)

type sqlStateErr string

func (e sqlStateErr) Error() string    { return "pg: " + string(e) }
func (e sqlStateErr) SQLState() string { return string(e) }

func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"handler deadline", fmt.Errorf("store: %w", context.DeadlineExceeded), true},
		{"network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"connection lost", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"admin shutdown 57P01", fmt.Errorf("x: %w", sqlStateErr("57P01")), true},
		{"serialization 40001", sqlStateErr("40001"), true},
		{"unique violation 23505", sqlStateErr("23505"), false},
		{"contract", fmt.Errorf("project: %w", event.ErrInvalid), false},
		{"a bug", errors.New("nil map"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Transient(tc.err); got != tc.want {
				t.Errorf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
