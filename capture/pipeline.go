package capture

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/topics"
)

// The bounds of the encode queue. The loop fills a batch of up to
// queueBatchRows changes or queueBatchBytes of values, and up to queueDepth
// full batches wait for the encoder: at most queueDepth+2 batches are held
// at once (one being filled, one being encoded), about 10 MB of values,
// beyond which the loop waits; a single change larger than a batch is a
// batch of its own.
const (
	queueBatchRows  = 256
	queueBatchBytes = 1 << 20
	queueDepth      = 8
)

// rowChange is one row change waiting to be encoded and produced.
type rowChange struct {
	codec         *tableCodec
	op            string
	before, after []any
	src           sourceInfo
}

// encodeQueue carries the row changes of the open Kafka transaction, in
// order, from the capture loop to one goroutine that encodes and produces
// them (publisher.encodeLoop). Reading the source (binlog decoding, snapshot
// reads, value conversion, rules) and encoding/producing then run on two
// cores. The goroutine runs only while changes are queued or being
// encoded in an open transaction: drain and discard stop it, and the next
// change starts it again.
//
// Only the capture loop calls its methods; the goroutine sees the batches
// and the discard flag.
type encodeQueue struct {
	batches chan []rowChange // nil while no goroutine takes batches
	free    chan []rowChange // encoded batches, for reuse
	done    chan struct{}    // closed when the goroutine ends; nil when none runs
	cur     []rowChange      // the batch being filled
	bytes   int              // size estimate of cur's values
	// discard tells the goroutine to drop what is left: the transaction
	// is being aborted.
	discard atomic.Bool
	// avgRecord is the mean size of a key and value of the last batch,
	// to size the next batch's buffer. Only the goroutine uses it.
	avgRecord int
}

// enqueue adds one change to the queue, starting the encoder when none
// runs. It blocks while the queue is full.
func (p *publisher) enqueue(ctx context.Context, rc rowChange) error {
	q := &p.q
	if q.done == nil {
		q.batches = make(chan []rowChange, queueDepth)
		if q.free == nil {
			q.free = make(chan []rowChange, queueDepth+2)
		}
		q.done = make(chan struct{})
		q.discard.Store(false)
		go p.encodeLoop(p.txnCtx, q.batches, q.free, q.done)
	}
	if q.cur == nil {
		select {
		case q.cur = <-q.free:
		default:
			q.cur = make([]rowChange, 0, queueBatchRows)
		}
	}
	q.cur = append(q.cur, rc)
	q.bytes += rowBytes(rc.before) + rowBytes(rc.after)
	if len(q.cur) < queueBatchRows && q.bytes < queueBatchBytes {
		return nil
	}
	return q.send(ctx)
}

// send hands the batch being filled to the encoder. Once ctx is done it
// still waits up to finalCommitTimeout: capture is stopping, and its final
// commit covers the changes read so far.
func (q *encodeQueue) send(ctx context.Context) error {
	if len(q.cur) == 0 {
		return nil
	}
	select {
	case q.batches <- q.cur:
	case <-ctx.Done():
		t := time.NewTimer(finalCommitTimeout)
		defer t.Stop()
		select {
		case q.batches <- q.cur:
		case <-t.C:
			return fmt.Errorf("queue row changes for kafka: %w", context.Cause(ctx))
		}
	}
	q.cur, q.bytes = nil, 0
	return nil
}

// drain waits until every queued change was encoded and handed to Kafka,
// and stops the encoder. On error (ctx done first) the encoder may still
// run: the caller aborts the transaction, which stops it.
func (p *publisher) drain(ctx context.Context) error {
	q := &p.q
	if q.done == nil {
		return nil
	}
	if q.batches != nil {
		if err := q.send(ctx); err != nil {
			return err
		}
		close(q.batches)
		q.batches = nil
	}
	select {
	case <-q.done:
		q.done = nil
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for row changes to reach kafka: %w", context.Cause(ctx))
	}
}

// discardQueued drops the queued changes and stops the encoder, for an
// abort. The transaction's produce context must be canceled first, so
// that a Produce blocked on a full buffer returns.
func (p *publisher) discardQueued() {
	q := &p.q
	if q.done == nil {
		return
	}
	q.discard.Store(true)
	clear(q.cur)
	q.cur, q.bytes = q.cur[:0], 0
	if q.batches != nil {
		close(q.batches)
		q.batches = nil
	}
	<-q.done
	q.done = nil
}

// encodeLoop encodes and produces the batches until batches is closed, in
// order. After an error it produces nothing more: the transaction is
// aborted. Encoded batches are cleared and returned to free.
func (p *publisher) encodeLoop(ctx context.Context, batches <-chan []rowChange, free chan<- []rowChange, done chan<- struct{}) {
	defer close(done)
	failed := false
	for b := range batches {
		if !failed && !p.q.discard.Load() {
			if err := p.produceBatch(ctx, b); err != nil {
				p.fail(err)
				failed = true
			}
		}
		clear(b)
		select {
		case free <- b[:0]:
		default:
		}
	}
}

// produceBatch encodes a batch of changes and produces their records. The
// keys and values of a batch share one buffer, and its records one slice
// and one time (ts_ms and the record timestamp).
func (p *publisher) produceBatch(ctx context.Context, batch []rowChange) error {
	now := time.Now()
	nowMillis := now.UnixMilli()
	buf := make([]byte, 0, 64+len(batch)*p.q.avgRecord)
	ends := make([]int, 0, 2*len(batch)) // end of each key and each value in buf
	n := 0                               // records, with tombstones
	for i := range batch {
		rc := &batch[i]
		c := rc.codec
		row := rc.after
		if row == nil {
			row = rc.before
		}
		var err error
		buf = topics.AppendFrame(buf, c.keyID)
		if buf, err = c.enc.AppendKey(buf, row); err != nil {
			return err
		}
		ends = append(ends, len(buf))
		buf = topics.AppendFrame(buf, c.envID)
		if buf, err = c.enc.AppendEnvelope(buf, rc.before, rc.after, p.source(rc.src), rc.op, nowMillis); err != nil {
			return err
		}
		ends = append(ends, len(buf))
		n++
		if rc.op == "d" && p.tombs {
			n++
		}
	}
	p.q.avgRecord = len(buf)/len(batch) + 1
	recs := make([]kgo.Record, n)
	start, j := 0, 0
	for i := range batch {
		rc := &batch[i]
		kEnd, vEnd := ends[2*i], ends[2*i+1]
		key := buf[start:kEnd:kEnd]
		r := &recs[j]
		r.Topic, r.Key, r.Value, r.Timestamp = rc.codec.topic, key, buf[kEnd:vEnd:vEnd], now
		p.cl.Produce(ctx, r, p.promise)
		p.metrics.event(rc.codec.name, rc.op, vEnd-start)
		j++
		if rc.op == "d" && p.tombs {
			t := &recs[j]
			t.Topic, t.Key, t.Timestamp = rc.codec.topic, key, now
			p.cl.Produce(ctx, t, p.promise)
			j++
		}
		start = vEnd
	}
	return nil
}

// rowBytes estimates the memory a row's values hold.
func rowBytes(row []any) int {
	n := 16 * len(row)
	for _, v := range row {
		switch x := v.(type) {
		case string:
			n += len(x)
		case []byte:
			n += len(x)
		}
	}
	return n
}
