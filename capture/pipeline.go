package capture

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/internal/event"
)

// The bounds of the encode queue. The loop fills a batch of up to
// queueBatchRows changes or queueBatchBytes of values (or of encoded
// records), and up to queueDepth
// full batches wait for the encoder: at most queueDepth+2 batches are held
// at once (one being filled, one being encoded), about 10 MB of values,
// beyond which the loop waits; a single change larger than a batch is a
// batch of its own.
const (
	queueBatchRows  = 256
	queueBatchBytes = 1 << 20
	queueDepth      = 8
)

// rowChange is one row change waiting to be encoded and produced: its row
// images as values, or, for a snapshot row the reader encoded straight from
// the text protocol, its Key and after image's Value records in its batch's
// arena (before and after are then nil).
type rowChange struct {
	codec         *tableCodec
	op            string
	before, after []any
	encoded       bool      // the records are in the arena, at span
	span          arenaSpan // where, when encoded
	src           sourceInfo
	// headers are the record's headers: event.OmittedColumnsHeader for
	// a row published without its large columns.
	headers []kgo.RecordHeader
}

// arenaSpan locates the encoded records of a row change in its batch's
// arena: the Key record is arena[start:mid], the Value record
// arena[mid:end]. Offsets, not slices: the arena moves as it grows.
type arenaSpan struct{ start, mid, end int }

// changeBatch is a batch of row changes and the memory of their encoded
// records. Batches are reused once encoded.
type changeBatch struct {
	rows  []rowChange
	arena []byte
}

// encodeQueue carries the row changes of the open Kafka transaction, in
// order, from the capture loop to one goroutine that encodes and produces
// them (publisher.encodeLoop). Reading the source (binlog decoding, value
// conversion and rules; for a snapshot row of a table whose rules filter
// no rows, its Key and Value records, see enqueueText) and framing/producing then run
// on two cores. The goroutine runs only while changes are queued or being
// encoded in an open transaction: drain and discard stop it, and the next
// change starts it again.
//
// Only the capture loop calls its methods; the goroutine sees the batches
// and the discard flag.
type encodeQueue struct {
	batches chan *changeBatch // nil while no goroutine takes batches
	free    chan *changeBatch // encoded batches, for reuse
	done    chan struct{}     // closed when the goroutine ends; nil when none runs
	cur     *changeBatch      // the batch being filled
	bytes   int               // size estimate of cur's values
	// discard tells the goroutine to drop what is left: the transaction
	// is being aborted.
	discard atomic.Bool
	// avgRecord is the mean size of a key and value of the last batch,
	// to size the next batch's buffer, and ends the ends of a batch's
	// keys and values in that buffer. Only the goroutine uses them.
	avgRecord int
	ends      []int
}

// enqueue adds one change to the queue, starting the encoder when none
// runs. It blocks while the queue is full.
func (p *publisher) enqueue(ctx context.Context, rc rowChange) error {
	b := p.batch()
	b.rows = append(b.rows, rc)
	return p.q.added(ctx, rowBytes(rc.before)+rowBytes(rc.after))
}

// enqueueText encodes one snapshot row read over the text protocol (of
// `SELECT <c.table.SelectList()>`, the published columns) into the batch
// being filled and queues it as a read ("r") change. The row's values
// point into the connection's buffer: only the encoding is kept.
func (p *publisher) enqueueText(ctx context.Context, c *tableCodec, row []mysql.FieldValue, src sourceInfo) error {
	b := p.batch()
	start := len(b.arena)
	arena, err := c.text.AppendKey(b.arena, row)
	if err != nil {
		return err
	}
	mid := len(arena)
	if arena, err = c.text.AppendValue(arena, row); err != nil {
		return err
	}
	var headers []kgo.RecordHeader
	if size := len(arena) - start; !p.oversize.fits(size + envelopeOverhead) {
		if arena, mid, headers, err = p.oversizedText(arena, start, c, row); err != nil {
			b.arena = arena[:start]
			return err
		}
	}
	b.arena = arena
	b.rows = append(b.rows, rowChange{codec: c, op: "r", encoded: true, span: arenaSpan{start, mid, len(arena)}, src: src, headers: headers})
	return p.q.added(ctx, len(arena)-start)
}

