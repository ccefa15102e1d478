package verify

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncline/syncline/endpoint"
)

// writeLoad runs small transactions on orders and items until ctx ends:
// inserts, updates, deletes and primary-key changes. It returns the number
// of transactions when it has stopped.
func writeLoad(ctx context.Context, t *testing.T, db *sql.DB, writers int) func() int64 {
	var wg sync.WaitGroup
	var ops atomic.Int64
	var nextID atomic.Int64
	nextID.Store(1_000_000)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for ctx.Err() == nil {
				if err := loadStep(db, rng, &nextID); err != nil && ctx.Err() == nil && !transient(err) {
					t.Errorf("load: %v", err)
					return
				}
				ops.Add(1)
				time.Sleep(time.Duration(rng.IntN(10)) * time.Millisecond)
			}
		}()
	}
	return func() int64 {
		wg.Wait()
		return ops.Load()
	}
}

func transient(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Deadlock") || strings.Contains(s, "Lock wait") || strings.Contains(s, "Duplicate entry")
}

func loadStep(db *sql.DB, rng *rand.Rand, nextID *atomic.Int64) error {
	id := rng.IntN(2000) + 1
	var err error
	switch op := rng.IntN(100); {
	case op < 30:
		_, err = db.Exec("INSERT INTO orders (id, customer, amount, placed) VALUES (?, ?, ?, NOW(6)) ON DUPLICATE KEY UPDATE amount = amount + 1",
			id, fmt.Sprintf("cust-%d", rng.IntN(100)), fmt.Sprintf("%d.%02d", rng.IntN(10000), rng.IntN(100)))
	case op < 60:
		_, err = db.Exec("UPDATE orders SET amount = amount + 0.01, customer = CONCAT('u', ?), placed = NOW(6) WHERE id = ?", rng.IntN(1000), id)
	case op < 70:
		_, err = db.Exec("DELETE FROM orders WHERE id = ?", id)
	case op < 75:
		_, err = db.Exec("UPDATE orders SET id = ? WHERE id = ?", nextID.Add(1), id)
	case op < 92:
		_, err = db.Exec("REPLACE INTO items (order_id, line, sku, qty) VALUES (?, ?, ?, ?)", id, rng.IntN(4), fmt.Sprintf("sku-%d", rng.IntN(50)), rng.IntN(10))
	default:
		_, err = db.Exec("DELETE FROM items WHERE order_id = ?", id)
	}
	return err
}

// testUnderLoad verifies while a steady write load runs on the source and
// is replicated: no row may be reported as different.
func testUnderLoad(t *testing.T, kind endpoint.Kind) {
	p := newPipeline(t, kind)
	p.exec("CREATE TABLE orders (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(12,2), placed DATETIME(6))",
		"CREATE TABLE items (order_id BIGINT NOT NULL, line INT NOT NULL, sku VARCHAR(20), qty INT UNSIGNED, PRIMARY KEY (order_id, line))")
	p.insertRows("orders", 2000, func(i int) string { return fmt.Sprintf("(%d, 'seed', 1.00, '2020-01-01 00:00:00')", i) })
	p.start()
	p.waitSynced("orders")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := writeLoad(ctx, t, p.srcDB, 3)
	time.Sleep(time.Second)
	cfg := p.config()
	cfg.ChunkRows = 500
	cfg.RecheckWait = 1500 * time.Millisecond
	cfg.RecheckAttempts = 3
	began := time.Now()
	rep := run(t, cfg)
	took := time.Since(began)
	cancel()
	ops := stop()
	if !rep.Equal() {
		t.Fatalf("verify under load reports differences:\n%s", text(rep))
	}
	if rep.Summary.Rows < 1000 {
		t.Errorf("only %d rows compared:\n%s", rep.Summary.Rows, text(rep))
	}
	t.Logf("%d source transactions; verify compared %d rows in %s:\n%s", ops, rep.Summary.Rows, took.Round(time.Millisecond), text(rep))
}

func TestVerifyUnderLoadMySQL(t *testing.T)      { testUnderLoad(t, endpoint.MySQL) }
func TestVerifyUnderLoadPostgres(t *testing.T)   { testUnderLoad(t, endpoint.Postgres) }
func TestVerifyUnderLoadClickHouse(t *testing.T) { testUnderLoad(t, endpoint.ClickHouse) }
