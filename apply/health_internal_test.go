package apply

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/fault"
)

// TestKafkaErrorClasses: what a poll returns while a broker restarts is
// transient; refused credentials and a fenced instance id are not.
func TestKafkaErrorClasses(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		err       error
		transient bool
		permanent bool
	}{
		{&kgo.ErrGroupSession{Err: fmt.Errorf("unable to dial: %w", dial)}, true, false},
		{fmt.Errorf("commit: %w", kerr.IllegalGeneration), true, false},
		{kerr.UnknownMemberID, true, false},
		{kerr.RebalanceInProgress, true, false},
		{kerr.NotLeaderForPartition, true, false},
		{&kgo.ErrGroupSession{Err: kerr.FencedInstanceID}, false, true},
		{&kgo.ErrGroupSession{Err: kerr.SaslAuthenticationFailed}, false, true},
		{kerr.TopicAuthorizationFailed, false, true},
		{errors.New("something else"), false, false},
	} {
		if got := isKafkaTransient(tc.err); got != tc.transient {
			t.Errorf("isKafkaTransient(%v) = %v", tc.err, got)
		}
		if got := fault.IsPermanent(markPermanent(tc.err)); got != tc.permanent {
			t.Errorf("markPermanent(%v) permanent = %v", tc.err, got)
		}
	}
}

// TestTargetErrorClasses: refused credentials, a missing database or
// privilege and a changed key are permanent; an unreachable target is not.
func TestTargetErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		err       error
		permanent bool
	}{
		{fmt.Errorf("prepare: %w", endpoint.ErrAuth), true},
		{fmt.Errorf("dial: %w", endpoint.ErrUnknownDatabase), true},
		{fmt.Errorf("prepare: %w", ErrKeyChanged), true},
		{Privilege(errors.New("INSERT command denied")), true},
		{fmt.Errorf("dial: %w", endpoint.ErrUnreachable), false},
		{Retryable(errors.New("deadlock")), false},
	} {
		if got := fault.IsPermanent(markPermanent(tc.err)); got != tc.permanent {
			t.Errorf("markPermanent(%v) permanent = %v", tc.err, got)
		}
	}
	if got := Privilege(errors.New("denied")).Error(); got != "denied" {
		t.Errorf("Privilege changed the text to %q", got)
	}
}

// TestKafkaBackoff: the Kafka client's waits double from the minimum and
// stop at the maximum.
func TestKafkaBackoff(t *testing.T) {
	a := &Apply{cfg: Config{RetryBackoffMin: 100 * time.Millisecond, RetryBackoffMax: 5 * time.Second}}
	want := []time.Duration{100, 100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for fails, w := range want {
		if got := a.kafkaBackoff(fails); got != w*time.Millisecond {
			t.Errorf("kafkaBackoff(%d) = %s, want %s", fails, got, w*time.Millisecond)
		}
	}
	if got := a.kafkaBackoff(1000); got != 5*time.Second {
		t.Errorf("kafkaBackoff(1000) = %s", got)
	}
}
