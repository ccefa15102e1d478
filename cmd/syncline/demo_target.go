package main

import (
	"context"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	applych "github.com/syncline/syncline/internal/target/clickhouse"
)

// targetCounter counts the demo's rows in ClickHouse.
type targetCounter struct {
	addr string

	mu   sync.Mutex
	conn driver.Conn
}

func newTargetCounter(addr string) *targetCounter { return &targetCounter{addr: addr} }

// counts returns the live row count of each shop table that exists in
// ClickHouse: the newest version of each key (FINAL), deleted rows left
// out.
func (tc *targetCounter) counts(ctx context.Context) map[string]int64 {
	out := map[string]int64{}
	conn, err := tc.open()
	if err != nil {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, t := range shopTables {
		cols := map[string]bool{}
		rows, err := conn.Query(ctx, "SELECT name FROM system.columns WHERE database = '"+shopDB+"' AND table = '"+t+"'")
		if err != nil {
			return out
		}
		for rows.Next() {
			var name string
			if rows.Scan(&name) == nil {
				cols[name] = true
			}
		}
		_ = rows.Close()
		if len(cols) == 0 {
			continue
		}
		q := "SELECT count() FROM " + shopDB + "." + t + " FINAL"
		if cols[applych.DeletedColumn] {
			q += " WHERE " + applych.DeletedColumn + " = 0"
		}
		var n uint64
		if err := conn.QueryRow(ctx, q).Scan(&n); err == nil {
			out[shopDB+"."+t] = int64(n)
		}
	}
	return out
}

func (tc *targetCounter) open() (driver.Conn, error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.conn != nil {
		return tc.conn, nil
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{tc.addr}, Auth: clickhouse.Auth{Username: "default"}, DialTimeout: 2 * time.Second})
	if err != nil {
		return nil, err
	}
	tc.conn = conn
	return conn, nil
}

func (tc *targetCounter) close() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.conn != nil {
		_ = tc.conn.Close()
		tc.conn = nil
	}
}
