package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/syncline/syncline/fault"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/topics"
)

// shutdownTimeout bounds the final flush when Run's context ends.
const shutdownTimeout = 30 * time.Second

// Bounds of the steps of stopping that wait for Kafka: the final commit,
// and closing the consumer (leaving the group). A stop that comes while the
// group rejoins does not wait for the rejoin.
const (
	shutdownCommitTimeout = 3 * time.Second
	closeTimeout          = 3 * time.Second
)

// kafkaProbeEvery is how often apply checks, while Kafka fails and no poll
// says otherwise, whether a broker answers again.
const kafkaProbeEvery = time.Second

// Kafka fetch limits: with MaxConcurrentFetches they bound the records
// buffered inside the client.
const (
	fetchMaxBytes        = 32 << 20
	maxConcurrentFetches = 2
)

// Apply consumes change events from Kafka and writes them to one target
// through a Sink. Build it with New, then call Run.
type Apply struct {
	cfg    Config
	sink   Sink
	log    *slog.Logger
	health *health
}

// New validates cfg and returns an Apply writing to sink. It does no I/O.
func New(cfg Config, sink Sink) (*Apply, error) {
	if sink == nil {
		return nil, errors.New("apply: no sink")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Apply{cfg: cfg, sink: withMapping(sink, cfg.Mapping), log: cfg.Logger.With("component", "apply", "group", cfg.Group),
		health: newHealth(cfg.Metrics)}, nil
}

// run is the state of one Run.
type run struct {
	*Apply
	cl    *kgo.Client
	adm   *kadm.Client
	reg   *event.Registry
	ddl   *ddl
	retry retrier

	codecsMu sync.Mutex
	codecs   map[int]*event.EnvelopeCodec

	preparedMu sync.Mutex
	prepared   map[tableName]string // shape fingerprint last prepared, per target table
	ddlSeen    int                  // schema changes applied when prepared was last valid

	dlqMu    sync.Mutex
	dlqReady bool

	// buf is the buffer the consumer loop fills; w writes the one handed
	// off before it.
	buf *buffer
	w   writer
	er  *event.EnvelopeReader // decodes envelopes; used by the consumer loop only

	// stopping is set once Run's context ended: the final commit waits
	// shutdownCommitTimeout at most.
	stopping atomic.Bool
	// lastProbe and lastKafkaLog pace the Kafka checks and log lines of
	// the consumer loop.
	lastProbe, lastKafkaLog time.Time
}

// Run consumes until ctx ends or an error stops it. When ctx ends, the
// changes already read are written and their offsets committed (within
// 30 s), and Run returns nil. Run does not close the sink.
//
// Transient faults of Kafka, the registry and the target are retried for
// the retry window; an error that needs a person (refused credentials or
// privileges, a missing database, a changed key, a record that cannot be
// applied under OnErrorStop) is marked with fault.Permanent.
func (a *Apply) Run(ctx context.Context) error {
	return markPermanent(a.run(ctx))
}

func (a *Apply) run(ctx context.Context) error {
	opts, err := a.cfg.Kafka.Opts()
	if err != nil {
		return err
	}
	opts = append(opts[:len(opts):len(opts)], kgo.RetryBackoffFn(a.kafkaBackoff))
	srcl, err := sr.NewClient(sr.URLs(a.cfg.RegistryURL))
	if err != nil {
		return fmt.Errorf("schema registry %s: %w", a.cfg.RegistryURL, err)
	}
	admCl, err := kgo.NewClient(append(opts[:len(opts):len(opts)], kgo.MetadataMinAge(100*time.Millisecond))...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer admCl.Close()
	r := &run{
		Apply: a, adm: kadm.NewClient(admCl), reg: event.NewRegistry(srcl),
		retry:  retrier{policy: a.cfg.retryPolicy(), log: a.log, health: a.health},
		codecs: map[int]*event.EnvelopeCodec{}, prepared: map[tableName]string{},
		buf: newBuffer(), er: event.NewEnvelopeReader(),
	}
	if err := r.checkTarget(ctx); err != nil {
		return err
	}
	r.ddl = newDDL(&a.cfg, a.sink, r.reg, opts, r.adm, r.retry, a.log.With("topic", a.cfg.names().SchemaChanges()))

	// The schema-change reader and the consumer stop together: when one
	// fails, the other's context ends.
	outer := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ready := make(chan struct{})
	ddlDone := make(chan error, 1)
	go func() {
		err := r.ddl.run(ctx, ready)
		if err != nil && ctx.Err() == nil {
			cancel(err)
		}
		ddlDone <- err
	}()
	select {
	case <-ready:
	case <-ctx.Done():
	}
	var consumeErr error
	if ctx.Err() == nil {
		consumeErr = r.consume(ctx, opts)
	}
	cancel(nil)
	ddlErr := <-ddlDone
	switch {
	case errors.Is(consumeErr, errTaskStopped):
		return nil
	case outer.Err() != nil:
		// Stopped from outside: the final flush is done.
		return nil
	case ddlErr != nil && !errors.Is(ddlErr, context.Canceled):
		return ddlErr
	}
	return consumeErr
}

// consume runs the consumer group until ctx ends or an error stops it.
func (r *run) consume(ctx context.Context, opts []kgo.Opt) error {
	names := r.cfg.names()
	opts = opts[:len(opts):len(opts)]
	if r.cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(r.cfg.InstanceID))
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumerGroup(r.cfg.Group),
		kgo.ConsumeRegex(),
		kgo.ConsumeTopics(names.TablePattern()),
		kgo.ConsumeExcludeTopics(event.Names{Prefix: r.cfg.Prefix}.DeadLetterPattern()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.MetadataMaxAge(r.cfg.TopicRefresh),
		kgo.MetadataMinAge(min(r.cfg.TopicRefresh, time.Second)),
		kgo.FetchMaxBytes(fetchMaxBytes),
		kgo.MaxConcurrentFetches(maxConcurrentFetches),
		// Dead letters are table topics' records, which may be as
		// large as capture's batches.
		kgo.ProducerBatchMaxBytes(topics.MaxBatchBytes),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			r.health.ok(classKafka)
			r.log.Info("partitions assigned", "partitions", partitionsString(m))
		}),
		// The write in flight finishes before partitions are given up;
		// see handoff.go.
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			r.w.waitWriting()
			if len(m) > 0 {
				r.log.Info("partitions revoked", "partitions", partitionsString(m))
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			r.w.waitWriting()
			if len(m) > 0 {
				r.log.Warn("partitions lost", "partitions", partitionsString(m))
			}
		}),
	)...)
	if err != nil {
		return fmt.Errorf("kafka consumer: %w", err)
	}
	r.cl = cl
	r.cfg.Metrics.consuming()
	r.health.consuming()
	defer func() {
		closeWithin(cl, closeTimeout)
		if r.stopping.Load() {
			r.leaveGroup()
		}
	}()
	// Whatever ends the loop, the write in flight ends first (it is
	// cancelled with ctx when Run stops); the revoke callbacks of Close
	// wait for it.
	defer r.w.await()

	stop, err := r.watchTask(ctx, opts)
	if err != nil {
		return err
	}
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	r.w.stopPoll = stopPoll
	for {
		fetches := r.poll(pollCtx, stop)
		if ctx.Err() != nil {
			return r.shutdown(ctx)
		}
		if pollCtx.Err() != nil {
			// The write handed off last failed: nothing read after it
			// is committed.
			return r.w.awaitErr()
		}
		if stop != nil && stop.update(fetches.NumRecords(), r.buf.records+r.w.pending(), r.log) {
			return r.drained(ctx)
		}
		if fetches.IsClientClosed() {
			return r.stopWith(errors.New("kafka consumer closed"))
		}
		if ferr := r.kafkaErrors(ctx, fetches); ferr != nil {
			return r.stopWith(ferr)
		}
		polled := time.Now()
		var rerr error
		fetches.EachRecord(func(rec *kgo.Record) {
			if rerr == nil {
				rerr = r.add(ctx, rec, polled)
			}
		})
		if rerr != nil {
			if ctx.Err() != nil {
				return r.shutdown(ctx)
			}
			return r.stopWith(rerr)
		}
		if fetches.NumRecords() > 0 {
			r.health.ok(classKafka)
		}
		r.cfg.Metrics.read(fetches.NumRecords())
		switch {
		case r.buf.due(time.Now(), &r.cfg):
			if err := r.handOff(ctx); err != nil {
				if ctx.Err() != nil {
					return r.shutdown(ctx)
				}
				return err
			}
			cl.AllowRebalance()
		case r.buf.records == 0:
			cl.AllowRebalance()
		}
	}
}

