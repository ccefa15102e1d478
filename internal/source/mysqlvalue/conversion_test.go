package mysqlvalue

import (
	"context"
	"errors"
	"fmt"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/internal/event/eventtest"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/schema/schematest"
	"github.com/syncline/syncline/testenv"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

func TestBinlogRowConversions(t *testing.T) {
	typ := func(s, cs string) schema.Type {
		ty, err := schema.ParseType(s)
		if err != nil {
			t.Fatal(err)
		}
		ty.Charset = cs
		return ty
	}
	est := time.FixedZone("EST", -5*3600)
	for _, tc := range []struct {
		typ  schema.Type
		in   any
		want any
	}{
		// Unsigned values without signedness metadata arrive signed.
		{typ("tinyint unsigned", ""), int8(-1), int32(255)},
		{typ("tinyint unsigned", ""), uint8(255), int32(255)},
		{typ("smallint unsigned", ""), int16(-1), int32(65535)},
		{typ("mediumint unsigned", ""), int32(-1), int32(16777215)},
		{typ("mediumint unsigned", ""), uint32(16777215), int32(16777215)},
		{typ("int unsigned", ""), int32(-1), int64(4294967295)},
		{typ("bigint unsigned", ""), int64(-1), new(big.Rat).SetUint64(math.MaxUint64)},
		{typ("bigint unsigned", ""), uint64(math.MaxUint64), new(big.Rat).SetUint64(math.MaxUint64)},
		{typ("tinyint", ""), int8(-128), int32(-128)},
		{typ("year", ""), 2155, int32(2155)},
		{typ("decimal(65,30)", ""), "-0.000000000000000000000000000001", schematest.Rat("-1e-30")},
		{typ("float", ""), float32(1.5), float32(1.5)},
		{typ("double", ""), -0.25, -0.25},
		{typ("bit(64)", ""), int64(-1), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{typ("bit(12)", ""), int64(0xabc), []byte{0x0a, 0xbc}},
		{typ("bit(1)", ""), int64(1), []byte{1}},
		{typ("char(3)", "latin1"), "\xe9", "é"},
		{typ("varchar(10)", "latin1"), "\x80\x81", "€\u0081"},
		{typ("varchar(10)", "utf8mb4"), "😀", "😀"},
		{typ("text", "utf8mb4"), []byte("tëxt"), "tëxt"},
		{typ("text", "cp1251"), []byte{0xcf, 0xf0, 0xe8}, "При"},
		{typ("varchar(10)", "gbk"), "\xd6\xd0", "中"},
		{typ("binary(4)", ""), "\x01", []byte{1, 0, 0, 0}},
		{typ("binary(4)", ""), "", []byte{0, 0, 0, 0}},
		{typ("varbinary(4)", ""), "\x00\x01", []byte{0, 1}},
		{typ("blob", ""), []byte{9}, []byte{9}},
		{typ("enum('a','b')", "utf8mb4"), int64(2), "b"},
		{typ("enum('a','b')", "utf8mb4"), int64(0), ""},
		{typ("set('a','b','c')", "utf8mb4"), int64(5), "a,c"},
		{typ("set('a','b','c')", "utf8mb4"), int64(0), ""},
		{typ("json", ""), `{"a": 1}`, `{"a": 1}`},
		{typ("longtext", "utf8mb4"), []byte(`[1]`), `[1]`},
		{typ("date", ""), "2024-02-29", schematest.Date(2024, 2, 29)},
		{typ("date", ""), "0000-00-00", schema.ZeroDate()},
		{typ("date", ""), "2024-00-10", schema.ZeroDate()},
		{typ("date", ""), "2024-02-30", schema.ZeroDate()},
		{typ("date", ""), "0000-01-01", schematest.Date(0, 1, 1)},
		{typ("datetime(6)", ""), time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC), schematest.Micros(2024, 1, 2, 3, 4, 5, 6)},
		{typ("datetime(6)", ""), "1000-01-01 00:00:00.000001", schematest.Micros(1000, 1, 1, 0, 0, 0, 1)},
		{typ("datetime(2)", ""), "1969-12-31 23:59:59.5", schematest.Micros(1969, 12, 31, 23, 59, 59, 500000)},
		{typ("datetime(6)", ""), "0000-00-00 00:00:00.000000", schema.ZeroDateTime},
		{typ("datetime", ""), "2024-05-00 10:00:00", schema.ZeroDateTime},
		{typ("timestamp(3)", ""), time.Date(2024, 1, 1, 7, 0, 0, 123000000, est), time.Date(2024, 1, 1, 12, 0, 0, 123000000, time.UTC)},
		{typ("timestamp(3)", ""), time.Date(2024, 1, 1, 12, 0, 0, 123000000, time.Local), time.Date(2024, 1, 1, 12, 0, 0, 123000000, time.Local).UTC()},
		{typ("timestamp", ""), "0000-00-00 00:00:00", schema.ZeroTimestamp()},
		{typ("timestamp(6)", ""), "2024-01-01 12:00:00.000001", time.Date(2024, 1, 1, 12, 0, 0, 1000, time.UTC)},
		{typ("time(6)", ""), "-838:59:59.000000", int64(-3020399000000)},
		{typ("time(6)", ""), "838:59:59", int64(3020399000000)},
		{typ("time(2)", ""), "-00:00:01.5", int64(-1500000)},
		{typ("time", ""), "25:00:00", int64(90000000000)},
		{typ("time", ""), "00:00:00", int64(0)},
		{typ("point", ""), append([]byte{0, 0, 0, 0}, schematest.PointWKB(1, 2)...), schematest.PointWKB(1, 2)},
	} {
		tbl := schema.Table{Name: "t", Columns: []schema.Column{{Name: "c", Type: tc.typ}}}
		got, err := BinlogRow(tbl, []any{tc.in})
		if err != nil {
			t.Errorf("%s from %T %v: %v", tc.typ, tc.in, tc.in, err)
			continue
		}
		if !schematest.SameValue(got["c"], tc.want) {
			t.Errorf("%s from %T %v: got %s, want %s", tc.typ, tc.in, tc.in, schematest.Show(got["c"]), schematest.Show(tc.want))
		}
	}
}

func TestBinlogRowErrors(t *testing.T) {
	tbl := schema.Table{Database: "d", Name: "t", Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.Int}},
		{Name: "name", Type: schema.Type{Kind: schema.VarChar, Length: 10, Charset: "klingon"}},
	}}
	_, err := BinlogRow(tbl, []any{int32(1), "x"})
	if err == nil || !strings.Contains(err.Error(), "d.t column name") || !strings.Contains(err.Error(), "klingon") {
		t.Errorf("unsupported charset: %v", err)
	}
	for _, tc := range []struct {
		typ schema.Type
		in  any
	}{
		{schema.Type{Kind: schema.Enum, Elems: []string{"a"}}, int64(2)},
		{schema.Type{Kind: schema.Set, Elems: []string{"a"}}, int64(2)},
		{schema.Type{Kind: schema.Binary, Length: 2}, "abc"},
		{schema.Type{Kind: schema.Int}, "1"},
		{schema.Type{Kind: schema.JSON}, &replication.JsonDiff{}},
		{schema.Type{Kind: schema.Date}, "2024/01/01"},
		{schema.Type{Kind: schema.Time}, "1:2"},
		{schema.Type{Kind: schema.Point}, []byte{1}},
	} {
		one := schema.Table{Name: "t", Columns: []schema.Column{{Name: "c", Type: tc.typ}}}
		if _, err := BinlogRow(one, []any{tc.in}); err == nil || !strings.Contains(err.Error(), "column c") {
			t.Errorf("%s from %T %v: %v, want an error naming the column", tc.typ, tc.in, tc.in, err)
		}
	}
	if _, err := BinlogRow(tbl, []any{int32(1)}); err == nil {
		t.Errorf("short row: no error")
	}
	if !SupportedCharset("utf8") || !SupportedCharset("latin1") || SupportedCharset("klingon") {
		t.Errorf("SupportedCharset")
	}
}

