package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/pingcap/tidb/pkg/parser"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/fault"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/internal/retry"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/task"
	"github.com/syncline/syncline/topics"
)

// Errors a user acts on.
var (
	// ErrPositionPurged means the stored binlog position is no longer on
	// the source.
	ErrPositionPurged = errors.New("the stored binlog position was purged from the source")
	// ErrUnparsedDDL means a statement on a captured table could not be
	// followed: it could not be read, or it changes rows without row events.
	ErrUnparsedDDL = errors.New("cannot follow DDL statement")

	errCheckpoint = errors.New("checkpoint does not fit the source")
	errBadTable   = errors.New("table cannot be captured")
)

// Capture reads one source server into Kafka.
type Capture struct {
	cfg Config
	log *slog.Logger
}

// New validates cfg and returns a Capture. It does no I/O.
func New(cfg Config) (*Capture, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Capture{cfg: cfg, log: cfg.Logger.With("component", "capture")}, nil
}

// run is the state of one Run.
type run struct {
	*Capture
	conn   *client.Conn // metadata queries
	pub    *publisher
	flavor string
	srcID  uint32 // the source's server_id

	// Binlog stream state.
	file       string   // current binlog file
	resumePos  position // where to resume when not inside a transaction
	lastTxnEnd position // end of the last source transaction read
	inTxn      bool
	txnStart   position
	txnGTID    string
	rowsInTxn  int64 // row images of the open transaction seen so far
	skipRows   int64 // row images of the first transaction to skip (resume)
	gtidSet    map[uint32]string
	sourceTS   time.Time
	lastCommit time.Time
	dirty      bool // position moved since the last commit

	tables map[string]*tableState // "db.table"
	sel    Selection              // the tables selected now
	// shapes caches, by "db.table", the information_schema shape of the
	// captured tables whose binlog rows have BINARY(16) or BINARY(4)
	// columns, which may be UUID, INET6 or INET4 (fixedBinaryTypes); any
	// DDL clears it.
	shapes map[string]schema.Table

	// The task's object list and control requests (Config.Task).
	store      *task.Store
	revision   int
	taskEvents <-chan task.Event
	snap       *snapshot
	snapDone   []*tableState // tables whose snapshot the current round finished (onlineddl.go)
	parser     *parser.Parser

	// Health.
	streak         *streak
	established    bool // an earlier run found or committed a checkpoint
	checkpointRead bool // the checkpoint was looked up in Kafka
	hasCheckpoint  bool // and found
	committed      bool // the run committed a transaction
}