// poll polls records: until the buffer's flush is due when it holds
// records, for at most a second while a task stop is followed, else until
// records arrive or ctx ends.
func (r *run) poll(ctx context.Context, stop *taskStop) kgo.Fetches {
	switch {
	case r.buf.records > 0:
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, r.buf.firstAt.Add(r.cfg.FlushInterval))
		defer cancel()
	case stop != nil, !r.health.failingSince(classKafka).IsZero():
		// Short polls: the task's requests are looked at, or whether Kafka
		// is back is checked, between them.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Second)
		defer cancel()
	}
	return r.cl.PollRecords(ctx, r.cfg.BatchRows)
}

// handOff hands the buffer to the writer (once the previous write and its
// commit are over) and starts a fresh one.
func (r *run) handOff(ctx context.Context) error {
	err := r.w.handOff(r.buf, func(b *buffer) error { return r.flush(ctx, b) })
	if err != nil {
		return err
	}
	r.buf = newBuffer()
	return nil
}

// stopWith ends the loop with err once the write in flight is over; the
// error of that write, when it failed, comes first (it is about earlier
// records).
func (r *run) stopWith(err error) error {
	if werr := r.w.awaitErr(); werr != nil && !errors.Is(err, werr) {
		return errors.Join(werr, err)
	}
	return err
}