func TestTextRowConversions(t *testing.T) {
	tbl := schema.Table{Name: "t", Columns: []schema.Column{
		{Name: "u", Type: schema.Type{Kind: schema.BigInt, Unsigned: true}},
		{Name: "ts", Type: schema.Type{Kind: schema.Timestamp, Precision: 3}, Nullable: true},
		{Name: "ts0", Type: schema.Type{Kind: schema.Timestamp}},
		{Name: "f", Type: schema.Type{Kind: schema.Float}},
		{Name: "bn", Type: schema.Type{Kind: schema.Binary, Length: 3}},
		{Name: "dt", Type: schema.Type{Kind: schema.DateTime, Precision: 6}, Nullable: true},
		{Name: "n", Type: schema.Type{Kind: schema.Int}, Nullable: true},
	}}
	if got, want := tbl.SelectList(), "`u`, UNIX_TIMESTAMP(`ts`) AS `ts`, UNIX_TIMESTAMP(`ts0`) AS `ts0`, CAST(`f` AS DOUBLE) AS `f`, `bn`, `dt`, `n`"; got != want {
		t.Errorf("SelectList = %s, want %s", got, want)
	}
	buf := []byte("\x01\x02\x00")
	row := []mysql.FieldValue{
		mysql.NewFieldValue(mysql.FieldValueTypeUnsigned, math.MaxUint64, nil),
		mysql.NewFieldValue(mysql.FieldValueTypeString, 0, []byte("1700000000.123")),
		mysql.NewFieldValue(mysql.FieldValueTypeSigned, 0, nil),
		mysql.NewFieldValue(mysql.FieldValueTypeFloat, math.Float64bits(float64(float32(1.1))), nil),
		mysql.NewFieldValue(mysql.FieldValueTypeString, 0, buf),
		mysql.NewFieldValue(mysql.FieldValueTypeString, 0, []byte("2024-01-02 03:04:05.000006")),
		mysql.NewFieldValue(mysql.FieldValueTypeNull, 0, nil),
	}
	got, err := TextRow(tbl, row)
	if err != nil {
		t.Fatal(err)
	}
	buf[0] = 9 // the client reuses its buffers: the values must not change
	schematest.DiffRows(t, "text row", got, map[string]any{
		"u":   new(big.Rat).SetUint64(math.MaxUint64),
		"ts":  time.UnixMilli(1700000000123).UTC(),
		"ts0": schema.ZeroTimestamp(),
		"f":   float32(1.1),
		"bn":  []byte{1, 2, 0},
		"dt":  schematest.DTU(schematest.Micros(2024, 1, 2, 3, 4, 5, 6)),
		"n":   nil,
	})
}