// Run captures until ctx is done or an error stops it. On return every event
// it published is committed with its checkpoint, or aborted.
//
// A failure that may pass (a lost connection, Kafka unavailable) restarts
// the capture from its last checkpoint, with backoff between
// RetryBackoffMin and RetryBackoffMax, for up to RetryWindow (retry.Policy);
// one that needs a person (a setting, a purged position, a keyless table, an
// unreadable DDL, refused credentials or privileges) stops it at once with
// an error marked fault.Permanent. Before capture has a checkpoint (its
// first start), a source it cannot reach and a registry it cannot use are
// such settings too.
//
// Health hears NotReady while capture starts or retries, and Ready once a
// run commits; the metrics count the retries and time the failing streak.
func (c *Capture) Run(ctx context.Context) error {
	s := &streak{log: c.log, metrics: c.cfg.Metrics, health: c.cfg.Health}
	s.notReady("starting: connecting to Kafka and the source")
	policy := retry.Policy{Window: c.cfg.RetryWindow, Min: c.cfg.RetryBackoffMin, Max: c.cfg.RetryBackoffMax}
	established := false // a checkpoint was found or committed
	for {
		r := &run{Capture: c, gtidSet: map[uint32]string{}, streak: s, established: established}
		err := r.run(ctx)
		established = established || r.hasCheckpoint || r.committed
		if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
			return nil
		}
		if errors.Is(err, errTaskStopped) {
			return nil
		}
		if err == nil {
			return nil
		}
		err = explain(err, c.cfg.Source.User)
		if permanent(err) || (r.checkpointRead && !established && startupFault(err)) {
			s.stopped(err)
			return fault.Permanent(err)
		}
		// The streak, and with it the backoff, starts over after a commit.
		backoff := policy.Wait(s.Retries + 1)
		if failingFor := s.failure(err, backoff); failingFor > policy.Window {
			return fmt.Errorf("giving up after retrying for %s: %w", c.cfg.RetryWindow, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
	}
}

// permanent reports whether an error needs a person rather than a retry:
// one retry.IsPermanent knows (refused credentials, a bad URL) or one of
// capture's own. Any other error is retried.
func permanent(err error) bool {
	return retry.IsPermanent(err,
		ErrPositionPurged, ErrUnparsedDDL, ErrBinlogOff, ErrNotRowFormat, ErrNotFullImage,
		ErrNoRowMetadata, ErrNoTablesFound, errBadTable,
		schema.ErrNoKey, schema.ErrUnsupportedType, schema.ErrNoRowMetadata, errCheckpoint, errUndecodable,
		errBadRules, task.ErrBadSpec, errOversized, errPrivilege,
	)
}

func (r *run) run(ctx context.Context) error {
	cfg := r.cfg
	kopts, err := cfg.Kafka.Opts()
	if err != nil {
		return err
	}
	kopts = append(kopts, kgo.RetryTimeout(cfg.KafkaTimeout))
	names := event.Names{Prefix: cfg.Prefix}
	conn, err := endpoint.DialMySQL(ctx, cfg.Source, 10*time.Second)
	if err != nil {
		if startupFault(err) && !r.established {
			// Whether a checkpoint exists decides how this is taken.
			r.lookupCheckpoint(ctx, kopts, names)
		}
		return inClass(ClassSource, err)
	}
	defer conn.Close()
	r.conn = conn
	info, err := checkSource(conn)
	if err != nil {
		return inClass(ClassSource, err)
	}
	r.flavor, r.srcID = info.flavor, info.serverID

	adminCl, err := kgo.NewClient(kopts...)
	if err != nil {
		return fmt.Errorf("kafka %s: %w", cfg.Kafka, err)
	}
	err = topics.Ensure(ctx, kadm.NewClient(adminCl), topics.CheckpointsSpec(names.Checkpoints()))
	adminCl.Close()
	if err != nil {
		return inClass(ClassKafka, fmt.Errorf("kafka %s: %w", cfg.Kafka, err))
	}
	if err := r.loadTask(ctx, kopts); err != nil {
		return inClass(ClassKafka, err)
	}
	cp, err := topics.ReadCheckpoint(ctx, kopts, names.Checkpoints(), cfg.Name)
	if errors.Is(err, topics.ErrNoCheckpoint) {
		cp, err = nil, nil
	}
	if err != nil {
		return inClass(ClassKafka, fmt.Errorf("kafka %s: %w", cfg.Kafka, err))
	}
	r.checkpointRead, r.hasCheckpoint = true, cp != nil
	if cp != nil && cp.SourceTSMillis > 0 {
		cfg.Metrics.restored(time.UnixMilli(cp.SourceTSMillis))
	}

	srcl, err := sr.NewClient(sr.URLs(cfg.RegistryURL))
	if err != nil {
		return inClass(ClassRegistry, fmt.Errorf("registry %s: %w", cfg.RegistryURL, err))
	}
	prod, err := kgo.NewClient(append(kopts[:len(kopts):len(kopts)],
		kgo.TransactionalID("syncline-capture-"+cfg.Name),
		kgo.TransactionTimeout(2*time.Minute),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.MaxBufferedRecords(50000),
		// No linger: a batch goes out as soon as the previous request
		// allows, so batches grow with the load while one is in flight,
		// and a commit's flush never waits for a linger to expire.
		kgo.ProducerLinger(0),
		// Batches as large as the topics accept (topics.MaxBatchBytes,
		// which they are created with): a batch is checked compressed by
		// the broker, uncompressed by the producer.
		kgo.ProducerBatchMaxBytes(int32(cfg.MaxRecordBytes)),
		// A record Kafka does not take within the timeout fails the
		// transaction, and capture restarts, rather than waiting on a
		// broker that is gone.
		kgo.RecordDeliveryTimeout(cfg.KafkaTimeout),
	)...)
	if err != nil {
		return fmt.Errorf("kafka %s: %w", cfg.Kafka, err)
	}
	defer prod.Close()
	r.pub, err = newPublisher(prod, event.NewRegistry(srcl), names, cfg.Name, cfg.Partitions, !cfg.NoTombstones, cfg.Metrics)
	if err != nil {
		return err
	}
	r.pub.oversize = oversizePolicy{mode: cfg.Oversized, max: cfg.MaxRecordBytes, brokers: strings.Join(cfg.Kafka.Brokers, ","), log: r.log}

	start, err := r.restore(ctx, cp, info)
	if err != nil {
		return inClass(ClassSource, err)
	}
	r.log.Info("capture starting", "source", cfg.Source.Redacted(), "flavor", r.flavor,
		"position", start.String(), "tables", len(r.tables), "snapshot_pending", r.pendingSnapshots())

	tlsCfg, err := endpoint.MySQLTLSConfig(cfg.Source)
	if err != nil {
		return err
	}
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID:                cfg.ServerID,
		Flavor:                  r.flavor,
		Host:                    cfg.Source.Host,
		Port:                    uint16(cfg.Source.Port),
		User:                    cfg.Source.User,
		Password:                cfg.Source.Password.Reveal(),
		Charset:                 "utf8mb4",
		ParseTime:               true,
		TimestampStringLocation: time.UTC,
		HeartbeatPeriod:         cfg.Heartbeat,
		// Decoded events waiting for capture; each holds up to ~8 KB of
		// rows, so the default of 10240 would hold hundreds of MB.
		EventCacheCount:      256,
		ReadTimeout:          cfg.Heartbeat*3 + 10*time.Second,
		DisableRetrySync:     true,
		MaxReconnectAttempts: 1,
		Logger:               binlogLogger(r.log),
		TLSConfig:            tlsCfg,
	})
	defer syncer.Close()
	streamer, err := syncer.StartSync(mysql.Position{Name: start.File, Pos: start.Pos})
	if err != nil {
		var me *mysql.MyError
		if errors.As(err, &me) && me.Code == mysql.ER_ACCESS_DENIED_ERROR {
			// The same user just logged in: the binlog connection is
			// refused for want of REPLICATION SLAVE.
			return fmt.Errorf("%w: the source refused the binlog connection (%s); grant the capture user REPLICATION SLAVE: GRANT REPLICATION SLAVE ON *.* TO '%s'@'%%'",
				errPrivilege, me.Message, cfg.Source.User)
		}
		return inClass(ClassSource, fmt.Errorf("start binlog stream at %s: %w", start, err))
	}
	defer r.closeSnapshot()
	err = r.stream(ctx, streamer)
	if err != nil {
		err = r.pub.abort(err)
	}
	return r.purgedError(err, start)
}

