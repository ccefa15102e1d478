package capture_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/topics"
)

// runOnce runs capture until it returns or d passes, with the
// configuration changed by edits first.
func (p *pipeline) runOnce(d time.Duration, edits ...func(*capture.Config)) error {
	p.t.Helper()
	cfg, err := p.spec.config()
	if err != nil {
		p.t.Fatal(err)
	}
	for _, edit := range edits {
		edit(&cfg)
	}
	c, err := capture.New(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.Run(ctx)
}

// topicsOf lists the topics of the pipeline's prefix.
func (p *pipeline) topicsOf() []string {
	p.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...))
	if err != nil {
		p.t.Fatal(err)
	}
	defer cl.Close()
	tds, err := kadm.NewClient(cl).ListTopics(context.Background())
	if err != nil {
		p.t.Fatal(err)
	}
	var out []string
	for _, n := range tds.Names() {
		if strings.HasPrefix(n, p.prefix) {
			out = append(out, n)
		}
	}
	return out
}

func TestRefusesSourceItCannotRead(t *testing.T) {
	cases := []struct {
		name string
		opts testenv.MariaDBOptions
		want error
		fix  string
	}{
		{"statement format", testenv.MariaDBOptions{BinlogFormat: "STATEMENT"}, capture.ErrNotRowFormat, "binlog_format=ROW"},
		{"minimal row image", testenv.MariaDBOptions{RowImage: "MINIMAL"}, capture.ErrNotFullImage, "binlog_row_image=FULL"},
		{"no row metadata", testenv.MariaDBOptions{RowMetadata: "MINIMAL"}, capture.ErrNoRowMetadata, "binlog_row_metadata=FULL"},
		{"binlog off", testenv.MariaDBOptions{NoBinlog: true}, capture.ErrBinlogOff, "log_bin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := testenv.StartMariaDB(t, c.opts)
			p := newPipeline(t)
			p.spec.Source = src.URL("")
			src.Exec(t, "CREATE DATABASE "+p.db)
			src.Exec(t, "CREATE TABLE "+p.db+".t (id INT PRIMARY KEY)")
			err := p.runOnce(20 * time.Second)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.fix) {
				t.Fatalf("got %v, want %v naming %q", err, c.want, c.fix)
			}
			if strings.Contains(err.Error(), src.Password) {
				t.Fatalf("error shows the password: %v", err)
			}
			if got := p.topicsOf(); len(got) > 0 {
				t.Fatalf("capture wrote topics %v before refusing", got)
			}
		})
	}
}

func TestRefusesTableWithoutKey(t *testing.T) {
	p := newPipeline(t)
	p.src.Exec(t, "CREATE TABLE "+p.db+".nokey (a INT, b INT)")
	p.src.Exec(t, "CREATE TABLE "+p.db+".ok (id INT PRIMARY KEY)")
	err := p.runOnce(20 * time.Second)
	if err == nil || !strings.Contains(err.Error(), p.db+".nokey") || !strings.Contains(err.Error(), "--exclude-tables") {
		t.Fatalf("got %v, want an error naming the table and --exclude-tables", err)
	}
	if got := p.topicsOf(); len(got) > 1 { // the checkpoint topic may exist
		t.Fatalf("capture wrote topics %v before refusing", got)
	}
}

// TestPurgedPosition stops capture, lets the source purge the binlog it
// would resume from, and checks the named error and the way out.
func TestPurgedPosition(t *testing.T) {
	src := testenv.StartMariaDB(t, testenv.MariaDBOptions{})
	p := newPipeline(t)
	p.spec.Source = src.URL("")
	src.Exec(t, "CREATE DATABASE "+p.db)
	db := src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE items (id BIGINT PRIMARY KEY, n INT NOT NULL)")
	mustExec(t, db, "INSERT INTO items VALUES (1, 0), (2, 0)")
	topic := p.prefix + "." + p.db + ".items"
	p.captureUntil(topic, 2, noEdit)
	mustExec(t, db, "INSERT INTO items VALUES (3, 0)")
	// MariaDB keeps a binlog file until its binlog checkpoint has moved on,
	// so flush and purge until the file capture stopped in is gone.
	waitFor(t, 20*time.Second, "the old binlog to be purged", func() bool {
		mustExec(t, db, "FLUSH BINARY LOGS")
		logs := binaryLogs(t, db)
		mustExec(t, db, "PURGE BINARY LOGS TO '"+logs[len(logs)-1]+"'")
		return len(binaryLogs(t, db)) == 1
	})

	err := p.runOnce(20 * time.Second)
	if !errors.Is(err, capture.ErrPositionPurged) || !strings.Contains(err.Error(), "when_needed") {
		t.Fatalf("got %v, want ErrPositionPurged naming when_needed", err)
	}
	evs := p.captureUntil(topic, 5, func(c *capture.Config) { c.Snapshot = capture.SnapshotWhenNeeded })
	ids := map[int64]bool{}
	for _, ev := range evs[2:] {
		if ev.Op != "r" {
			t.Fatalf("after the purge: %s event, want snapshot reads", ev.Op)
		}
		ids[toInt(ev.After["id"])] = true
	}
	if !ids[1] || !ids[2] || !ids[3] {
		t.Fatalf("new snapshot read %v, want rows 1, 2, 3", ids)
	}
}

// TestHeartbeatAdvancesOnIdleSource checks that the stored checkpoint keeps
// moving while nothing is written to the captured tables.
func TestHeartbeatAdvancesOnIdleSource(t *testing.T) {
	p := newPipeline(t)
	p.src.Exec(t, "CREATE TABLE "+p.db+".quiet (id INT PRIMARY KEY)")
	stop := p.start()
	defer stop()
	opts := []kgo.Opt{kgo.SeedBrokers(p.kafka.Brokers...)}
	read := func() *topics.Checkpoint {
		cp, err := topics.ReadCheckpoint(context.Background(), opts, p.prefix+".__checkpoint", p.prefix)
		if err != nil {
			return nil
		}
		return cp
	}
	var first *topics.Checkpoint
	waitFor(t, 30*time.Second, "a first checkpoint", func() bool { first = read(); return first != nil })
	waitFor(t, 10*time.Second, "the checkpoint's source time to advance", func() bool {
		cp := read()
		return cp != nil && cp.SourceTSMillis > first.SourceTSMillis+500
	})
	if cp := read(); time.Since(time.UnixMilli(cp.SourceTSMillis)) > 3*time.Second {
		t.Fatalf("idle source: checkpoint says the source was last seen %s ago", time.Since(time.UnixMilli(cp.SourceTSMillis)))
	}
}

func binaryLogs(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query("SHOW BINARY LOGS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		var size any
		if err := rows.Scan(&name, &size); err != nil {
			t.Fatal(err)
		}
		out = append(out, name)
	}
	return out
}