func TestFromTableMapWithoutMetadata(t *testing.T) {
	ev := &replication.TableMapEvent{
		Schema: []byte("d"), Table: []byte("t"), ColumnCount: 1,
		ColumnType: []byte{mysql.MYSQL_TYPE_LONG}, ColumnMeta: []uint16{0}, NullBitmap: []byte{0},
	}
	_, err := FromTableMap(ev)
	if !errors.Is(err, schema.ErrNoRowMetadata) || !strings.Contains(err.Error(), "binlog_row_metadata=FULL") || !strings.Contains(err.Error(), "d.t") {
		t.Errorf("FromTableMap without names: %v", err)
	}
}

// TestBinlogValuesIdentity checks BinlogValues' shortcut: a value it keeps
// as it is must be what the full conversion gives.
func TestBinlogValuesIdentity(t *testing.T) {
	inputs := []any{int8(-1), int16(-1), int32(-1), int64(-1), uint32(1), uint64(1), float32(1.5), 2.5,
		"text", "\xe9", []byte("b"), []byte{0xe9}, time.Duration(1)}
	for _, s := range schematest.EveryType {
		for _, cs := range []string{"", "utf8mb4", "utf8mb3", "latin1"} {
			typ, err := schema.ParseType(s)
			if err != nil {
				t.Fatal(err)
			}
			if typ.Kind.IsText() || typ.Kind == schema.Enum || typ.Kind == schema.Set {
				typ.Charset = cs
			} else if cs != "" {
				continue
			}
			for _, in := range inputs {
				if !binlogIdentity(typ, in) {
					continue
				}
				full, err := binlogValue(typ, in)
				if err != nil || !schematest.SameValue(full, in) {
					t.Errorf("%s (%s) keeps %T %v, but the conversion gives %s, %v", typ, cs, in, in, schematest.Show(full), err)
				}
			}
		}
	}
	tbl := schema.Table{Name: "t", Columns: []schema.Column{
		{Name: "a", Type: schema.Type{Kind: schema.Int}}, {Name: "b", Type: schema.Type{Kind: schema.Int, Unsigned: true}, Nullable: true},
		{Name: "c", Type: schema.Type{Kind: schema.DateTime}, Nullable: true},
	}}
	vals, err := BinlogValues(tbl, []any{int32(-1), int32(-1), "2024-01-02 03:04:05"})
	if err != nil {
		t.Fatal(err)
	}
	if vals[0] != int32(-1) || vals[1] != int64(math.MaxUint32) || vals[2] != schematest.Micros(2024, 1, 2, 3, 4, 5, 0) {
		t.Errorf("BinlogValues = %v", vals)
	}
	m, err := BinlogRow(tbl, []any{int32(-1), nil, "2024-01-02 03:04:05"})
	if err != nil {
		t.Fatal(err)
	}
	schematest.DiffRows(t, "BinlogRow", m, map[string]any{"a": int32(-1), "b": nil, "c": schematest.DTU(schematest.Micros(2024, 1, 2, 3, 4, 5, 0))})
	if _, err := BinlogValues(tbl, []any{int32(1)}); err == nil {
		t.Errorf("BinlogValues of a short row: no error")
	}
	if _, err := BinlogValues(tbl, []any{"x", nil, nil}); err == nil || !strings.Contains(err.Error(), "column a") {
		t.Errorf("BinlogValues of a bad value: %v", err)
	}
	if _, err := TextValues(tbl, []mysql.FieldValue{{}}); err == nil {
		t.Errorf("TextValues of a short row: no error")
	}
}

