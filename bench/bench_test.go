package bench_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/bench"
	"github.com/syncline/syncline/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// TestHarness runs every benchmark with tiny sizes, so that the harness
// cannot rot unnoticed. It checks that each benchmark ran and that the
// document is written with its findings kept; it asserts no speed.
func TestHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every server; run without -short")
	}
	srv := &bench.Servers{
		Source: testenv.Source(t).MySQL, Target: testenv.Target(t).MySQL, Postgres: testenv.Postgres(t).PostgresServer,
		ClickHouse: testenv.ClickHouse(t).ClickHouseServer, Kafka: testenv.NewKafka(t),
	}
	cfg := bench.Config{
		Changes: 2500, SnapshotRows: 5000, MemoryRows: 5000,
		SlowRate: 200, FastRate: 1000, Phase: 2 * time.Second, Repeat: 1, BatchRows: 1000,
		Self: buildSyncline(t), ProfileDir: t.TempDir(), Database: "bench_test",
		Logger:   slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Progress: testWriter{t},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := bench.Run(ctx, cfg, srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep.Text())
	if len(rep.Results) != 9 {
		t.Errorf("%d results, want 9", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Status == bench.Failed || r.Status == bench.Skipped {
			t.Errorf("%s: %s: %s", r.Name, r.Status, r.Err)
		}
	}

	doc := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := bench.WriteDoc(doc, rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	mine := "\nA finding written by hand.\n"
	if err := os.WriteFile(doc, append(b, mine...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bench.WriteDoc(doc, rep); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Machine", "## Results", "| Capture: binlog to Kafka |", "## Findings", mine} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the document lacks %q:\n%s", want, b)
		}
	}
	if n := strings.Count(string(b), "\n## Findings"); n != 1 {
		t.Errorf("the findings heading appears %d times", n)
	}

	// --only: an apply benchmark alone runs the capture it reads from, and
	// nothing else.
	cfg.Only, cfg.Database = []string{"apply-mysql"}, "bench_only"
	rep, err = bench.Run(ctx, cfg, srv)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range rep.Results {
		keys = append(keys, r.Key)
		if r.Status == bench.Failed || r.Status == bench.Skipped {
			t.Errorf("with --only: %s: %s: %s", r.Name, r.Status, r.Err)
		}
	}
	if got := strings.Join(keys, ","); got != "capture,apply-mysql" {
		t.Errorf("with Only apply-mysql the results are %s, want capture,apply-mysql", got)
	}
}

// TestOnlyUnknown checks that a misspelt benchmark name is refused with the
// names there are.
func TestOnlyUnknown(t *testing.T) {
	cfg := bench.Config{Only: []string{"snapshot", "apply-pg"}}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), `"apply-pg"`) || !strings.Contains(err.Error(), "apply-postgres") {
		t.Fatalf("Validate: %v; want an error naming apply-pg and the benchmarks there are", err)
	}
}

// buildSyncline builds the syncline binary for the memory benchmark.
func buildSyncline(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the memory benchmark runs the syncline binary, and there is no go command to build it: %v", err)
	}
	out := filepath.Join(t.TempDir(), "syncline")
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if b, err := exec.CommandContext(ctx, goBin, "build", "-o", out, "github.com/syncline/syncline/cmd/syncline").CombinedOutput(); err != nil {
		t.Fatalf("build syncline: %v\n%s", err, b)
	}
	return out
}

// testWriter writes lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
