package bench

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5/pgtype"
)

// The benchmark tables all have the same ten columns: the shape of a
// typical business table (integers, a decimal, a float, short and longer
// text, a nullable column, a date and a time with microseconds).
const tableColumns = "id BIGINT NOT NULL PRIMARY KEY, account INT NOT NULL, qty INT NOT NULL, " +
	"amount DECIMAL(12,2) NOT NULL, score DOUBLE NOT NULL, name VARCHAR(64) NOT NULL, " +
	"note VARCHAR(255) NULL, status TINYINT NOT NULL, created DATETIME(6) NOT NULL, day DATE NOT NULL"

// columnList names the ten columns in table order.
const columnList = "id, account, qty, amount, score, name, note, status, created, day"

// pgColumns is the same shape in PostgreSQL, for the COPY baseline.
const pgColumns = "id bigint NOT NULL PRIMARY KEY, account integer NOT NULL, qty integer NOT NULL, " +
	"amount numeric(12,2) NOT NULL, score double precision NOT NULL, name varchar(64) NOT NULL, " +
	"note varchar(255), status smallint NOT NULL, created timestamp(6) NOT NULL, day date NOT NULL"

// rowSelect is the SELECT list that makes the row of id X (a SQL
// expression) on the server; makeRow computes the same row in Go.
func rowSelect(x string) string {
	r := strings.NewReplacer("X", x)
	return r.Replace("X, X % 100000, X % 1000, (X % 100000) / 100, X * 0.5, CONCAT('name-', X), " +
		"IF(X % 10 = 0, NULL, REPEAT('n', 40 + X % 60)), X % 5, " +
		"TIMESTAMP'2024-01-01 00:00:00' + INTERVAL X SECOND + INTERVAL (X % 1000000) MICROSECOND, " +
		"DATE'2024-01-01' + INTERVAL (X % 1000) DAY")
}

// updateSet is the SET clause of the benchmark's updates; makeRow with
// updated set computes the row after it.
const updateSet = "qty = qty + 1, status = (status + 1) % 5, note = IF(note IS NULL, NULL, REPEAT('u', CHAR_LENGTH(note)))"

// baseTime is the first time of the generated rows' created and day.
func baseTime() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }

// row is one generated row.
type row struct {
	id       int64
	account  int32
	qty      int32
	cents    int64 // amount * 100
	score    float64
	name     string
	note     string
	noteNull bool
	status   int8
	created  time.Time
	day      time.Time
}

// makeRow returns the row of id as rowSelect makes it, or as it is after
// the benchmark's update when updated is set.
func makeRow(id int64, updated bool) row {
	base := baseTime()
	r := row{
		id:       id,
		account:  int32(id % 100000),
		qty:      int32(id % 1000),
		cents:    id % 100000,
		score:    float64(id) * 0.5,
		name:     "name-" + strconv.FormatInt(id, 10),
		noteNull: id%10 == 0,
		status:   int8(id % 5),
		created:  base.Add(time.Duration(id)*time.Second + time.Duration(id%1_000_000)*time.Microsecond),
		day:      base.AddDate(0, 0, int(id%1000)),
	}
	if !r.noteNull {
		r.note = strings.Repeat("n", 40+int(id%60))
	}
	if updated {
		r.qty++
		r.status = (r.status + 1) % 5
		if !r.noteNull {
			r.note = strings.Repeat("u", len(r.note))
		}
	}
	return r
}

// amountText is the decimal as text, "123.45".
func (r row) amountText() string { return fmt.Sprintf("%d.%02d", r.cents/100, r.cents%100) }

// mysqlArgs appends the row as prepared statement arguments, in the forms
// internal/target/mysql binds them (decimals and times as text).
func (r row) mysqlArgs(args []any) []any {
	var note any
	if !r.noteNull {
		note = r.note
	}
	return append(args, r.id, r.account, r.qty, r.amountText(), r.score, r.name, note, r.status,
		r.created.Format("2006-01-02 15:04:05.000000"), r.day.Format("2006-01-02"))
}

