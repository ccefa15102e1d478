package capture

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	eventfmt "github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/task"
	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/topics"
)

// testPublisher is a publisher on the shared Kafka with a codec of one
// table (id BIGINT key, pad VARCHAR, amount DECIMAL(4,2)).
type testPublisher struct {
	*publisher
	codec   *tableCodec
	brokers []string
}

func newTestPublisher(t *testing.T) *testPublisher {
	t.Helper()
	ctx := context.Background()
	k := testenv.Kafka(t)
	prefix := fmt.Sprintf("pipeline_%d", time.Now().UnixNano())
	names := eventfmt.Names{Prefix: prefix}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...), kgo.TransactionalID(prefix),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), kgo.MaxBufferedRecords(500))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if err := topics.Ensure(ctx, kadm.NewClient(cl), topics.CheckpointsSpec(names.Checkpoints())); err != nil {
		t.Fatal(err)
	}
	srcl, err := sr.NewClient(sr.URLs(k.RegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPublisher(cl, eventfmt.NewRegistry(srcl), names, prefix, 1, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	tbl := schema.Table{Database: "db", Name: "t", Key: []string{"id"}}
	for _, c := range []struct{ name, typ string }{{"id", "bigint"}, {"pad", "varchar(1000000)"}, {"amount", "decimal(4,2)"}} {
		typ, err := schema.ParseType(c.typ)
		if err != nil {
			t.Fatal(err)
		}
		if typ.Kind.IsText() {
			typ.Charset = "utf8mb4"
		}
		tbl.Columns = append(tbl.Columns, schema.Column{Name: c.name, Type: typ})
	}
	codec, err := p.codec(ctx, tbl, func(string, string) *task.TableRules { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return &testPublisher{publisher: p, codec: codec, brokers: k.Brokers}
}

// row is a row of the test table.
func row(id int64, pad int) []any {
	return []any{id, strings.Repeat("x", pad), big.NewRat(id%10000, 100)}
}

// committed reads the committed records of the table's topic: want of
// them, or all that arrive before the topic stays quiet for a while.
func (tp *testPublisher) committed(t *testing.T, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(tp.brokers...), kgo.ConsumeTopics(tp.codec.topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(out) < want || want < 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		if fs.NumRecords() == 0 {
			break
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// TestQueueKeepsOrder publishes changes of mixed sizes, with deletes and
// their tombstones, through the encode queue (and a Kafka buffer small
// enough to fill) with a commit in the middle, as a large source
// transaction does, and checks that every record is committed in the order
// of the calls.
func TestQueueKeepsOrder(t *testing.T) {
	tp := newTestPublisher(t)
	ctx := context.Background()
	type rec struct {
		id   int64
		tomb bool
		body []byte // the envelope but for its ts_ms: the record memory is reused
	}
	var want []rec
	const n = 3000
	src := sourceInfo{db: "db", table: "t", file: "bin.000001"}
	for i := range int64(n) {
		pad := 10
		if i%500 == 7 {
			pad = 600_000 // a batch of its own: over the byte bound
		}
		op, before, after := "c", []any(nil), row(i, pad)
		if i%7 == 3 {
			op, before, after = "d", row(i, pad), nil
		}
		if err := tp.change(ctx, tp.codec, op, before, after, src); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		body, err := tp.codec.enc.AppendEnvelope(nil, before, after, tp.source(src), op, 0)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rec{i, false, body[:len(body)-1]}) // ts_ms 0 is one byte
		if op == "d" {
			want = append(want, rec{i, true, nil})
		}
		if cur := tp.q.cur; cur != nil && (len(cur.rows) >= queueBatchRows || tp.q.bytes >= queueBatchBytes) {
			t.Fatalf("a full batch (%d changes, %d bytes) was kept back", len(cur.rows), tp.q.bytes)
		}
		if i == n/2 {
			if tp.pending != len(want) {
				t.Fatalf("pending %d, want %d", tp.pending, len(want))
			}
			if err := tp.commit(ctx, topics.Checkpoint{}); err != nil {
				t.Fatal(err)
			}
			if tp.q.done != nil {
				t.Fatal("the encoder still runs after the commit")
			}
		}
	}
	if err := tp.commit(ctx, topics.Checkpoint{}); err != nil {
		t.Fatal(err)
	}
	got := tp.committed(t, len(want))
	if len(got) != len(want) {
		t.Fatalf("%d records committed, want %d", len(got), len(want))
	}
	for i, r := range got {
		id := keyID(t, r.Key)
		if id != want[i].id || (r.Value == nil) != want[i].tomb {
			t.Fatalf("record %d: id %d tombstone %v, want id %d tombstone %v", i, id, r.Value == nil, want[i].id, want[i].tomb)
		}
		if r.Value != nil {
			_, body, err := eventfmt.ParseFrame(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(body, want[i].body) {
				t.Fatalf("record %d (id %d): the envelope is not the one of the change", i, id)
			}
		}
	}
}

// TestEncodeErrorAbortsTransaction queues a change that cannot be
// encoded among good ones: the error stops the transaction at the next
// call or at the commit, and nothing of the transaction is committed.
func TestEncodeErrorAbortsTransaction(t *testing.T) {
	tp := newTestPublisher(t)
	ctx := context.Background()
	src := sourceInfo{db: "db", table: "t", file: "bin.000001"}
	var err error
	for i := range int64(1000) {
		r := row(i, 10)
		if i == 300 {
			r[2] = big.NewRat(123456, 1) // more digits than DECIMAL(4,2) holds
		}
		if err = tp.change(ctx, tp.codec, "c", nil, r, src); err != nil {
			break
		}
	}
	if err == nil {
		err = tp.commit(ctx, topics.Checkpoint{})
	} else {
		err = tp.abort(err)
	}
	if err == nil || !strings.Contains(err.Error(), "amount") {
		t.Fatalf("got error %v, want the encoding error of column amount", err)
	}
	if tp.inTxn || tp.q.done != nil {
		t.Fatal("the transaction is still open or the encoder still runs")
	}
	if got := tp.committed(t, -1); len(got) != 0 {
		t.Fatalf("%d records of the failed transaction are committed", len(got))
	}
}

// keyID decodes the key of the test table: a framed record of one long.
func keyID(t *testing.T, key []byte) int64 {
	t.Helper()
	_, body, err := eventfmt.ParseFrame(key)
	if err != nil {
		t.Fatal(err)
	}
	var u uint64 // zig-zag varint
	for i, shift := 0, uint(0); i < len(body); i, shift = i+1, shift+7 {
		u |= uint64(body[i]&0x7f) << shift
		if body[i]&0x80 == 0 {
			break
		}
	}
	return int64(u>>1) ^ -int64(u&1)
}
