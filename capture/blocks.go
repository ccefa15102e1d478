package capture

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// recordBlock is the memory of the records of one encoded batch: the
// records and the buffer their keys and values are in. Kafka's client holds
// both from Produce until it calls each record's promise; once every
// promise ran, a blockPool hands the block out again, so that a snapshot or
// a busy binlog does not allocate (and collect) its records anew.
type recordBlock struct {
	buf  []byte
	recs []kgo.Record
	// left counts the records whose promise has not run yet.
	left atomic.Int64
}

// recordBlockKey is the context key under which a record's Context carries
// its block to the promise.
type recordBlockKey struct{}

// records returns n zeroed records of the block.
func (b *recordBlock) records(n int) []kgo.Record {
	if cap(b.recs) < n {
		b.recs = make([]kgo.Record, n)
	} else {
		b.recs = b.recs[:n]
		clear(b.recs)
	}
	return b.recs
}

// bind readies the block for n records produced with ctx and returns the
// context each of them must carry (a child of ctx: canceling ctx still
// cancels them).
func (b *recordBlock) bind(ctx context.Context, n int) context.Context {
	b.left.Store(int64(n))
	return context.WithValue(ctx, recordBlockKey{}, b)
}

// blockPool reuses recordBlocks. Its zero value is ready for use.
type blockPool struct{ pool sync.Pool }

func (p *blockPool) get() *recordBlock {
	if b, ok := p.pool.Get().(*recordBlock); ok {
		return b
	}
	return &recordBlock{}
}

func (p *blockPool) put(b *recordBlock) { p.pool.Put(b) }

// done is called from the promise of every record: it returns the
// record's block to the pool once all of the block's records are done. A
// record produced outside a block (a checkpoint, a schema change) has none.
func (p *blockPool) done(r *kgo.Record) {
	if r.Context == nil {
		return
	}
	if b, ok := r.Context.Value(recordBlockKey{}).(*recordBlock); ok && b.left.Add(-1) == 0 {
		p.put(b)
	}
}