// shutdown writes what was read, within shutdownTimeout, after Run's
// context ended: the buffer whose write the end interrupted, if any, then
// the buffer being filled.
func (r *run) shutdown(ctx context.Context) error {
	r.stopping.Store(true)
	var left []*buffer
	if h := r.w.await(); h != nil && h.err != nil {
		left = append(left, h.buf)
	}
	if r.buf.records > 0 {
		left = append(left, r.buf)
	}
	if len(left) == 0 {
		return nil
	}
	if c := context.Cause(ctx); !errors.Is(c, context.Canceled) && !errors.Is(c, context.DeadlineExceeded) {
		// Stopping because the schema-change reader failed: batches could
		// not wait for it.
		return nil
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	for _, b := range left {
		// In order: a buffer's offsets are committed only after the
		// buffers read before it were written.
		if err := r.flush(fctx, b); err != nil {
			r.log.Warn("final flush failed; the changes will be read again", "error", err)
			return nil
		}
	}
	return nil
}

// partitionsString formats an assignment for the log.
func partitionsString(m map[string][]int32) string {
	var parts []string
	for t, ps := range m {
		for _, p := range ps {
			parts = append(parts, t+"/"+strconv.Itoa(int(p)))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// item is one buffered change with where it came from.
type item struct {
	rec     *kgo.Record
	codec   *event.EnvelopeCodec
	src     tableName
	op      Op
	row     map[string]any
	key     string // the record key without its frame
	version int64
	ts      time.Time
}

// at names a record for errors.
func at(rec *kgo.Record) string {
	return fmt.Sprintf("topic %s partition %d offset %d", rec.Topic, rec.Partition, rec.Offset)
}

// buffer holds the changes read since the last flush.
type buffer struct {
	tables  map[tableName][]*item
	offsets map[string]map[int32]kgo.EpochOffset // next offsets to commit
	records int                                  // records read, changes or not
	changes int
	maxRows int // changes of the fullest table
	bytes   int
	firstAt time.Time
	polled  time.Time // when the newest record was polled
}

func newBuffer() *buffer {
	return &buffer{tables: map[tableName][]*item{}, offsets: map[string]map[int32]kgo.EpochOffset{}}
}

// due reports whether the buffer must be flushed now.
func (b *buffer) due(now time.Time, cfg *Config) bool {
	if b.records == 0 {
		return false
	}
	return b.maxRows >= cfg.BatchRows || b.bytes >= cfg.BufferBytes || now.Sub(b.firstAt) >= cfg.FlushInterval
}

// mark records rec as read: its offset is committed with the next flush.
func (b *buffer) mark(rec *kgo.Record, polled time.Time) {
	if b.records == 0 {
		b.firstAt = time.Now()
	}
	b.records++
	b.polled = polled
	b.bytes += len(rec.Key) + len(rec.Value)
	ps := b.offsets[rec.Topic]
	if ps == nil {
		ps = map[int32]kgo.EpochOffset{}
		b.offsets[rec.Topic] = ps
	}
	next := kgo.EpochOffset{Epoch: rec.LeaderEpoch, Offset: rec.Offset + 1}
	if cur, ok := ps[rec.Partition]; !ok || cur.Less(next) {
		ps[rec.Partition] = next
	}
}

func (b *buffer) addItem(it *item) {
	list := append(b.tables[it.src], it)
	b.tables[it.src] = list
	b.changes++
	b.maxRows = max(b.maxRows, len(list))
	b.bytes += len(it.rec.Value) // the decoded row
}

// add decodes one record into the buffer.
func (r *run) add(ctx context.Context, rec *kgo.Record, polled time.Time) error {
	r.buf.mark(rec, polled)
	if rec.Value == nil {
		return nil // tombstone
	}
	it, err := r.decode(ctx, rec)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The records before this one are written first, as when writing
		// and decoding took turns: a failed write stops apply before the
		// record is set aside, and dead letters keep the records' order.
		if werr := r.w.awaitErr(); werr != nil {
			return werr
		}
		return r.unusable(ctx, rec, "", fmt.Errorf("decode %s: %w", at(rec), err))
	}
	if it == nil {
		return nil // not a selected table
	}
	r.buf.addItem(it)
	return nil
}

// decode decodes a table record; nil means the table is not selected.
func (r *run) decode(ctx context.Context, rec *kgo.Record) (*item, error) {
	id, body, err := event.ParseFrame(rec.Value)
	if err != nil {
		return nil, err
	}
	_, key, err := event.ParseFrame(rec.Key)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	c, err := r.codec(ctx, id)
	if err != nil {
		return nil, err
	}
	ev, err := c.Decode(r.er, body)
	if err != nil {
		return nil, err
	}
	if r.cfg.Tables != nil && !r.cfg.Tables.Match(ev.DB, ev.Table) {
		return nil, nil
	}
	it := &item{
		rec: rec, codec: c, src: tableName{ev.DB, ev.Table}, key: string(key),
		version: ev.Version, ts: ev.SourceTS,
	}
	if ev.Op == "d" {
		it.op, it.row = Delete, ev.Before
	} else {
		it.op, it.row = Upsert, ev.After
		omitted, err := omittedColumns(rec)
		if err != nil {
			return nil, err
		}
		if len(omitted) > 0 {
			it.row = withoutColumns(it.row, omitted)
		}
	}
	return it, nil
}

// codec returns the envelope decoder of a schema id.
func (r *run) codec(ctx context.Context, id int) (*event.EnvelopeCodec, error) {
	r.codecsMu.Lock()
	c, ok := r.codecs[id]
	r.codecsMu.Unlock()
	if ok {
		return c, nil
	}
	var s avro.Schema
	err := r.retry.do(ctx, classRegistry, "fetch schema "+strconv.Itoa(id), func(ctx context.Context) error {
		var err error
		s, err = r.reg.Schema(ctx, id)
		return registryErr(err)
	})
	if err != nil {
		return nil, err
	}
	c, err = event.NewEnvelopeCodec(id, s)
	if err != nil {
		return nil, err
	}
	r.codecsMu.Lock()
	r.codecs[id] = c
	r.codecsMu.Unlock()
	return c, nil
}

// registryErr marks the registry errors worth retrying: everything but a
// 4xx answer.
func registryErr(err error) error {
	if err == nil {
		return nil
	}
	var re *sr.ResponseError
	if errors.As(err, &re) && re.StatusCode >= 400 && re.StatusCode < 500 {
		return err
	}
	return Retryable(err)
}

// unusable handles a record that cannot be applied: with OnErrorStop it
// returns the error that stops apply; with OnErrorDeadLetter it writes the
// record to the dead-letter topic and returns nil.
func (r *run) unusable(ctx context.Context, rec *kgo.Record, table string, cause error) error {
	if r.cfg.OnError != OnErrorDeadLetter {
		r.health.failed(classRecord, false)
		return fault.Permanent(fmt.Errorf("%w; to set records that cannot be applied aside and go on, restart apply with --on-error dead-letter", cause))
	}
	if err := r.deadLetter(ctx, rec, table, cause); err != nil {
		return errors.Join(cause, err)
	}
	r.log.Warn("record dead-lettered", "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset,
		"dead_letter_topic", r.cfg.deadLetterTopic(), "error", cause)
	return nil
}

// deadLetter writes rec to the dead-letter topic with the reason in its
// headers.
func (r *run) deadLetter(ctx context.Context, rec *kgo.Record, table string, cause error) error {
	topic := r.cfg.deadLetterTopic()
	r.dlqMu.Lock()
	ready := r.dlqReady
	r.dlqMu.Unlock()
	if !ready {
		err := r.retry.do(ctx, classKafka, "create topic "+topic, func(ctx context.Context) error {
			return Retryable(topics.Ensure(ctx, r.adm, topics.DeadLetterSpec(topic)))
		})
		if err != nil {
			return fmt.Errorf("dead-letter topic %s: %w", topic, err)
		}
		r.dlqMu.Lock()
		r.dlqReady = true
		r.dlqMu.Unlock()
	}
	out := &kgo.Record{
		Topic: topic, Key: rec.Key, Value: rec.Value,
		Headers: append(append([]kgo.RecordHeader(nil), rec.Headers...),
			kgo.RecordHeader{Key: "syncline.error", Value: []byte(cause.Error())},
			kgo.RecordHeader{Key: "syncline.topic", Value: []byte(rec.Topic)},
			kgo.RecordHeader{Key: "syncline.partition", Value: []byte(strconv.Itoa(int(rec.Partition)))},
			kgo.RecordHeader{Key: "syncline.offset", Value: []byte(strconv.FormatInt(rec.Offset, 10))},
			kgo.RecordHeader{Key: "syncline.table", Value: []byte(table)},
			kgo.RecordHeader{Key: "syncline.group", Value: []byte(r.cfg.Group)},
		),
	}
	err := r.retry.do(ctx, classKafka, "write to "+topic, func(ctx context.Context) error {
		if err := r.cl.ProduceSync(ctx, out).FirstErr(); err != nil {
			return Retryable(fmt.Errorf("write to dead-letter topic %s: %w", topic, err))
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.cfg.Metrics.deadLetter()
	return nil
}

// flush writes the changes of b, then commits the offsets of every record
// read into it.
func (r *run) flush(ctx context.Context, b *buffer) error {
	if b.changes > 0 {
		if err := r.ddl.sync(ctx, b.polled); err != nil {
			return fmt.Errorf("wait for schema changes: %w", err)
		}
		if err := r.writeAll(ctx, b); err != nil {
			return err
		}
	}
	if err := r.commit(ctx, b.offsets); err != nil {
		// The records are read again (by this member or another) and
		// written again, which the version guard makes harmless; a later
		// commit covers them too, once Kafka is back.
		r.health.failed(classKafka, true)
		r.log.Warn("commit offsets failed; the changes will be read again", "error", err)
	} else if len(b.offsets) > 0 {
		r.health.ok(classKafka)
	}
	r.cfg.Metrics.flushed(b.records)
	return nil
}

// commit commits offsets to the group.
func (r *run) commit(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	if len(offsets) == 0 {
		return nil
	}
	if r.stopping.Load() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, shutdownCommitTimeout)
		defer cancel()
	}
	var cerr error
	r.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && cerr == nil {
					cerr = fmt.Errorf("commit %s partition %d: %w", t.Topic, p.Partition, err)
				}
			}
		}
	})
	return cerr
}