// lookupCheckpoint finds out, without creating anything, whether capture
// has a checkpoint; it stays unknown when Kafka does not answer.
func (r *run) lookupCheckpoint(ctx context.Context, kopts []kgo.Opt, names event.Names) {
	ctx, cancel := context.WithTimeout(ctx, 2*r.cfg.KafkaTimeout)
	defer cancel()
	_, err := topics.ReadCheckpoint(ctx, kopts, names.Checkpoints(), r.cfg.Name)
	switch {
	case err == nil:
		r.checkpointRead, r.hasCheckpoint = true, true
	case errors.Is(err, topics.ErrNoCheckpoint):
		r.checkpointRead = true
	}
}

// purgedError turns the server's "could not find first log file" into
// ErrPositionPurged with the way out.
func (r *run) purgedError(err error, start position) error {
	var me *mysql.MyError
	if errors.As(err, &me) && me.Code == mysql.ER_MASTER_FATAL_ERROR_READING_BINLOG {
		return fmt.Errorf("%w: %s is gone (%s); start capture with --snapshot when_needed to snapshot the tables again", ErrPositionPurged, start, me.Message)
	}
	return err
}

// restore sets the stream and table state from the checkpoint, or for a
// new capture from the source, and returns the position to stream from.
func (r *run) restore(ctx context.Context, cp *topics.Checkpoint, info sourceInfoRow) (position, error) {
	selected, err := listTables(ctx, r.conn, r.sel)
	if err != nil {
		return position{}, err
	}
	dropGhosts(r.cfg.OnlineDDL, selected)
	if cp != nil && cp.ServerID != 0 && cp.ServerID != info.serverID {
		return position{}, fmt.Errorf("%w: the checkpoint of %q was taken on source server_id %d but %s has server_id %d: the binlog positions do not carry over; use a new --topic-prefix (or delete the task) to start over", errCheckpoint, r.cfg.Name, cp.ServerID, r.cfg.Source.Redacted(), info.serverID)
	}
	resumed := cp != nil
	if cp != nil && r.cfg.Snapshot == SnapshotWhenNeeded && !positionExists(ctx, r.conn, position{cp.File, cp.Pos}) {
		r.log.Warn("stored position was purged from the source; snapshotting every table again", "position", position{cp.File, cp.Pos}.String())
		cp = nil
	}
	if !resumed {
		// The first selection: a table that cannot be captured is refused
		// with the fix. A resumed capture parks it instead (recheckTables).
		defs, err := checkTables(ctx, r.conn, selected)
		if err != nil {
			return position{}, err
		}
		if err := checkRules(ctx, r.conn, r.sel, selected, defs); err != nil {
			return position{}, err
		}
	}
	if err := r.storeTask(ctx); err != nil {
		return position{}, err
	}
	r.tables = map[string]*tableState{}
	if cp != nil {
		for name, st := range cp.Tables {
			ts, err := restoreTableState(name, st)
			if err != nil {
				return position{}, err
			}
			if _, ok := selected[name]; ok {
				r.tables[name] = ts
			}
		}
	}
	newStage := stageSnapshot
	if r.cfg.Snapshot == SnapshotNever {
		newStage = stageStreaming
	}
	for name, ref := range selected {
		if _, ok := r.tables[name]; !ok {
			r.tables[name] = &tableState{db: ref.db, name: ref.name, stage: newStage}
		} else {
			r.tables[name].db, r.tables[name].name = ref.db, ref.name
		}
	}
	var fixed []*tableState
	if resumed {
		if fixed, err = r.recheckTables(ctx); err != nil {
			return position{}, err
		}
	}
	if cp != nil {
		r.skipRows = cp.SkipRows
		if cp.SourceTSMillis > 0 {
			r.sourceTS = time.UnixMilli(cp.SourceTSMillis)
		}
		start := r.setStart(position{cp.File, cp.Pos})
		for _, ts := range fixed {
			if err := r.reinclude(ctx, ts); err != nil {
				return position{}, err
			}
		}
		return start, nil
	}
	if r.pendingSnapshots() > 0 {
		// Open the first snapshot now and stream from its position, so
		// the first chunk needs no catching up.
		if err := r.openSnapshot(ctx); err != nil {
			return position{}, err
		}
		return r.setStart(r.snap.pos), nil
	}
	p, err := masterPosition(r.conn)
	if err != nil {
		return position{}, err
	}
	return r.setStart(p), nil
}

