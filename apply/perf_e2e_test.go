package apply_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/testenv"
)

// perfRows is the table size of TestThroughput.
const perfRows = 200_000

// TestThroughput measures how fast apply loads a table whose snapshot is
// already in Kafka, into MariaDB and into PostgreSQL, with the default batch
// settings, and logs rows per second.
func TestThroughput(t *testing.T) {
	p := newPipeline(t)
	p.spec.BatchRows = 10000
	p.spec.FlushInterval = 500 * time.Millisecond
	p.exec("CREATE TABLE big (id INT PRIMARY KEY, n BIGINT NOT NULL, amount DECIMAL(10,2), pad VARCHAR(100), at DATETIME(6))")
	for start := 0; start < perfRows; start += 5000 {
		var b strings.Builder
		b.WriteString("INSERT INTO big VALUES ")
		for i := start; i < start+5000; i++ {
			if i > start {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, %d, %d.%02d, REPEAT('p', 80), '2024-01-01 00:00:00.123456')", i, i*7, i%1000, i%100)
		}
		p.exec(b.String())
	}
	stopCapture := p.startCapture()
	topic := p.prefix + "." + p.db + ".big"
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	waitFor(t, 120*time.Second, "the snapshot in Kafka", func() bool {
		ends, err := adm.ListCommittedOffsets(context.Background(), topic)
		if err != nil {
			return false
		}
		o, ok := ends.Lookup(topic, 0)
		// The records plus a commit marker per Kafka transaction.
		return ok && o.Offset >= perfRows
	})
	if err := stopCapture(); err != nil {
		t.Fatal(err)
	}

	run := func(name, target string, count func() (int, error)) {
		p.spec.Target = target
		p.spec.Group = p.prefix + "-" + name
		began := time.Now()
		stop := p.startApply()
		waitFor(t, 300*time.Second, name+" to hold every row", func() bool {
			n, err := count()
			return err == nil && n == perfRows
		})
		took := time.Since(began)
		_ = stop()
		t.Logf("%s: %d rows in %s: %.0f rows/s (batch-rows %d)", name, perfRows, took.Round(time.Millisecond), perfRows/took.Seconds(), p.spec.BatchRows)
	}

	tgt := testenv.Target(t)
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	tdb := tgt.DB(t, "")
	run("mariadb", tgt.URL(""), func() (int, error) { return countRows(tdb, "`"+p.db+"`.big") })

	pg := testenv.Postgres(t)
	pgdb := pg.NewDatabase(t)
	conn := pg.Conn(t, pgdb)
	run("postgres", pg.URL(pgdb), func() (int, error) {
		var n int
		err := conn.QueryRow(context.Background(), `SELECT COUNT(*) FROM "`+p.db+`".big`).Scan(&n)
		return n, err
	})
}

func countRows(db *sql.DB, table string) (int, error) {
	var n int
	err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n)
	return n, err
}
