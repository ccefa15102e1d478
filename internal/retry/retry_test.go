package retry

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/fault"
)

// TestClassification: permanent only when known permanent, transient only
// when known to be a connection's failure, and an unknown error is neither.
func TestClassification(t *testing.T) {
	errOwn := errors.New("the caller's own permanent error")
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		err                  error
		permanent, transient bool
	}{
		{fault.Permanent(errors.New("x")), true, false},
		{fmt.Errorf("login: %w", endpoint.ErrAuth), true, false},
		{fmt.Errorf("url: %w", endpoint.ErrBadURL), true, false},
		{fmt.Errorf("produce: %w", kerr.TopicAuthorizationFailed), true, false},
		{fmt.Errorf("run: %w", errOwn), true, false},
		{fmt.Errorf("dial: %w", dial), false, true},
		{fmt.Errorf("dial: %w", endpoint.ErrUnreachable), false, true},
		{Transient(errors.New("deadlock")), false, true},
		{errors.New("something else"), false, false},
		{nil, false, false},
	} {
		if got := IsPermanent(tc.err, errOwn); got != tc.permanent {
			t.Errorf("IsPermanent(%v) = %v", tc.err, got)
		}
		if got := IsTransient(tc.err); got != tc.transient {
			t.Errorf("IsTransient(%v) = %v", tc.err, got)
		}
	}
	if got := Transient(errors.New("deadlock")).Error(); got != "deadlock" {
		t.Errorf("Transient changed the text to %q", got)
	}
}

// TestPolicy: the waits double from Min and stop at Max; the window ends a
// streak that lasted it.
func TestPolicy(t *testing.T) {
	p := Policy{Window: time.Minute, Min: time.Second, Max: 5 * time.Second}
	for fails, want := range []time.Duration{1, 1, 2, 4, 5, 5} {
		if got := p.Wait(fails); got != want*time.Second {
			t.Errorf("Wait(%d) = %s, want %s", fails, got, want*time.Second)
		}
	}
	now := time.Now()
	if p.Expired(time.Time{}, now) || p.Expired(now.Add(-59*time.Second), now) || !p.Expired(now.Add(-time.Minute), now) {
		t.Error("Expired is wrong about a streak shorter or as long as the window")
	}
}

// TestStreak: a streak begins with a retried failure, counts the retries,
// keeps the last class, and ends with OK.
func TestStreak(t *testing.T) {
	var s Streak
	t0 := time.Now()
	if s.Fail("auth", false, t0); s.Failing() {
		t.Fatal("a failure that is not retried began a streak")
	}
	s.Fail("kafka", true, t0)
	if d := s.Fail("registry", true, t0.Add(3*time.Second)); d != 3*time.Second || s.Retries != 2 || s.Class != "registry" || !s.Since.Equal(t0) {
		t.Fatalf("after two retries: %+v, lasted %s", s, d)
	}
	if !s.OK() || s.Failing() || s.Retries != 0 || s.OK() {
		t.Fatalf("OK did not end the streak once: %+v", s)
	}
}
