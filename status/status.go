// Package status reports where a task stands, from Kafka alone: capture's
// checkpoint (each table's stage, the binlog position and the delay behind
// the source), the table topics' offsets, and for each apply consumer group
// how far it is behind on each table. syncline status and syncline demo print
// it.
//
// Kafka counts offsets, and every transaction capture commits takes one
// offset for its commit marker, so the offset columns and the rates slightly
// overstate the rows. A group's lag is exact (records not yet applied) when
// it is small, and counted in offsets otherwise.
package status

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/topics"
)

// metadataMaxAge bounds the age of the topic metadata a report uses.
const metadataMaxAge = 250 * time.Millisecond

// DefaultStalledAfter is Config.StalledAfter's default: many heartbeats of
// a capture with the default --heartbeat (1s).
const DefaultStalledAfter = 30 * time.Second

// ExactLagLimit is the largest lag of one partition, in offsets, that
// Collect counts exactly by reading the records in question.
const ExactLagLimit = 10000

// Config says which task to report on.
type Config struct {
	// Kafka is the cluster the task uses.
	Kafka topics.Kafka
	// RegistryURL, when set, is the task's schema registry; the report
	// then counts the prefix's subjects (and fails if it is unreachable).
	RegistryURL string
	// Prefix is the task's topic prefix (event.DefaultPrefix when empty).
	Prefix string
	// Capture is the name of capture's checkpoint; the prefix when empty.
	Capture string
	// Groups are the apply consumer groups to report; when empty, every
	// group that committed offsets on the prefix's table topics.
	Groups []string
	// StalledAfter is the age beyond which capture's checkpoint counts as
	// stalled: a running capture commits one at least every heartbeat,
	// even on an idle source (DefaultStalledAfter).
	StalledAfter time.Duration
}

// Validate fills in defaults and checks the configuration without I/O.
func (c *Config) Validate() error {
	if c.Prefix == "" {
		c.Prefix = event.DefaultPrefix
	}
	if c.Capture == "" {
		c.Capture = c.Prefix
	}
	if c.StalledAfter == 0 {
		c.StalledAfter = DefaultStalledAfter
	}
	var errs []error
	if c.StalledAfter < 0 {
		errs = append(errs, fmt.Errorf("stalled-after: %s must be positive", c.StalledAfter))
	}
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !event.ValidPrefix(c.Prefix) {
		errs = append(errs, fmt.Errorf("topic-prefix: %q must be 1-150 characters of [A-Za-z0-9_-]", c.Prefix))
	}
	for _, g := range c.Groups {
		if strings.TrimSpace(g) == "" {
			errs = append(errs, errors.New("group: a group name is empty"))
		}
	}
	return errors.Join(errs...)
}

// Report is the state of a task at one moment.
type Report struct {
	// At is when the report was collected.
	At time.Time
	// Prefix is the task's topic prefix.
	Prefix string
	// Capture is capture's last checkpoint; nil when it has written none.
	Capture *Capture
	// Tables are the captured tables, by name.
	Tables []Table
	// Groups are the apply consumer groups, by name.
	Groups []Group
	// Subjects counts the registry subjects of the prefix; -1 when no
	// registry was given.
	Subjects int
}

// Capture is what capture's checkpoint says.
type Capture struct {
	// Name is the checkpoint's key.
	Name string
	// Checkpoint is the checkpoint itself.
	Checkpoint topics.Checkpoint
	// Delay is the report's time minus the source commit time of the last
	// change captured (or of the last heartbeat); 0 when unknown.
	Delay time.Duration
	// Age is how long ago the checkpoint was written.
	Age time.Duration
	// Stalled is set when Age is beyond Config.StalledAfter: capture is
	// down, or cannot commit (Kafka or the source is unreachable), and has
	// been for about Age.
	Stalled bool
}

// Snapshotting counts the tables whose snapshot is not finished.
func (c *Capture) Snapshotting() int {
	n := 0
	for _, t := range c.Checkpoint.Tables {
		if t.Stage == topics.StageSnapshot {
			n++
		}
	}
	return n
}

// Parked counts the tables capture set aside because they cannot be
// captured.
func (c *Capture) Parked() int {
	n := 0
	for _, t := range c.Checkpoint.Tables {
		if t.Stage == topics.StageParked {
			n++
		}
	}
	return n
}

