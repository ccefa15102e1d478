package capture_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/topics"
)

// TestHugeTransactionMemory captures one 1,000,000-row source transaction
// in a capture process of its own and checks that every row arrives and
// that the process's peak memory stays bounded.
func TestHugeTransactionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a million rows; run without -short")
	}
	const rows = 1_000_000
	const limitMB = 300
	p := newPipeline(t)
	p.spec.Tables = p.db + ".big"
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE big (id BIGINT PRIMARY KEY, n INT NOT NULL, pad VARCHAR(64) NOT NULL)")
	mustExec(t, db, "CREATE TABLE gate (id INT PRIMARY KEY)")
	// Start streaming on an empty table, then write the transaction.
	stop := p.start()
	waitFor(t, 30*time.Second, "capture to start", func() bool { return p.checkpoint() != nil })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	mustExec(t, db, "INSERT INTO big SELECT seq, 0, REPEAT('x', 50) FROM seq_1_to_1000000")
	t.Logf("wrote %d rows in one transaction in %s", rows, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	child := testenv.StartChild(t, p.spec)
	topic := p.prefix + "." + p.db + ".big"
	waitFor(t, 5*time.Minute, "the transaction to be captured", func() bool {
		cp := p.checkpoint()
		return cp != nil && cp.SkipRows == 0 && p.endOffset(topic) >= rows
	})
	elapsed := time.Since(start)
	// VmHWM is the peak RSS of the process's own memory since its exec.
	// (getrusage's maxrss of a child also counts the parent's memory at
	// fork time, which is the whole test process here.)
	peakMB := peakRSSMB(t, child.Pid())
	child.Signal(syscall.SIGTERM)
	if err := child.Wait(); err != nil {
		t.Fatalf("capture process: %v: %s", err, child.Stderr())
	}
	end := p.endOffset(topic)
	t.Logf("captured %d rows in %s (%.0f rows/s); capture's peak RSS %d MB", rows, elapsed.Round(time.Millisecond), rows/elapsed.Seconds(), peakMB)
	// Each Kafka transaction adds one marker to the partition.
	if end < rows || end > rows+rows/100 {
		t.Fatalf("topic end offset %d for %d rows", end, rows)
	}
	if peakMB > limitMB {
		t.Fatalf("capture's peak RSS %d MB is above %d MB", peakMB, limitMB)
	}
}

// checkpoint returns the capture's last committed checkpoint, or nil.
func (p *pipeline) checkpoint() *topics.Checkpoint {
	cp, err := topics.ReadCheckpoint(context.Background(), []kgo.Opt{kgo.SeedBrokers(p.kafka.Brokers...)}, p.prefix+".__checkpoint", p.prefix)
	if err != nil {
		return nil
	}
	return cp
}

// endOffset returns the committed end offset of partition 0 of topic.
func (p *pipeline) endOffset(topic string) int64 {
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...))
	if err != nil {
		p.t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(context.Background(), topic)
	if err != nil {
		return 0
	}
	o, _ := ends.Lookup(topic, 0)
	return o.Offset
}

// peakRSSMB reads a running process's peak resident memory.
func peakRSSMB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