// TestEncodeAllTypes encodes the rows of the all-types fixture, decoded from
// the binlog and read over the text protocol, and compares with hamba.
func TestEncodeAllTypes(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	conn := connect(t, src, db)
	exec(t, conn, testenv.AllTypesDDL)
	pos := masterPos(t, conn)
	for _, q := range testenv.AllTypesRows {
		exec(t, conn, q)
	}
	n := len(testenv.AllTypesRows)
	for i, r := range readInserts(t, src, pos, db, "all_types", n) {
		tbl, err := FromTableMap(r.table)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := event.NewEncoder(tbl)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := BinlogValues(tbl, r.row)
		if err != nil {
			t.Fatal(err)
		}
		m, err := BinlogRow(tbl, r.row)
		if err != nil {
			t.Fatal(err)
		}
		eventtest.CheckEncode(t, fmt.Sprintf("binlog row %d", i+1), enc, eventtest.NewHambaEnc(t, tbl), vals, m, eventtest.CheckOpts{Decode: true, Envelopes: true})
	}

	loaded, err := LoadTable(context.Background(), conn, db, "all_types")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := event.NewEncoder(loaded)
	if err != nil {
		t.Fatal(err)
	}
	h := eventtest.NewHambaEnc(t, loaded)
	exec(t, conn, "SET SESSION time_zone = '+05:00'")
	var res mysql.Result
	q := "SELECT " + loaded.SelectList() + " FROM all_types ORDER BY id"
	rows := 0
	err = conn.ExecuteSelectStreaming(q, &res, func(row []mysql.FieldValue) error {
		rows++
		vals, err := TextValues(loaded, row)
		if err != nil {
			return err
		}
		m, err := TextRow(loaded, row)
		if err != nil {
			return err
		}
		eventtest.CheckEncode(t, fmt.Sprintf("text row %d", rows), enc, h, vals, m, eventtest.CheckOpts{Decode: true, Envelopes: true})
		return nil
	}, nil)
	if err != nil || rows != n {
		t.Fatalf("%s: %d rows, %v", q, rows, err)
	}
}
