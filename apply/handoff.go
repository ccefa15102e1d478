package apply

import (
	"context"
	"sync"
)

// The consumer loop decodes while the previous buffer is written: a due
// buffer is handed to a goroutine that writes it and commits its offsets,
// and the loop polls and decodes into a fresh buffer meanwhile. The depth is
// one: the next hand-off waits until the previous write and its commit are
// over, so buffers are written and committed in the order they were read,
// and at most two are held (the one written and the one filled).
//
// Rebalances (kgo.BlockRebalanceOnPoll). A poll that returns records blocks
// rebalances until AllowRebalance, and the client runs the partition
// callbacks only while no poll is in progress. The loop calls
// AllowRebalance only when the buffer it fills is empty: right after a
// hand-off, or after a poll that buffered nothing. A write may still be in
// flight then, so OnPartitionsRevoked and OnPartitionsLost wait for it to
// finish (waitWriting) before the client gives the partitions up. Hence:
//   - the records buffered for filling always belong to partitions the
//     member owns: no revocation can happen while the buffer is not empty,
//     and the client drops the fetched records of revoked partitions
//     before the next poll returns;
//   - the write in flight commits its offsets inside the revoke callback's
//     window, while the member still owns those partitions; when they were
//     lost instead (the session expired), that commit fails and the records
//     are read again, which the version guard makes harmless;
//   - a rebalance does not starve: under steady load a buffer is handed
//     off, and rebalances allowed, at least every FlushInterval plus one
//     write. A revoke callback waits at most for one write, as the inline
//     flush it replaces did.

// handoff is one buffer handed to the writer goroutine.
type handoff struct {
	records int           // the buffer's records
	done    chan struct{} // closed when the write and its commit are over
	// Read after done is closed: the write's error, and the buffer when
	// the write failed (it is let go of once written).
	err error
	buf *buffer
}

// finished reports whether the write is over.
func (h *handoff) finished() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// writer holds the write in flight of one Run. The consumer loop hands
// buffers off; the rebalance callbacks wait for the write in flight.
type writer struct {
	// stopPoll ends the consumer loop's poll when a write fails.
	stopPoll context.CancelFunc

	mu sync.Mutex
	// cur is the last buffer handed off, until its write succeeded and the
	// loop noticed; a failed write stays, so that shutdown can write its
	// buffer again and nothing read after it is committed.
	cur *handoff
}

// current returns the last buffer handed off, nil when none is pending.
func (w *writer) current() *handoff {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur
}

// await waits for the write in flight and returns it (nil when none). A
// successful write is forgotten; a failed one is returned again by every
// later call.
func (w *writer) await() *handoff {
	h := w.current()
	if h == nil {
		return nil
	}
	<-h.done
	if h.err == nil {
		w.mu.Lock()
		w.cur = nil
		w.mu.Unlock()
	}
	return h
}

// awaitErr waits for the write in flight and returns its error.
func (w *writer) awaitErr() error {
	if h := w.await(); h != nil {
		return h.err
	}
	return nil
}

// pending returns the records of the buffer handed off and not yet
// written and committed.
func (w *writer) pending() int {
	if h := w.current(); h != nil && (!h.finished() || h.err != nil) {
		return h.records
	}
	return 0
}

// waitWriting waits until no write is in flight, for the rebalance
// callbacks.
func (w *writer) waitWriting() {
	if h := w.current(); h != nil {
		<-h.done
	}
}

// handOff waits for the previous write (returning its error, if it failed,
// without handing b off), then starts writing and committing b with write
// on its own goroutine.
func (w *writer) handOff(b *buffer, write func(*buffer) error) error {
	if err := w.awaitErr(); err != nil {
		return err
	}
	h := &handoff{records: b.records, done: make(chan struct{})}
	w.mu.Lock()
	w.cur = h
	w.mu.Unlock()
	go func() {
		defer close(h.done)
		if h.err = write(b); h.err != nil {
			h.buf = b
			w.stopPoll()
		}
	}()
	return nil
}