// Table is one captured table.
type Table struct {
	// Name is "db.table" as in the checkpoint; for a topic the checkpoint
	// does not name (a table no longer captured), the topic.
	Name string
	// Topic is the table's topic; "" when capture has not created it yet.
	Topic string
	// Stage is topics.StageSnapshot, topics.StageStreaming or
	// topics.StageParked; "" when the checkpoint does not name the table.
	Stage string
	// Reason is why a parked table cannot be captured, with the fix.
	Reason string
	// SnapshotRows is the number of rows the snapshot has published.
	SnapshotRows int64
	// Partitions is the topic's partition count.
	Partitions int
	// Start and End are the sums over the partitions of the first offset
	// and of the committed end offset (the last stable offset).
	Start, End int64
}

// Group is one apply consumer group.
type Group struct {
	// Name is the group id.
	Name string
	// State is the group's state as the broker reports it (Stable, Empty,
	// PreparingRebalance, Dead...).
	State string
	// Members counts the group's members.
	Members int
	// Tables has one entry per entry of Report.Tables, in the same order.
	Tables []GroupTable
	// Err is why the group could not be described, if it could not.
	Err error
}

// GroupTable is a group's progress on one table.
type GroupTable struct {
	// Committed is the sum over the partitions of the committed offset
	// (the partition's start where the group committed none).
	Committed int64
	// Lag is how many records the group has not applied yet: exact when
	// Exact, else in offsets (commit markers included).
	Lag   int64
	Exact bool
}

// Lag sums a group's lag over its tables.
func (g *Group) Lag() (lag int64, exact bool) {
	exact = true
	for _, t := range g.Tables {
		lag += t.Lag
		exact = exact && t.Exact
	}
	return lag, exact
}

// Monitor collects reports of one task. It holds a Kafka client; Close it.
type Monitor struct {
	cfg  Config
	opts []kgo.Opt
	cl   *kgo.Client
	adm  *kadm.Client
	reg  *sr.Client
}

// New validates cfg and returns a Monitor. It connects on first use.
func New(cfg Config) (*Monitor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, err := cfg.Kafka.Opts()
	if err != nil {
		return nil, err
	}
	// kadm answers from metadata cached up to MetadataMinAge (5 s by
	// default), which would hide topics created since the last report.
	cl, err := kgo.NewClient(append(slices.Clip(opts), kgo.MetadataMinAge(metadataMaxAge))...)
	if err != nil {
		return nil, fmt.Errorf("kafka %s: %w", cfg.Kafka, err)
	}
	m := &Monitor{cfg: cfg, opts: opts, cl: cl, adm: kadm.NewClient(cl)}
	if cfg.RegistryURL != "" {
		if m.reg, err = sr.NewClient(sr.URLs(cfg.RegistryURL)); err != nil {
			cl.Close()
			return nil, fmt.Errorf("registry %s: %w", cfg.RegistryURL, err)
		}
	}
	return m, nil
}

// Close closes the Kafka client.
func (m *Monitor) Close() { m.cl.Close() }

// partitionRange is the offsets of one partition a report looks at.
type partitionRange struct {
	start, end int64
}