// pgValues returns the row as COPY values.
func (r row) pgValues() []any {
	var note any
	if !r.noteNull {
		note = r.note
	}
	amount := pgtype.Numeric{Int: big.NewInt(r.cents), Exp: -2, Valid: true}
	return []any{r.id, r.account, r.qty, amount, r.score, r.name, note, int16(r.status), r.created, r.day}
}

// changePlan is the set of row changes of the capture and apply
// benchmarks. The table is first filled with prefill rows; then each round
// is three source transactions: unit inserts of new ids, unit updates of
// prefilled rows and unit/2 deletes of other prefilled rows. No id changes
// twice, so apply has nothing to collapse and writes one row per event.
type changePlan struct {
	unit   int // rows per insert or update transaction (even)
	rounds int
}

// newChangePlan returns a plan of about n changes, in transactions of up
// to 1,000 rows.
func newChangePlan(n int) changePlan {
	unit := max(2, min(1000, n/25)) &^ 1
	return changePlan{unit: unit, rounds: max(1, n*2/(5*unit))}
}

// changes is the number of row changes of the plan.
func (p changePlan) changes() int { return p.rounds * (2*p.unit + p.unit/2) }

// prefill is the number of rows the table holds before the changes.
func (p changePlan) prefill() int64 { return int64(p.rounds*p.unit + p.rounds*p.unit/2) }

// change is one row change of the plan, in binlog order.
type change struct {
	id   int64
	kind byte // 'c', 'u' or 'd'
}

// round returns the inserted, updated and deleted id ranges of round r,
// each as [first, last].
func (p changePlan) round(r int) (ins, upd, del [2]int64) {
	u := int64(p.unit)
	rr := int64(r)
	pre := p.prefill()
	ins = [2]int64{pre + rr*u + 1, pre + (rr+1)*u}
	upd = [2]int64{rr*u + 1, (rr + 1) * u}
	base := int64(p.rounds) * u
	del = [2]int64{base + rr*u/2 + 1, base + (rr+1)*u/2}
	return ins, upd, del
}

// each calls f for every change in binlog order until f returns false.
func (p changePlan) each(f func(change) bool) {
	for r := range p.rounds {
		ins, upd, del := p.round(r)
		for _, part := range []struct {
			ids  [2]int64
			kind byte
		}{{ins, 'c'}, {upd, 'u'}, {del, 'd'}} {
			for id := part.ids[0]; id <= part.ids[1]; id++ {
				if !f(change{id: id, kind: part.kind}) {
					return
				}
			}
		}
	}
}

// image returns the row an event of the change carries: the new row of an
// insert or update, the old row of a delete.
func (c change) image() row { return makeRow(c.id, c.kind == 'u') }

// seqTable is MariaDB's sequence table of lo..hi in database db.
func seqTable(db string, lo, hi int64) string { return fmt.Sprintf("`%s`.seq_%d_to_%d", db, lo, hi) }

// fillRange inserts the generated rows first..last into db.table in
// statements of up to chunk rows, each its own transaction.
func fillRange(ctx context.Context, conn *client.Conn, db, table string, first, last, chunk int64) error {
	for lo := first; lo <= last; lo += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+chunk-1, last)
		q := fmt.Sprintf("INSERT INTO %s SELECT %s FROM %s", table, rowSelect("seq"), seqTable(db, lo, hi))
		if _, err := conn.Execute(q); err != nil {
			return fmt.Errorf("fill %s: %w", table, err)
		}
	}
	return nil
}

// writeChanges runs the plan's transactions on the source.
func writeChanges(ctx context.Context, conn *client.Conn, db, table string, p changePlan) error {
	for r := range p.rounds {
		if err := ctx.Err(); err != nil {
			return err
		}
		ins, upd, del := p.round(r)
		for _, q := range []string{
			fmt.Sprintf("INSERT INTO %s SELECT %s FROM %s", table, rowSelect("seq"), seqTable(db, ins[0], ins[1])),
			fmt.Sprintf("UPDATE %s SET %s WHERE id BETWEEN %d AND %d", table, updateSet, upd[0], upd[1]),
			fmt.Sprintf("DELETE FROM %s WHERE id BETWEEN %d AND %d", table, del[0], del[1]),
		} {
			if _, err := conn.Execute(q); err != nil {
				return fmt.Errorf("write changes: %w", err)
			}
		}
	}
	return nil
}