// kafkaErrors looks at the errors a poll returned. Transient ones (the
// broker is down or restarting, the group session or generation was lost,
// a leader moved) are retried by the client; apply counts them, and stops
// only when Kafka keeps failing for the retry window. Others stop apply.
// While Kafka fails and a poll says nothing, a broker is pinged to notice
// its return.
func (r *run) kafkaErrors(ctx context.Context, fetches kgo.Fetches) error {
	var ferr error
	transient := false
	fetches.EachError(func(t string, p int32, err error) {
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		case isKafkaTransient(err):
			if !transient {
				transient = true
				r.health.failed(classKafka, true)
				r.logKafka("kafka unavailable; retrying", t, p, err)
			}
		case ferr == nil && errors.Is(err, kerr.FencedInstanceID):
			ferr = fmt.Errorf("another member of group %s took instance id %q: give each apply process of a group its own --instance-id: %w",
				r.cfg.Group, r.cfg.InstanceID, err)
		case ferr == nil:
			ferr = fmt.Errorf("read %s partition %d: %w", t, p, err)
		}
	})
	if ferr != nil {
		return ferr
	}
	since := r.health.failingSince(classKafka)
	if since.IsZero() {
		return nil
	}
	if !transient && time.Since(r.lastProbe) >= kafkaProbeEvery {
		r.lastProbe = time.Now()
		pctx, cancel := context.WithTimeout(ctx, kafkaProbeEvery)
		err := r.cl.Ping(pctx)
		cancel()
		if err == nil {
			r.log.Info("kafka answers again", "after", time.Since(since).Round(time.Millisecond))
			r.health.ok(classKafka)
			return nil
		}
	}
	if r.cfg.retryPolicy().Expired(since, time.Now()) {
		return fmt.Errorf("kafka: %w (%s, --retry-window)", ErrRetryWindow, r.cfg.RetryWindow)
	}
	return nil
}

