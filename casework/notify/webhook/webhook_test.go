package webhook

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{{1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second}, {8, 10 * time.Minute}, {20, 10 * time.Minute}}
	for _, tc := range tests {
		if got := Backoff(5*time.Second, 10*time.Minute, tc.n); got != tc.want {
			t.Errorf("Backoff after attempt %d = %s, want %s", tc.n, got, tc.want)
		}
	}
}
