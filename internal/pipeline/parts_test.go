package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRunPartsStopsTogether: the first part that fails stops the others,
// and its error, named after it, is the pipeline's; a part that returns
// by itself stops the pipeline too; a cancelled context stops all without
// error.
func TestRunPartsStopsTogether(t *testing.T) {
	untilDone := func(ctx context.Context) error { <-ctx.Done(); return nil }
	boom := errors.New("boom")
	failing := func(context.Context) error { time.Sleep(10 * time.Millisecond); return boom }
	err := runParts(context.Background(), []part{{"capture", untilDone}, {"apply to x", failing}, {"apply to y", untilDone}})
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "apply to x: ") {
		t.Errorf("a failing part: %v", err)
	}
	quits := func(context.Context) error { return nil }
	if err := runParts(context.Background(), []part{{"capture", untilDone}, {"apply to x", quits}}); err == nil || err.Error() != "apply to x: stopped" {
		t.Errorf("a part that returned by itself: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := runParts(ctx, []part{{"capture", untilDone}, {"apply to x", untilDone}}); err != nil {
		t.Errorf("a cancelled pipeline: %v", err)
	}
}