// logKafka logs a transient Kafka error, at most once per retryLogEvery.
func (r *run) logKafka(msg, topic string, partition int32, err error) {
	if time.Since(r.lastKafkaLog) < retryLogEvery {
		return
	}
	r.lastKafkaLog = time.Now()
	r.log.Warn(msg, "topic", topic, "partition", partition, "error", err)
}

// kafkaBackoff is the Kafka client's wait before its next try of a failing
// request: RetryBackoffMin doubled per failure, up to RetryBackoffMax.
func (a *Apply) kafkaBackoff(fails int) time.Duration {
	return a.cfg.retryPolicy().Wait(fails)
}

// closeWithin closes a consumer, allowing the rebalance it may wait for,
// but returns after d at the latest: a close that comes while the group
// rejoins would wait for the join (up to the rebalance timeout). The
// client finishes closing in the background.
func closeWithin(cl *kgo.Client, d time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl.CloseAllowingRebalance()
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// leaveGroup makes a static member that stops on purpose leave the group
// (a dynamic one left when its client closed), so that its partitions go
// to the other members, or to its successor under another instance id (a
// new pod), at once rather than after the session timeout. A member killed
// without a chance to leave keeps its partitions until it restarts with
// the same instance id, which gets them back at once.
func (r *run) leaveGroup() {
	if r.cfg.InstanceID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	resp, err := r.adm.LeaveGroup(ctx, kadm.LeaveGroup(r.cfg.Group).InstanceIDs(r.cfg.InstanceID).Reason("syncline apply stopping"))
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		r.log.Info("could not leave the group; the partitions move once the session times out", "instance_id", r.cfg.InstanceID, "error", err)
	}
}