// oversizedText handles a snapshot row read over the text protocol whose
// Key and Value, appended to arena from start, are too large: it stops
// (OversizedStop), or encodes it again without its largest columns and
// returns the arena with those records instead, where the Value starts,
// and the header that names the columns.
func (p *publisher) oversizedText(arena []byte, start int, c *tableCodec, row []mysql.FieldValue) ([]byte, int, []kgo.RecordHeader, error) {
	size := len(arena) - start + envelopeOverhead
	key := textKeyString(c, row)
	if p.oversize.mode != OversizedSkipColumns {
		return arena, 0, nil, p.oversize.stopError(c, key, size, false)
	}
	idx := p.oversize.largest(c, size, func(i int) int {
		if row[i].Type != mysql.FieldValueTypeString {
			return 0
		}
		return len(row[i].AsString())
	})
	smaller := textWithoutColumns(c, row, idx)
	arena, err := c.text.AppendKey(arena[:start], smaller)
	if err != nil {
		return arena, 0, nil, err
	}
	mid := len(arena)
	if arena, err = c.text.AppendValue(arena, smaller); err != nil {
		return arena, 0, nil, err
	}
	hdr := omittedHeader(c, idx)
	if len(idx) == 0 || !p.oversize.fits(len(arena)-start+envelopeOverhead+len(hdr[0].Key)+len(hdr[0].Value)) {
		return arena, 0, nil, p.oversize.stopError(c, key, len(arena)-start+envelopeOverhead, true)
	}
	p.skipped(c, key, size, idx)
	return arena, mid, hdr, nil
}

// batch returns the batch being filled, starting the encoder when none
// runs.
func (p *publisher) batch() *changeBatch {
	q := &p.q
	if q.done == nil {
		q.batches = make(chan *changeBatch, queueDepth)
		if q.free == nil {
			q.free = make(chan *changeBatch, queueDepth+2)
		}
		q.done = make(chan struct{})
		q.discard.Store(false)
		go p.encodeLoop(p.txnCtx, q.batches, q.free, q.done)
	}
	if q.cur == nil {
		select {
		case q.cur = <-q.free:
		default:
			q.cur = &changeBatch{rows: make([]rowChange, 0, queueBatchRows)}
		}
	}
	return q.cur
}

// added accounts for a change of size bytes just added to the batch being
// filled, and hands the batch to the encoder once it is full.
func (q *encodeQueue) added(ctx context.Context, size int) error {
	q.bytes += size
	if len(q.cur.rows) < queueBatchRows && q.bytes < queueBatchBytes {
		return nil
	}
	return q.send(ctx)
}