// loadTask selects the tables: from the task's object list in Kafka when
// the capture belongs to a task (following its changes from then on), else
// from Config.Tables. A new task's list is stored by storeTask once the
// tables and their rules passed the checks.
func (r *run) loadTask(ctx context.Context, kopts []kgo.Opt) error {
	r.sel = r.cfg.Tables
	if r.cfg.Task == "" {
		return nil
	}
	r.store = task.NewStore(kopts, r.cfg.Prefix, r.cfg.Task)
	rev, next, err := r.store.Latest(ctx)
	switch {
	case errors.Is(err, task.ErrNoRevision):
	case err != nil:
		return fmt.Errorf("task %s: %w", r.cfg.Task, err)
	default:
		if !task.Equal(rev.Objects, r.cfg.Tables.(*task.Objects).List()) {
			r.log.Warn("the task's object list was changed while it ran; using the list kept in Kafka, not the spec file's (syncline task update replaces it with the file's)",
				"revision", rev.Revision, "change", rev.Change)
		}
		sel, err := task.CompileObjects(rev.Objects)
		if err != nil {
			return fmt.Errorf("task %s: %w", r.cfg.Task, err)
		}
		r.sel, r.revision = sel, rev.Revision
	}
	r.taskEvents, err = r.store.Watch(ctx, next)
	if err != nil {
		return fmt.Errorf("task %s: %w", r.cfg.Task, err)
	}
	return nil
}

