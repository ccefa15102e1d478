package topics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// CheckpointFormat is the version of the checkpoint JSON written by this
// code. A checkpoint of a newer format is refused rather than misread.
const CheckpointFormat = 1

// Table stages in a checkpoint.
const (
	StageSnapshot  = "snapshot"
	StageStreaming = "streaming"
	// StageParked is a table capture set aside because it cannot be
	// captured any more (no usable key, a column type without a mapping,
	// rules that no longer fit): its topic gets no events until it is
	// re-included (syncline task resync, or a capture restart once fixed).
	// TableState.Reason says why.
	StageParked = "parked"
)

// Checkpoint is capture's position, stored in the checkpoint topic in the
// same Kafka transaction as the events it covers (docs/events.md).
type Checkpoint struct {
	Format   int    `json:"version"`
	ServerID uint32 `json:"server_id"`
	// File and Pos are where reading resumes: the start of the current source
	// transaction when SkipRows > 0, else the end of the last one published.
	File string `json:"file"`
	Pos  uint32 `json:"pos"`
	// GTIDSet is the source's GTID set at File:Pos, for people and for
	// failover tooling; resuming uses File and Pos.
	GTIDSet string `json:"gtid_set,omitempty"`
	// SkipRows counts the row images of the transaction at File:Pos that are
	// already published.
	SkipRows int64 `json:"skip_rows"`
	// Tables maps "db.table" to its stage.
	Tables map[string]TableState `json:"tables"`
	// SourceTSMillis is the commit time of the last source event read, or the
	// source's clock at the last heartbeat.
	SourceTSMillis int64 `json:"source_ts_ms"`
	// TSMillis is when capture wrote the checkpoint.
	TSMillis int64 `json:"ts_ms"`
}

// TableState is one table's stage in a checkpoint.
type TableState struct {
	Stage string `json:"state"`
	// AfterKey is the JSON array of the last key the snapshot published;
	// empty when the snapshot has not started.
	AfterKey json.RawMessage `json:"after_key,omitempty"`
	// Rows is the number of rows the snapshot has published so far.
	Rows int64 `json:"rows,omitempty"`
	// Reason is why a parked table cannot be captured, with the fix.
	Reason string `json:"reason,omitempty"`
	// OnlineDDL holds, per helper table of an online schema change of the
	// table in progress (pt-online-schema-change's _t_new, gh-ost's
	// _t_gho), the column renames its ALTER TABLE made, old name to new.
	OnlineDDL map[string]map[string]string `json:"online_ddl,omitempty"`
	// Again is set while a table is snapshotted again over rows already
	// published, after an online schema change swapped it during or just
	// after its snapshot: binlog changes of every key are published.
	Again bool `json:"again,omitempty"`
}

// Record returns the checkpoint as a record for the checkpoint topic, keyed
// by the capture's name.
func (c Checkpoint) Record(topic, name string) (*kgo.Record, error) {
	c.Format = CheckpointFormat
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode checkpoint: %w", err)
	}
	return &kgo.Record{Topic: topic, Partition: 0, Key: []byte(name), Value: b}, nil
}

// ErrNoCheckpoint is returned by ReadCheckpoint when the topic holds no
// committed checkpoint for the name.
var ErrNoCheckpoint = errors.New("no checkpoint")

// ReadCheckpoint returns the last committed checkpoint of the named capture.
// It reads the end of the checkpoint topic with read_committed isolation, so a
// checkpoint of an aborted transaction is never seen.
func ReadCheckpoint(ctx context.Context, opts []kgo.Opt, topic, name string) (*Checkpoint, error) {
	adm, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	ends, err := kadm.NewClient(adm).ListCommittedOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	end, ok := ends.Lookup(topic, 0)
	if !ok || end.Err != nil {
		if ok {
			err = end.Err
		}
		return nil, fmt.Errorf("list offsets of %s: %w", topic, errors.Join(ErrNoCheckpoint, err))
	}
	for window := int64(64); ; window *= 8 {
		start := max(end.Offset-window, 0)
		cp, err := readCheckpointRange(ctx, opts, topic, name, start, end.Offset)
		if err == nil || !errors.Is(err, ErrNoCheckpoint) || start == 0 {
			return cp, err
		}
	}
}

// readCheckpointRange reads [start, end) of partition 0 and returns the last
// checkpoint of name in it.
func readCheckpointRange(ctx context.Context, opts []kgo.Opt, topic, name string, start, end int64) (*Checkpoint, error) {
	if start >= end {
		return nil, ErrNoCheckpoint
	}
	cl, err := kgo.NewClient(append(opts[:len(opts):len(opts)],
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(start)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var last []byte
	// Offsets below end that hold no visible record (transaction markers,
	// aborted records) never arrive, so stop once nothing more comes.
	idle := 5 * time.Second // the first fetch also connects
	for {
		pctx, cancel := context.WithTimeout(ctx, idle)
		idle = 500 * time.Millisecond
		fetches := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		reachedEnd := false
		var fetchErr error
		fetches.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				fetchErr = err
			}
		})
		if fetchErr != nil {
			return nil, fmt.Errorf("read %s: %w", topic, fetchErr)
		}
		n := 0
		fetches.EachRecord(func(r *kgo.Record) {
			n++
			if string(r.Key) == name && r.Offset < end {
				last = r.Value
			}
			if r.Offset >= end-2 {
				// The last visible record before end (end-1 is the
				// transaction marker of a committed transaction).
				reachedEnd = true
			}
		})
		if reachedEnd || n == 0 {
			break
		}
	}
	if last == nil {
		return nil, ErrNoCheckpoint
	}
	var cp Checkpoint
	if err := json.Unmarshal(last, &cp); err != nil {
		return nil, fmt.Errorf("decode checkpoint of %s in %s: %w", name, topic, err)
	}
	if cp.Format > CheckpointFormat {
		return nil, fmt.Errorf("checkpoint of %s in %s has format %d; this syncline reads up to %d: upgrade syncline", name, topic, cp.Format, CheckpointFormat)
	}
	return &cp, nil
}