// send hands the batch being filled to the encoder. Once ctx is done it
// still waits up to finalCommitTimeout: capture is stopping, and its final
// commit covers the changes read so far.
func (q *encodeQueue) send(ctx context.Context) error {
	if q.cur == nil || len(q.cur.rows) == 0 {
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
	if q.cur != nil {
		q.cur.reset()
	}
	q.bytes = 0
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
func (p *publisher) encodeLoop(ctx context.Context, batches <-chan *changeBatch, free chan<- *changeBatch, done chan<- struct{}) {
	defer close(done)
	failed := false
	for b := range batches {
		if !failed && !p.q.discard.Load() {
			if err := p.produceBatch(ctx, b); err != nil {
				// An encoding error; Kafka's come through the promise.
				p.fail(inClass(ClassOther, err))
				failed = true
			}
		}
		b.reset()
		select {
		case free <- b:
		default:
		}
	}
}

// reset empties the batch for reuse, dropping its references to values.
func (b *changeBatch) reset() {
	clear(b.rows)
	b.rows, b.arena = b.rows[:0], b.arena[:0]
}

// produceBatch encodes a batch of changes and produces their records. The
// keys and values of a batch share one buffer, and its records one slice
// and one time (ts_ms and the record timestamp); both are a recordBlock's,
// reused once Kafka has acknowledged every record.
func (p *publisher) produceBatch(ctx context.Context, b *changeBatch) error {
	batch := b.rows
	now := time.Now()
	nowMillis := now.UnixMilli()
	blk := p.blocks.get()
	// A quarter more than the last batch's mean, so that a batch of
	// somewhat longer rows does not copy the buffer while it grows.
	buf := slices.Grow(blk.buf[:0], 64+len(batch)*p.q.avgRecord*5/4)
	ends := p.q.ends[:0] // end of each key and each value in buf
	n := 0               // records, with tombstones
	for i := range batch {
		rc := &batch[i]
		start := len(buf)
		var err error
		if buf, err = p.appendRecords(buf, &ends, rc, b.arena, nowMillis); err != nil {
			p.blocks.put(blk)
			return err
		}
		if !rc.encoded && !p.oversize.fits(len(buf)-start) {
			if buf, rc.headers, err = p.oversizedChange(buf, &ends, start, rc, b.arena, nowMillis); err != nil {
				p.blocks.put(blk)
				return err
			}
		}
		n++
		if rc.op == "d" && p.tombs {
			n++
		}
	}
	p.q.avgRecord = len(buf)/len(batch) + 1
	p.q.ends = ends
	blk.buf = buf
	recs := blk.records(n)
	rctx := blk.bind(ctx, n)
	var tally eventTally
	start, j := 0, 0
	for i := range batch {
		rc := &batch[i]
		kEnd, vEnd := ends[2*i], ends[2*i+1]
		key := buf[start:kEnd:kEnd]
		r := &recs[j]
		r.Topic, r.Key, r.Value, r.Timestamp, r.Context = rc.codec.topic, key, buf[kEnd:vEnd:vEnd], now, rctx
		r.Headers = rc.headers
		p.cl.Produce(ctx, r, p.promise)
		tally.add(p.metrics, rc.codec.name, rc.op, vEnd-start)
		j++
		if rc.op == "d" && p.tombs {
			t := &recs[j]
			t.Topic, t.Key, t.Timestamp, t.Context = rc.codec.topic, key, now, rctx
			p.cl.Produce(ctx, t, p.promise)
			j++
		}
		start = vEnd
	}
	tally.flush(p.metrics)
	return nil
}

// appendRecords appends the framed Key and Envelope records of one change
// to buf and their ends to ends.
func (p *publisher) appendRecords(buf []byte, ends *[]int, rc *rowChange, arena []byte, nowMillis int64) ([]byte, error) {
	c := rc.codec
	buf = event.AppendFrame(buf, c.keyID)
	if rc.encoded {
		s := rc.span
		buf = append(buf, arena[s.start:s.mid]...)
		*ends = append(*ends, len(buf))
		buf = event.AppendFrame(buf, c.envID)
		buf = event.AppendEncodedEnvelope(buf, nil, arena[s.mid:s.end], p.source(rc.src), rc.op, nowMillis)
		*ends = append(*ends, len(buf))
		return buf, nil
	}
	row := rc.after
	if row == nil {
		row = rc.before
	}
	var err error
	if buf, err = c.enc.AppendKey(buf, row); err != nil {
		return buf, err
	}
	*ends = append(*ends, len(buf))
	buf = event.AppendFrame(buf, c.envID)
	if buf, err = c.enc.AppendEnvelope(buf, rc.before, rc.after, p.source(rc.src), rc.op, nowMillis); err != nil {
		return buf, err
	}
	*ends = append(*ends, len(buf))
	return buf, nil
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
