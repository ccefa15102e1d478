package capture_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/topics"
)

// topicNames lists the topics of the pipeline's prefix.
func (p *pipeline) topicNames() []string {
	p.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...))
	if err != nil {
		p.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tds, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	var out []string
	for _, n := range tds.Names() {
		if strings.HasPrefix(n, p.prefix+".") {
			out = append(out, n)
		}
	}
	return out
}

// TestOnlineDDLRename runs pt-online-schema-change with a column rename and
// an added column on a streaming table: capture publishes exactly one
// alter_table of t carrying the rename and the new columns, no topic and no
// event for the helper tables, no snapshot read again, and t's rows after
// the swap in the new shape.
func TestOnlineDDLRename(t *testing.T) {
	p := newPipeline(t)
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10), b INT)")
	for i := 1; i <= 300; i++ {
		mustExec(t, db, "INSERT INTO t VALUES (?, ?, ?)", i, fmt.Sprint("a", i), i)
	}
	topic := p.prefix + "." + p.db + ".t"
	stop := p.start()
	waitFor(t, 60*time.Second, "the snapshot", func() bool { return len(p.readAll(topic)) >= 300 })
	mustExec(t, db, "UPDATE t SET b = -b WHERE id <= 5")
	p.src.OnlineSchemaChange(t, p.db, "t", "CHANGE a a2 VARCHAR(20), ADD COLUMN c INT", "--chunk-size", "50", "--no-check-alter")
	mustExec(t, db, "INSERT INTO t (id, a2, b, c) VALUES (1000, 'after', 1, 2)")
	mustExec(t, db, "UPDATE t SET a2 = 'renamed' WHERE id = 1")
	waitFor(t, 60*time.Second, "the rows after the swap", func() bool { return len(p.readAll(topic)) >= 307 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	evs := p.readAll(topic)
	reads := 0
	for _, ev := range evs {
		if ev.Op == "r" {
			reads++
		}
	}
	if reads != 300 {
		t.Errorf("%d snapshot reads of t, want the 300 of the first snapshot only", reads)
	}
	last := evs[len(evs)-1]
	if last.Op != "u" || fieldList(last.After) != "a2,b,c,id" || norm(last.After["a2"]) != "renamed" {
		t.Errorf("last event: %s %v, want the update of a2 in the new shape", last.Op, last.After)
	}
	for _, n := range p.topicNames() {
		if strings.Contains(n, "_t_") {
			t.Errorf("topic %s for a helper table", n)
		}
	}
	ddl := p.readSchemaChanges()
	if len(ddl) != 1 {
		t.Fatalf("%d schema changes, want one alter_table: %v", len(ddl), ddl)
	}
	ev := ddl[0]
	if ev["kind"] != "alter_table" || norm(ev["table"]) != "t" || !strings.HasPrefix(ev["ddl"].(string), "RENAME TABLE") {
		t.Errorf("schema change: %v", ev)
	}
	if r := fmt.Sprint(ev["renamed_columns"]); r != "map[a:a2]" {
		t.Errorf("renamed_columns %s, want map[a:a2]", r)
	}
	var cols []struct{ Name, Type string }
	if err := json.Unmarshal([]byte(norm(ev["columns"]).(string)), &cols); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cols); got != "[{id int} {a2 varchar(20)} {b int} {c int}]" {
		t.Errorf("columns %s", got)
	}
}

