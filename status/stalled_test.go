package status_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/status"
	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/topics"
)

// TestStatusShowsDeadCaptureStalled: a running capture shows as streaming;
// once it is dead (its checkpoint stops moving), as stalled with how long,
// not as streaming with its last delay.
func TestStatusShowsDeadCaptureStalled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := testenv.Source(t)
	k := testenv.Kafka(t)
	db := src.NewDatabase(t)
	prefix := "st_" + db
	src.Exec(t, "CREATE TABLE "+db+".a (id INT PRIMARY KEY, n INT)")
	insert(t, src, db+".a", 1, 10)
	srcEP, err := endpoint.Parse(src.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := filter.Parse(db+".*", "")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := capture.New(capture.Config{
		Source: srcEP, Kafka: topics.Kafka{Brokers: k.Brokers}, RegistryURL: k.RegistryURL,
		Prefix: prefix, Tables: sel, FlushInterval: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	cctx, kill := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cp.Run(cctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { kill(); <-done }) }
	defer stop()

	mon, err := status.New(status.Config{Kafka: topics.Kafka{Brokers: k.Brokers}, Prefix: prefix, StalledAfter: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	text := func(rep *status.Report) string {
		var out strings.Builder
		if err := rep.WriteText(&out, nil); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	var rep *status.Report
	waitFor(t, 30*time.Second, "capture streaming", func() bool {
		rep, err = mon.Collect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rep.Capture != nil && rep.Capture.Snapshotting() == 0
	})
	time.Sleep(4 * time.Second) // longer than StalledAfter: heartbeats keep it fresh
	if rep, err = mon.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	if got := text(rep); rep.Capture.Stalled || !strings.Contains(got, ": streaming at") {
		t.Fatalf("running capture:\n%s", got)
	}

	stop()
	time.Sleep(4 * time.Second)
	if rep, err = mon.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	got := text(rep)
	if !rep.Capture.Stalled || rep.Capture.Age < 4*time.Second ||
		!strings.Contains(got, `capture "`+prefix+`": stalled for `+strings.TrimSuffix(rep.Capture.Age.Round(100*time.Millisecond).String(), "s")) {
		t.Fatalf("dead capture, 4 s after it stopped:\n%s", got)
	}
	if strings.Contains(got, ": streaming at") {
		t.Errorf("dead capture shown streaming:\n%s", got)
	}
}
