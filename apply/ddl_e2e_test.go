package apply_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/syncline/syncline/testenv"
)

// TestDDLMidStream changes tables while rows stream: add, drop, modify and
// rename columns, truncate, rename, drop and create tables, with a writer
// running throughout and apply restarted in the middle. The target must end
// equal to the source, columns included.
func TestDDLMidStream(t *testing.T) {
	p := newPipeline(t)
	tgt := testenv.Target(t)
	p.spec.Target = tgt.URL("")
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	p.exec("CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL, a VARCHAR(10), b INT, c INT)")
	p.exec("CREATE TABLE u (id INT PRIMARY KEY, v VARCHAR(10))")
	p.exec("CREATE TABLE v (id INT PRIMARY KEY, v VARCHAR(10))")
	p.exec("CREATE TABLE w (id INT PRIMARY KEY)")
	for i := 1; i <= 200; i++ {
		p.exec("INSERT INTO t VALUES (?, 0, ?, ?, ?)", i, fmt.Sprint("a", i), i, i)
		p.exec("INSERT INTO u VALUES (?, 'u')", i)
		p.exec("INSERT INTO v VALUES (?, 'v')", i)
		p.exec("INSERT INTO w VALUES (?)", i)
	}
	p.startCapture()
	stopApply := p.startApply()
	compare := mysqlCompare(t, p, tgt)
	waitEqual(t, 60*time.Second, []string{"t", "u", "v", "w"}, compare)

	// A writer on t that only touches columns no DDL below changes.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(9, 9))
		for ctx.Err() == nil {
			id := rng.IntN(300) + 1
			var err error
			switch rng.IntN(3) {
			case 0:
				_, err = p.srcDB.Exec("UPDATE t SET n = n + 1 WHERE id = ?", id)
			case 1:
				_, err = p.srcDB.Exec("INSERT INTO t (id, n) VALUES (?, 1) ON DUPLICATE KEY UPDATE n = n + 1", id)
			default:
				_, err = p.srcDB.Exec("DELETE FROM t WHERE id = ?", id)
			}
			if err != nil && ctx.Err() == nil {
				t.Errorf("writer: %v", err)
				return
			}
		}
	}()
	step := func(q string, args ...any) {
		p.exec(q, args...)
		time.Sleep(150 * time.Millisecond)
	}
	step("ALTER TABLE t ADD COLUMN d INT NULL AFTER a")
	step("UPDATE t SET d = id * 2 WHERE id % 3 = 0")
	step("ALTER TABLE t DROP COLUMN b")
	step("ALTER TABLE t MODIFY COLUMN a VARCHAR(50)")
	step("UPDATE t SET a = CONCAT('a value longer than ten ', id) WHERE id % 5 = 0")
	step("ALTER TABLE t RENAME COLUMN c TO c2")
	step("UPDATE t SET c2 = -id WHERE id % 7 = 0")
	step("TRUNCATE TABLE u")
	step("INSERT INTO u VALUES (1, 'after'), (500, 'after')")

	// Apply stops and starts again between schema changes.
	if err := stopApply(); err != nil {
		t.Fatal(err)
	}
	step("RENAME TABLE v TO v2")
	step("INSERT INTO v2 VALUES (1000, 'renamed')")
	step("UPDATE v2 SET v = 'upd' WHERE id <= 10")
	p.startApply()
	step("DROP TABLE w")
	step("CREATE TABLE x (id INT PRIMARY KEY, s VARCHAR(5))")
	step("INSERT INTO x VALUES (1, 'x')")
	step("ALTER TABLE t CHANGE COLUMN d d2 BIGINT")
	step("UPDATE t SET d2 = 1 << 40 WHERE id = 3")
	cancel()
	wg.Wait()
	waitEqual(t, 60*time.Second, []string{"t", "u", "v2", "x"}, compare)
	for _, gone := range []string{"v", "w"} {
		var n int
		if err := tgt.DB(t, "").QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", p.db, gone).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("table %s still in the target", gone)
		}
	}
}