// Collect reads the task's state from Kafka (and the registry).
func (m *Monitor) Collect(ctx context.Context) (*Report, error) {
	names := event.Names{Prefix: m.cfg.Prefix}
	rep := &Report{Prefix: m.cfg.Prefix, Subjects: -1}

	listed, err := m.adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("list topics of %s: %w", m.cfg.Kafka, err)
	}
	tablePattern := regexp.MustCompile(names.TablePattern())
	var tableTopics []string
	partitions := map[string]int{}
	for _, td := range listed.Sorted() {
		if tablePattern.MatchString(td.Topic) {
			tableTopics = append(tableTopics, td.Topic)
			partitions[td.Topic] = len(td.Partitions)
		}
	}

	if listed.Has(names.Checkpoints()) {
		cp, err := topics.ReadCheckpoint(ctx, m.opts, names.Checkpoints(), m.cfg.Capture)
		switch {
		case errors.Is(err, topics.ErrNoCheckpoint):
		case err != nil:
			return nil, fmt.Errorf("read checkpoint: %w", err)
		default:
			rep.Capture = &Capture{Name: m.cfg.Capture, Checkpoint: *cp}
		}
	}

	ranges := map[string]map[int32]partitionRange{}
	if len(tableTopics) > 0 {
		starts, err := m.adm.ListStartOffsets(ctx, tableTopics...)
		if err != nil {
			return nil, fmt.Errorf("list start offsets: %w", err)
		}
		ends, err := m.adm.ListCommittedOffsets(ctx, tableTopics...)
		if err != nil {
			return nil, fmt.Errorf("list end offsets: %w", err)
		}
		if err := errors.Join(starts.Error(), ends.Error()); err != nil {
			return nil, fmt.Errorf("list offsets: %w", err)
		}
		ends.Each(func(o kadm.ListedOffset) {
			if ranges[o.Topic] == nil {
				ranges[o.Topic] = map[int32]partitionRange{}
			}
			s, _ := starts.Lookup(o.Topic, o.Partition)
			ranges[o.Topic][o.Partition] = partitionRange{start: s.Offset, end: o.Offset}
		})
	}
	rep.Tables = tablesOf(names, rep.Capture, tableTopics, partitions, ranges)

	groups, err := m.groups(ctx, tableTopics)
	if err != nil {
		return nil, err
	}
	if err := m.describeGroups(ctx, rep, groups, ranges); err != nil {
		return nil, err
	}

	if m.reg != nil {
		subjects, err := m.reg.Subjects(ctx)
		if err != nil {
			return nil, fmt.Errorf("registry %s: %w", m.cfg.RegistryURL, err)
		}
		rep.Subjects = 0
		for _, s := range subjects {
			if strings.HasPrefix(s, m.cfg.Prefix+".") || s == m.cfg.Prefix+"-key" || s == m.cfg.Prefix+"-value" {
				rep.Subjects++
			}
		}
	}

	rep.At = time.Now()
	if c := rep.Capture; c != nil {
		if c.Checkpoint.SourceTSMillis > 0 {
			c.Delay = max(rep.At.Sub(time.UnixMilli(c.Checkpoint.SourceTSMillis)), 0)
		}
		if c.Checkpoint.TSMillis > 0 {
			c.Age = max(rep.At.Sub(time.UnixMilli(c.Checkpoint.TSMillis)), 0)
			c.Stalled = c.Age > m.cfg.StalledAfter
		}
	}
	return rep, nil
}

// tablesOf lists the tables: every table the checkpoint names, and every
// table topic, matched by name.
func tablesOf(names event.Names, c *Capture, tableTopics []string, partitions map[string]int, ranges map[string]map[int32]partitionRange) []Table {
	byTopic := map[string]*Table{}
	var out []*Table
	if c != nil {
		for name, st := range c.Checkpoint.Tables {
			db, table, _ := strings.Cut(name, ".")
			t := &Table{Name: name, Topic: names.Table(db, table), Stage: st.Stage, SnapshotRows: st.Rows, Reason: st.Reason}
			if !slices.Contains(tableTopics, t.Topic) {
				t.Topic = ""
			} else {
				byTopic[t.Topic] = t
			}
			out = append(out, t)
		}
	}
	for _, topic := range tableTopics {
		t := byTopic[topic]
		if t == nil {
			t = &Table{Name: topic, Topic: topic}
			out = append(out, t)
		}
		t.Partitions = partitions[topic]
		for _, r := range ranges[topic] {
			t.Start += r.start
			t.End += r.end
		}
	}
	slices.SortFunc(out, func(a, b *Table) int { return strings.Compare(a.Name, b.Name) })
	tables := make([]Table, len(out))
	for i, t := range out {
		tables[i] = *t
	}
	return tables
}