// TestOnlineDDLOff: with --online-ddl off, pt-online-schema-change's new
// table is captured as a table of its own, as before, and the swap is two
// renames. pt-osc drops the old table as soon as the swap is done, so
// capture (when behind) looks at t's old-table name only after it is gone:
// the table is still not parked, and its rename is published.
func TestOnlineDDLOff(t *testing.T) {
	p := newPipeline(t)
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, a INT)")
	mustExec(t, db, "INSERT INTO t VALUES (1, 1), (2, 2)")
	stop := p.startWith(func(c *capture.Config) { c.OnlineDDL = capture.OnlineDDLOff })
	waitFor(t, 60*time.Second, "the snapshot", func() bool { return len(p.readAll(p.prefix+"."+p.db+".t")) >= 2 })
	p.src.OnlineSchemaChange(t, p.db, "t", "ADD COLUMN c INT")
	// The drop of the old table is pt-osc's last statement.
	const want = "create_table _t_new,alter_table _t_new,rename_table t>_t_old,rename_table _t_new>t,drop_table _t_old"
	var got string
	waitFor(t, 60*time.Second, "the schema changes up to the drop of _t_old", func() bool {
		var kinds []string
		for _, ev := range p.readSchemaChanges() {
			k := fmt.Sprintf("%s %v", ev["kind"], norm(ev["table"]))
			if n := norm(ev["new_table"]); n != nil {
				k += fmt.Sprintf(">%v", n)
			}
			kinds = append(kinds, k)
		}
		got = strings.Join(kinds, ",")
		return strings.HasSuffix(got, "drop_table _t_old")
	})
	if got != want {
		t.Errorf("schema changes %s; want the helper table's own: %s", got, want)
	}
	var ops []string
	for _, ev := range p.readAll(p.prefix + "." + p.db + "._t_new") {
		ops = append(ops, ev.Op)
	}
	if got := strings.Join(ops, ","); got != "c,c" {
		t.Errorf("helper table's topic: events %s, want the inserts of its 2 rows (c,c)", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestOnlineDDLRenameAcrossRestart: capture stops between the ghost
// table's ALTER TABLE (gh-ost's statements) and the swap; started again,
// it still publishes the column rename with the swap, from its checkpoint.
func TestOnlineDDLRenameAcrossRestart(t *testing.T) {
	p := newPipeline(t)
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10))")
	mustExec(t, db, "INSERT INTO t VALUES (1, 'one'), (2, 'two')")
	topic := p.prefix + "." + p.db + ".t"
	stop := p.start()
	waitFor(t, 60*time.Second, "the snapshot", func() bool { return len(p.readAll(topic)) >= 2 })
	mustExec(t, db, "CREATE /* gh-ost */ TABLE `_t_gho` LIKE `t`")
	mustExec(t, db, "ALTER /* gh-ost */ TABLE `_t_gho` RENAME COLUMN a TO b")
	mustExec(t, db, "INSERT /* gh-ost */ IGNORE INTO `_t_gho` (id, b) (SELECT id, a FROM `t`)")
	mustExec(t, db, "UPDATE t SET a = 'uno' WHERE id = 1")
	waitFor(t, 60*time.Second, "the update", func() bool { return len(p.readAll(topic)) >= 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if cp := p.checkpoint(); fmt.Sprint(cp.Tables[p.db+".t"].OnlineDDL) != "map[_t_gho:map[a:b]]" {
		t.Errorf("checkpoint of t: %+v; want the rename of _t_gho", cp.Tables[p.db+".t"])
	}
	mustExec(t, db, "REPLACE /* gh-ost */ INTO `_t_gho` (id, b) VALUES (1, 'uno')")
	mustExec(t, db, "RENAME /* gh-ost */ TABLE `t` TO `_t_del`, `_t_gho` TO `t`")
	mustExec(t, db, "DROP /* gh-ost */ TABLE IF EXISTS `_t_del`")
	mustExec(t, db, "INSERT INTO t VALUES (3, 'three')")
	evs := p.captureUntil(topic, 4, noEdit)
	if last := evs[len(evs)-1]; fieldList(last.After) != "b,id" {
		t.Errorf("row after the swap: %v, want columns b, id", last.After)
	}
	ddl := p.readSchemaChanges()
	if len(ddl) != 1 || ddl[0]["kind"] != "alter_table" || fmt.Sprint(ddl[0]["renamed_columns"]) != "map[a:b]" {
		t.Errorf("schema changes %v; want one alter_table renaming a to b", ddl)
	}
}

// TestOnlineDDLDeleteBeforeSnapshotAgain: a swap while t is in its snapshot
// starts the snapshot again, and a row the first snapshot published that is
// deleted before the new snapshot reads its first chunk is deleted in the
// topic too (the new snapshot no longer finds it). Capture is stopped in the
// middle of the first snapshot and the swap and the delete run meanwhile, so
// that capture reads both before the new snapshot's first chunk.
func TestOnlineDDLDeleteBeforeSnapshotAgain(t *testing.T) {
	p := newPipeline(t)
	p.spec.ChunkRows = 10
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id BIGINT PRIMARY KEY, n INT NOT NULL)")
	const rows, per = 4000, 500
	for i := 0; i < rows; i += per {
		args := make([]any, 0, 2*per)
		for id := i + 1; id <= i+per; id++ {
			args = append(args, id, 0)
		}
		mustExec(t, db, "INSERT INTO t (id, n) VALUES "+strings.TrimSuffix(strings.Repeat("(?, ?), ", per), ", "), args...)
	}
	topic := p.prefix + "." + p.db + ".t"
	stop := p.startWith(func(c *capture.Config) { c.ChunkTime = time.Millisecond })
	waitFor(t, 60*time.Second, "part of the snapshot", func() bool { return len(p.readAll(topic)) >= 50 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := p.checkpoint().Tables[p.db+".t"]; st.Stage != topics.StageSnapshot || len(st.AfterKey) == 0 {
		t.Fatalf("checkpoint of t: %+v; want it in the middle of its snapshot", st)
	}

	mustExec(t, db, "CREATE TABLE _t_new LIKE t")
	mustExec(t, db, "ALTER TABLE _t_new ADD COLUMN c INT")
	mustExec(t, db, "INSERT INTO _t_new (id, n) SELECT id, n FROM t")
	mustExec(t, db, "RENAME TABLE t TO _t_old, _t_new TO t")
	mustExec(t, db, "DROP TABLE _t_old")
	mustExec(t, db, "DELETE FROM t WHERE id IN (1, 2, 3)")
	mustExec(t, db, "UPDATE t SET n = 1 WHERE id = 4")

	stop = p.start()
	waitFor(t, 120*time.Second, "the snapshot taken again", func() bool {
		cp := p.checkpoint()
		return cp != nil && cp.Tables[p.db+".t"].Stage == topics.StageStreaming
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	evs := p.readAll(topic)
	deletes := 0
	for _, ev := range evs {
		if ev.Op == "d" {
			deletes++
		}
	}
	if deletes != 3 {
		t.Errorf("%d deletes in the topic, want the 3 made between the swap and the new snapshot", deletes)
	}
	got, want := replayQuiet(evs), sourceRows(t, db, "t")
	if !sameRows(got, want) {
		for id := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("key %d in the topic but deleted in the source", id)
			}
		}
		t.Fatalf("the topic replays to %d rows, the source has %d", len(got), len(want))
	}
}

// TestOnlineDDLTwoStepDeleteBeforeSnapshot: gh-ost's two-step cut-over
// (RENAME TABLE t TO _t_del, then _t_gho TO t) snapshots the new t, whose
// topic still holds the old t's rows; a row deleted before that snapshot
// reads its first chunk is deleted in the topic too. Capture is stopped
// while t streams and the cut-over and the delete run meanwhile, so that
// capture reads both before the snapshot's first chunk.
func TestOnlineDDLTwoStepDeleteBeforeSnapshot(t *testing.T) {
	p := newPipeline(t)
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id BIGINT PRIMARY KEY, n INT NOT NULL)")
	for id := 1; id <= 20; id++ {
		mustExec(t, db, "INSERT INTO t (id, n) VALUES (?, 0)", id)
	}
	topic := p.prefix + "." + p.db + ".t"
	stop := p.start()
	waitFor(t, 60*time.Second, "the snapshot", func() bool {
		cp := p.checkpoint()
		return cp != nil && cp.Tables[p.db+".t"].Stage == topics.StageStreaming
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	mustExec(t, db, "CREATE /* gh-ost */ TABLE `_t_gho` LIKE `t`")
	mustExec(t, db, "ALTER /* gh-ost */ TABLE `_t_gho` ADD COLUMN c INT NULL")
	mustExec(t, db, "INSERT /* gh-ost */ IGNORE INTO `_t_gho` (id, n) (SELECT id, n FROM `t`)")
	mustExec(t, db, "RENAME /* gh-ost */ TABLE `t` TO `_t_del`")
	mustExec(t, db, "RENAME /* gh-ost */ TABLE `_t_gho` TO `t`")
	mustExec(t, db, "DROP /* gh-ost */ TABLE IF EXISTS `_t_del`")
	mustExec(t, db, "DELETE FROM t WHERE id IN (1, 2, 3)")

	stop = p.start()
	waitFor(t, 120*time.Second, "the new t's snapshot", func() bool {
		reads := 0
		for _, ev := range p.readAll(topic) {
			if ev.Op == "r" {
				reads++
			}
		}
		return reads >= 20+17 // the first snapshot's and the new one's
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := p.checkpoint().Tables[p.db+".t"]; st.Stage != topics.StageStreaming || st.Again {
		t.Errorf("checkpoint of t: %+v; want it streaming after its snapshot", st)
	}
	got, want := replayQuiet(p.readAll(topic)), sourceRows(t, db, "t")
	if !sameRows(got, want) {
		for id := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("key %d in the topic but deleted in the source", id)
			}
		}
		t.Fatalf("the topic replays to %d rows, the source has %d", len(got), len(want))
	}
}
