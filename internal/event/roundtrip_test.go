package event_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/hamba/avro/v2"

	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/internal/source/mysqlvalue"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/schema/schematest"
	"github.com/syncline/syncline/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// TestRoundTripFixtures writes every row of the all-types and mariadb_types
// fixtures into the real source, reads the rows back as capture's snapshot
// does (LoadTable, SelectList, TextValues), encodes each one as capture
// publishes it (Encoder, Confluent frame) and decodes it as apply reads it
// (ParseFrame, an EnvelopeCodec of the schema as the registry serves it),
// and checks that the decoded values are the encoded ones in the forms of
// docs/events.md ("Go values"): the same Go values, except DATETIME, which
// decodes to the time.Time whose UTC wall clock the encoded microseconds
// are. Every column of both fixtures must carry a non-NULL value in at
// least one row, so every type is covered.
func TestRoundTripFixtures(t *testing.T) {
	src := testenv.Source(t)
	for _, fx := range []struct {
		table string
		ddl   string
		rows  []string
	}{
		{"all_types", testenv.AllTypesDDL, testenv.AllTypesRows},
		{"mariadb_types", testenv.MariaDBTypesDDL, testenv.MariaDBTypesRows},
	} {
		t.Run(fx.table, func(t *testing.T) {
			db := src.NewDatabase(t)
			conn := sourceConn(t, src, db)
			run(t, conn, fx.ddl)
			for _, q := range fx.rows {
				run(t, conn, q)
			}
			tbl, err := mysqlvalue.LoadTable(context.Background(), conn, db, fx.table)
			if err != nil {
				t.Fatal(err)
			}
			rt := newRoundTripper(t, tbl)
			covered := make([]bool, len(tbl.Columns))
			var res mysql.Result
			q := "SELECT " + tbl.SelectList() + " FROM " + schema.QuoteIdent(fx.table) + " ORDER BY id"
			n := 0
			err = conn.ExecuteSelectStreaming(q, &res, func(row []mysql.FieldValue) error {
				n++
				vals, err := mysqlvalue.TextValues(tbl, row)
				if err != nil {
					return err
				}
				for i, v := range vals {
					covered[i] = covered[i] || v != nil
				}
				rt.check(t, fmt.Sprintf("%s row %d", fx.table, n), vals)
				return nil
			}, nil)
			if err != nil || n != len(fx.rows) {
				t.Fatalf("%s: %d rows, want %d (%v)", q, n, len(fx.rows), err)
			}
			for i, c := range tbl.Columns {
				if !covered[i] {
					t.Errorf("column %s (%s) has no non-NULL value in the fixture: its type is not covered", c.Name, c.Type)
				}
			}
		})
	}
}

// roundTripper encodes and decodes the rows of one table.
type roundTripper struct {
	tbl   schema.Table
	enc   *event.Encoder
	codec *event.EnvelopeCodec
	er    *event.EnvelopeReader
	id    int
}

func newRoundTripper(t *testing.T, tbl schema.Table) *roundTripper {
	t.Helper()
	enc, err := event.NewEncoder(tbl)
	if err != nil {
		t.Fatal(err)
	}
	env, err := event.EnvelopeSchema(tbl, event.Namespace(event.Names{Prefix: "syncline"}.Table(tbl.Database, tbl.Name)))
	if err != nil {
		t.Fatal(err)
	}
	// apply gets the schema from the registry as the JSON text Registry.Register
	// sends, parsed as Registry.Schema parses it.
	text, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	served, err := avro.ParseWithCache(string(text), "", &avro.SchemaCache{})
	if err != nil {
		t.Fatalf("the envelope schema does not parse back: %v", err)
	}
	const id = 7
	codec, err := event.NewEnvelopeCodec(id, served)
	if err != nil {
		t.Fatal(err)
	}
	return &roundTripper{tbl: tbl, enc: enc, codec: codec, er: event.NewEnvelopeReader(), id: id}
}

// check round-trips vals as an insert (after image) and as a delete
// (before image).
func (rt *roundTripper) check(t *testing.T, what string, vals []any) {
	t.Helper()
	src := event.Source{Version: 7<<32 | 4, Name: "syncline", DB: rt.tbl.Database, Table: rt.tbl.Name,
		ServerID: 1, GTID: "0-1-9", File: "bin.000007", Pos: 4, TSMillis: 1764000000123, Snapshot: "true"}
	for _, op := range []string{"c", "d"} {
		before, after := []any(nil), vals
		if op == "d" {
			before, after = vals, nil
		}
		body, err := rt.enc.AppendEnvelope(nil, before, after, src, op, 1764000000456)
		if err != nil {
			t.Fatalf("%s: encode %s: %v", what, op, err)
		}
		id, framed, err := event.ParseFrame(append(event.AppendFrame(nil, rt.id), body...))
		if err != nil || id != rt.id {
			t.Fatalf("%s: frame: id %d, %v", what, id, err)
		}
		ev, err := rt.codec.Decode(rt.er, framed)
		if err != nil {
			t.Fatalf("%s: decode %s: %v", what, op, err)
		}
		if ev.Op != op || ev.DB != src.DB || ev.Table != src.Table || ev.Version != src.Version ||
			!ev.SourceTS.Equal(time.UnixMilli(src.TSMillis)) {
			t.Errorf("%s: decoded %s event %q %s.%s version %d at %v", what, op, ev.Op, ev.DB, ev.Table, ev.Version, ev.SourceTS)
		}
		row := ev.After
		if op == "d" {
			row = ev.Before
		}
		if len(row) != len(rt.tbl.Columns) {
			t.Errorf("%s: decoded %s row has %d columns, want %d: %v", what, op, len(row), len(rt.tbl.Columns), row)
		}
		for i, c := range rt.tbl.Columns {
			got, ok := row[c.Name]
			if !ok {
				t.Errorf("%s: decoded %s row has no column %s", what, op, c.Name)
				continue
			}
			if !decodedAs(c.Type, vals[i], got) {
				t.Errorf("%s %s column %s (%s): encoded %s, decoded %s", what, op, c.Name, c.Type,
					schematest.Show(vals[i]), schematest.Show(got))
			}
		}
	}
}

// decodedAs reports whether got is what the decoder gives for the value v
// of a column of type typ (docs/events.md, "Go values").
func decodedAs(typ schema.Type, v, got any) bool {
	if typ.Kind == schema.DateTime && v != nil {
		micros, ok := v.(int64)
		tm, isTime := got.(time.Time)
		return ok && isTime && tm.Location() == time.UTC && tm.UnixMicro() == micros &&
			schema.IsZeroDate(v) == schema.IsZeroDate(got)
	}
	if tm, ok := got.(time.Time); ok && tm.Location() != time.UTC {
		return false
	}
	return schematest.SameValue(v, got)
}

// sourceConn opens a client connection on db as the fixtures need it: a
// utf8mb4 session, an empty sql_mode (the fixtures hold zero dates) and the
// UTC time zone.
func sourceConn(t *testing.T, src *testenv.MySQL, db string) *client.Conn {
	t.Helper()
	conn, err := client.Connect(src.Addr(), src.User, src.Password, db)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	run(t, conn, "SET NAMES utf8mb4")
	run(t, conn, "SET SESSION sql_mode = '', time_zone = '+00:00'")
	return conn
}

func run(t *testing.T, conn *client.Conn, q string) {
	t.Helper()
	if _, err := conn.Execute(q); err != nil {
		t.Fatalf("%s: %v", strings.TrimSpace(q), err)
	}
}
