package apply_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/testenv"
)

// TestNothingCommittedAfterFailedWrite: apply decodes the next batches
// while one is written. When the target refuses a batch, apply stops, and
// the group's committed offsets cover only records whose rows the target
// holds: nothing read after the refused batch is committed.
func TestNothingCommittedAfterFailedWrite(t *testing.T) {
	p := newPipeline(t)
	tgt := testenv.Target(t)
	p.spec.Target = tgt.URL("")
	p.spec.Existing = string(apply.ExistingWrite)
	p.spec.BatchRows = 200
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	p.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
	tgt.Exec(t, "CREATE DATABASE `"+p.db+"`")
	tgt.Exec(t, "CREATE TABLE `"+p.db+"`.t (id INT PRIMARY KEY, v VARCHAR(20) CHECK (v <> 'bad'))")
	p.startCapture()
	const rows, bad = 6000, 3100
	for first := 1; first <= rows; first += 500 {
		var vals []string
		for id := first; id < first+500; id++ {
			v := fmt.Sprintf("'v%d'", id)
			if id == bad {
				v = "'bad'"
			}
			vals = append(vals, fmt.Sprintf("(%d, %s)", id, v))
		}
		p.exec("INSERT INTO t VALUES " + strings.Join(vals, ", "))
	}
	topic := p.prefix + "." + p.db + ".t"
	ids := recordIDs(t, p, topic, rows)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := p.newApply(nil)(ctx)
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("apply returned %v; want it to stop on the refused row", err)
	} else {
		t.Logf("apply stopped: %v", err)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offsets, err := kadm.NewClient(cl).FetchOffsets(context.Background(), p.spec.Group)
	if err != nil {
		t.Fatal(err)
	}
	held := map[int64]bool{}
	rs, err := tgt.DB(t, "").Query("SELECT id FROM `" + p.db + "`.t")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			t.Fatal(err)
		}
		held[id] = true
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	committed := int64(0)
	for part, byOffset := range ids {
		o, ok := offsets.Lookup(topic, part)
		if !ok {
			continue
		}
		committed += o.At
		for off, id := range byOffset {
			if off < o.At && !held[id] {
				t.Errorf("partition %d offset %d (id %d) is committed (up to %d) but not in the target", part, off, id, o.At)
			}
		}
	}
	if committed == 0 {
		t.Errorf("nothing committed: the batches before the refused one should be")
	}
	t.Logf("committed up to %d; the target holds %d of %d rows", committed, len(held), rows)
}

// recordIDs reads topic until it holds want records and returns the id
// (the key of table t) of each record by partition and offset.
func recordIDs(t *testing.T, p *pipeline, topic string, want int) map[int32]map[int64]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ids := map[int32]map[int64]int64{}
	n := 0
	for n < want && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			_, key, err := event.ParseFrame(r.Key)
			if err != nil {
				t.Fatalf("key at offset %d: %v", r.Offset, err)
			}
			id, size := binary.Varint(key) // the key record's one Avro int
			if size <= 0 {
				t.Fatalf("key at offset %d: % x", r.Offset, key)
			}
			if ids[r.Partition] == nil {
				ids[r.Partition] = map[int64]int64{}
			}
			ids[r.Partition][r.Offset] = id
			n++
		})
	}
	if n < want {
		t.Fatalf("%d records in %s, want %d", n, topic, want)
	}
	return ids
}

// TestRebalanceWhileWriting: members join and leave the group while
// batches are written and the next ones decoded, under a write load; the
// target ends equal to the source.
func TestRebalanceWhileWriting(t *testing.T) {
	p := newPipeline(t)
	tgt := testenv.Target(t)
	p.spec.Target = tgt.URL("")
	p.spec.BatchRows = 300
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	p.createLoadTables()
	p.startCapture()
	stopFirst := p.startApply()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := startLoad(ctx, t, p.srcDB, 4, 4)
	time.Sleep(2 * time.Second)
	p.startApply() // the group rebalances: one of the two topics moves
	time.Sleep(3 * time.Second)
	if err := stopFirst(); err != nil { // the other member takes both
		t.Fatalf("first apply: %v", err)
	}
	time.Sleep(2 * time.Second)
	p.startApply()
	time.Sleep(2 * time.Second)
	cancel()
	ops := l.wait(t)
	began := time.Now()
	waitEqual(t, 90*time.Second, []string{"orders", "items"}, mysqlCompare(t, p, tgt))
	t.Logf("%d source transactions; target equal %s after the load stopped", ops, time.Since(began).Round(time.Millisecond))
}