// storeTask stores a new task's object list as its first revision, after
// the checks passed, so that a spec capture refused is not kept.
func (r *run) storeTask(ctx context.Context) error {
	if r.store == nil || r.revision > 0 {
		return nil
	}
	rev, _, err := r.store.Init(ctx, r.cfg.Tables.(*task.Objects).List())
	if err != nil {
		return inClass(ClassKafka, fmt.Errorf("task %s: %w", r.cfg.Task, err))
	}
	r.revision = rev.Revision
	return nil
}

func (r *run) setStart(p position) position {
	r.file, r.resumePos, r.lastTxnEnd = p.File, p, p
	r.dirty = true
	return p
}

func (r *run) pendingSnapshots() int {
	n := 0
	for _, t := range r.tables {
		if t.stage == stageSnapshot {
			n++
		}
	}
	return n
}

// nextSnapshotTable returns the first table still to snapshot, in name
// order so restarts pick the same one.
func (r *run) nextSnapshotTable() *tableState {
	var names []string
	for n, t := range r.tables {
		if t.stage == stageSnapshot {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return r.tables[names[0]]
}

// checkpoint returns the checkpoint of the current state.
func (r *run) checkpoint() topics.Checkpoint {
	cp := topics.Checkpoint{
		ServerID: r.srcID,
		File:     r.resumePos.File, Pos: r.resumePos.Pos,
		GTIDSet: r.gtidString(),
		Tables:  make(map[string]topics.TableState, len(r.tables)),
	}
	if r.inTxn {
		cp.File, cp.Pos, cp.SkipRows = r.txnStart.File, r.txnStart.Pos, r.rowsInTxn
	}
	if !r.sourceTS.IsZero() {
		cp.SourceTSMillis = r.sourceTS.UnixMilli()
	}
	for n, t := range r.tables {
		cp.Tables[n] = t.checkpoint()
	}
	return cp
}

// commit commits the open Kafka transaction with the current checkpoint.
func (r *run) commit(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.KafkaTimeout)
	defer cancel()
	if err := r.pub.commit(cctx, r.checkpoint()); err != nil {
		if ctx.Err() == nil && cctx.Err() != nil {
			err = fmt.Errorf("kafka did not take the transaction within %s: %w", r.cfg.KafkaTimeout, err)
		}
		return inClass(ClassKafka, err)
	}
	r.lastCommit = time.Now()
	r.dirty = false
	r.committed = true
	r.cfg.Metrics.committed(r.sourceTS)
	r.cfg.Metrics.tablesParked(r.parkedCount())
	r.streak.committed()
	return nil
}