// groups returns the groups to report: the configured ones, or every group
// with offsets committed on a table topic.
func (m *Monitor) groups(ctx context.Context, tableTopics []string) ([]string, error) {
	if len(m.cfg.Groups) > 0 {
		g := slices.Clone(m.cfg.Groups)
		slices.Sort(g)
		return slices.Compact(g), nil
	}
	listed, err := m.adm.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("list consumer groups: %w", err)
	}
	all := listed.Groups()
	if len(all) == 0 || len(tableTopics) == 0 {
		return nil, nil
	}
	var out []string
	for _, r := range m.adm.FetchManyOffsets(ctx, all...) {
		if r.Err != nil {
			continue
		}
		for _, topic := range tableTopics {
			if _, ok := r.Fetched[topic]; ok {
				out = append(out, r.Group)
				break
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// describeGroups adds each group's state and lag to rep.
func (m *Monitor) describeGroups(ctx context.Context, rep *Report, groups []string, ranges map[string]map[int32]partitionRange) error {
	if len(groups) == 0 {
		return nil
	}
	described, err := m.adm.DescribeGroups(ctx, groups...)
	if err != nil && len(described) == 0 {
		return fmt.Errorf("describe consumer groups: %w", err)
	}
	committed := map[string]kadm.OffsetResponses{}
	for _, name := range groups {
		g := Group{Name: name}
		if d, ok := described[name]; ok {
			g.State, g.Members, g.Err = d.State, len(d.Members), d.Err
		}
		if g.Err == nil {
			offs, err := m.adm.FetchOffsets(ctx, name)
			if err == nil {
				err = offs.Error()
			}
			g.Err = err
			committed[name] = offs
		}
		rep.Groups = append(rep.Groups, g)
	}

	// Where a group is a little behind, count the records it has not
	// applied: read each such partition once, from the lowest commit.
	need := map[string]map[int32]partitionRange{}
	for _, g := range rep.Groups {
		for topic, parts := range ranges {
			for p, r := range parts {
				c := commitOf(committed[g.Name], topic, p, r)
				if c >= r.end || r.end-c > ExactLagLimit {
					continue
				}
				if need[topic] == nil {
					need[topic] = map[int32]partitionRange{}
				}
				cur, ok := need[topic][p]
				if !ok || c < cur.start {
					need[topic][p] = partitionRange{start: c, end: r.end}
				}
			}
		}
	}
	visible, err := m.visibleOffsets(ctx, need)
	if err != nil {
		return err
	}

	for i := range rep.Groups {
		g := &rep.Groups[i]
		g.Tables = make([]GroupTable, len(rep.Tables))
		for j, t := range rep.Tables {
			gt := GroupTable{Exact: true}
			for p, r := range ranges[t.Topic] {
				c := commitOf(committed[g.Name], t.Topic, p, r)
				gt.Committed += c
				switch offs, counted := visible[t.Topic][p]; {
				case c >= r.end:
				case counted:
					// offs is sorted; count those at or above c.
					k, _ := slices.BinarySearch(offs, c)
					gt.Lag += int64(len(offs) - k)
				default:
					gt.Lag += r.end - c
					gt.Exact = false
				}
			}
			g.Tables[j] = gt
		}
	}
	return nil
}

// commitOf returns a group's committed offset of a partition, or the
// partition's start when it committed none (or one below the start, for
// records that expired).
func commitOf(offs kadm.OffsetResponses, topic string, p int32, r partitionRange) int64 {
	if o, ok := offs.Lookup(topic, p); ok && o.Err == nil && o.At >= r.start {
		return o.At
	}
	return r.start
}

// visibleOffsets reads the given ranges with read_committed isolation and
// returns the offsets of the records a consumer sees there (not commit
// markers, not aborted records), sorted.
func (m *Monitor) visibleOffsets(ctx context.Context, need map[string]map[int32]partitionRange) (map[string]map[int32][]int64, error) {
	out := map[string]map[int32][]int64{}
	consume := map[string]map[int32]kgo.Offset{}
	remaining := 0
	for topic, parts := range need {
		out[topic] = map[int32][]int64{}
		consume[topic] = map[int32]kgo.Offset{}
		for p, r := range parts {
			out[topic][p] = nil
			consume[topic][p] = kgo.NewOffset().At(r.start)
			remaining++
		}
	}
	if remaining == 0 {
		return out, nil
	}
	// With the control records (commit and abort markers) kept, the last
	// offset below the end always arrives, so reading stops there rather
	// than after waiting for records that never come.
	cl, err := kgo.NewClient(append(slices.Clip(m.opts),
		kgo.ConsumePartitions(consume),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	done := map[string]map[int32]bool{}
	// Should the last offset never arrive (compaction), stop once nothing
	// more comes.
	idle := 5 * time.Second // the first fetch also connects
	for remaining > 0 {
		pctx, cancel := context.WithTimeout(ctx, idle)
		fetches := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idle = 300 * time.Millisecond
		var fetchErr error
		fetches.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				fetchErr = err
			}
		})
		if fetchErr != nil {
			return nil, fmt.Errorf("read table topics: %w", fetchErr)
		}
		if fetches.NumRecords() == 0 {
			break
		}
		fetches.EachRecord(func(rec *kgo.Record) {
			r := need[rec.Topic][rec.Partition]
			if rec.Offset < r.end && !rec.Attrs.IsControl() {
				out[rec.Topic][rec.Partition] = append(out[rec.Topic][rec.Partition], rec.Offset)
			}
			if rec.Offset >= r.end-1 && !done[rec.Topic][rec.Partition] {
				if done[rec.Topic] == nil {
					done[rec.Topic] = map[int32]bool{}
				}
				done[rec.Topic][rec.Partition] = true
				remaining--
			}
		})
	}
	return out, nil
}
