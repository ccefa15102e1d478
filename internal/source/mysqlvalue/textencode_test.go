package mysqlvalue

import (
	"bytes"
	"context"
	"fmt"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/internal/event/eventtest"
	"github.com/syncline/syncline/schema"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/testenv"
)

// textConn opens a go-mysql client connection on db as the snapshot reads:
// a utf8mb4 session, here with a strict sql_mode that still accepts zero
// dates (so a mistyped fixture fails instead of being clipped) and the UTC
// time zone.
func textConn(tb testing.TB, src *testenv.MySQL, db string) *client.Conn {
	tb.Helper()
	return connectMode(tb, src, db, "STRICT_ALL_TABLES")
}

// streamText runs q with ExecuteSelectStreaming, as the snapshot does, and
// calls f with each row while the row still points into the client's
// reused buffer.
func streamText(tb testing.TB, conn *client.Conn, q string, f func(row []mysql.FieldValue)) int {
	tb.Helper()
	n := 0
	var res mysql.Result
	err := conn.ExecuteSelectStreaming(q, &res, func(row []mysql.FieldValue) error {
		n++
		f(row)
		return nil
	}, nil)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return n
}

// selectText returns copies of the rows of q read over the text protocol
// (the client reuses the rows' memory between callbacks).
func selectText(tb testing.TB, conn *client.Conn, q string) [][]mysql.FieldValue {
	tb.Helper()
	var out [][]mysql.FieldValue
	streamText(tb, conn, q, func(row []mysql.FieldValue) {
		out = append(out, cloneFields(row))
	})
	return out
}

func cloneFields(row []mysql.FieldValue) []mysql.FieldValue {
	out := make([]mysql.FieldValue, len(row))
	for i := range row {
		f := &row[i]
		out[i] = mysql.NewFieldValue(f.Type, f.AsUint64(), bytes.Clone(f.AsString()))
	}
	return out
}

// selectAll is `SELECT <tbl.SelectList()> FROM tbl ORDER BY <key>`.
func selectAll(tbl schema.Table) string {
	keys := make([]string, len(tbl.Key))
	for i, k := range tbl.Key {
		keys[i] = schema.QuoteIdent(k)
	}
	return "SELECT " + tbl.SelectList() + " FROM " + schema.QuoteIdent(tbl.Name) + " ORDER BY " + strings.Join(keys, ", ")
}

// textEnc is an Encoder with its TextEncoder, as capture holds them: the
// tests call the text fast path by its former names.
type textEnc struct {
	*event.Encoder
	te *TextEncoder
}

func newTextEnc(tbl schema.Table) (textEnc, error) {
	enc, err := event.NewEncoder(tbl)
	if err != nil {
		return textEnc{}, err
	}
	te, err := NewTextEncoder(tbl, enc)
	return textEnc{enc, te}, err
}

// AppendTextKey is TextEncoder.AppendKey.
func (e textEnc) AppendTextKey(dst []byte, row []mysql.FieldValue) ([]byte, error) {
	return e.te.AppendKey(dst, row)
}

// AppendTextValue is TextEncoder.AppendValue.
func (e textEnc) AppendTextValue(dst []byte, row []mysql.FieldValue) ([]byte, error) {
	return e.te.AppendValue(dst, row)
}

// encodedRow is a row as TextValues converts it and AppendTextValue
// encodes it.
type encodedRow struct {
	vals  []any
	value []byte
}

// checkTextEncode checks that the text encoders give for row the bytes (or
// the error) of the generic path: AppendTextKey and AppendTextValue against
// AppendKey and AppendValue of TextValues, AppendEncodedEnvelope against
// AppendEnvelope for snapshot reads, inserts, updates (from prev, when
// given) and deletes. It returns the row for the next call's prev.
func checkTextEncode(t *testing.T, what string, tbl schema.Table, enc textEnc, row []mysql.FieldValue, prev *encodedRow) *encodedRow {
	t.Helper()
	prefix := []byte("prefix")
	p := func() []byte { return append(make([]byte, 0, 8), prefix...) }
	vals, err := TextValues(tbl, row)
	if err != nil {
		t.Errorf("%s: TextValues: %v", what, err)
		return nil
	}
	same := func(part string, got []byte, gerr error, want []byte, werr error) {
		t.Helper()
		if fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Errorf("%s %s: error %v, generic path error %v", what, part, gerr, werr)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s %s:\ntext    %x\ngeneric %x", what, part, got, want)
		}
	}
	got, gerr := enc.AppendTextKey(p(), row)
	want, werr := enc.AppendKey(p(), vals)
	same("key", got, gerr, want, werr)
	got, gerr = enc.AppendTextValue(p(), row)
	want, werr = enc.AppendValue(p(), vals)
	same("value", got, gerr, want, werr)
	if gerr != nil {
		return nil
	}
	cur := &encodedRow{vals: vals, value: got[len(prefix):]}
	if prev == nil {
		prev = cur
	}
	for i, src := range eventtest.TestSources {
		for _, ev := range []struct {
			op            string
			before, after *encodedRow
		}{{"r", nil, cur}, {"c", nil, cur}, {"u", prev, cur}, {"d", cur, nil}} {
			var bv, av []any
			var be, ae []byte
			if ev.before != nil {
				bv, be = ev.before.vals, ev.before.value
			}
			if ev.after != nil {
				av, ae = ev.after.vals, ev.after.value
			}
			ts := int64(1764000000100 + i)
			want, err := enc.AppendEnvelope(p(), bv, av, src, ev.op, ts)
			got := event.AppendEncodedEnvelope(p(), be, ae, src, ev.op, ts)
			same(fmt.Sprintf("envelope %s (source %d)", ev.op, i), got, nil, want, err)
		}
	}
	return cur
}

// TestTextEncodeAllTypes checks the text encoders on every row of the
// all-types fixture, in a session time zone far from UTC.
func TestTextEncodeAllTypes(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	conn := connect(t, src, db)
	exec(t, conn, testenv.AllTypesDDL)
	for _, q := range testenv.AllTypesRows {
		exec(t, conn, q)
	}
	tbl, err := LoadTable(context.Background(), conn, db, "all_types")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := newTextEnc(tbl)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, conn, "SET SESSION time_zone = '+05:00'")
	var prev *encodedRow
	n := streamText(t, conn, selectAll(tbl), func(row []mysql.FieldValue) {
		prev = checkTextEncode(t, fmt.Sprintf("all_types row %d", row[0].AsInt64()), tbl, enc, row, prev)
	})
	if n != len(testenv.AllTypesRows) {
		t.Fatalf("read %d rows, want %d", n, len(testenv.AllTypesRows))
	}
}

// edgesDDL is a table of boundary values for the fast paths: a key of four
// fast types, every integer width, decimals around 19 digits and 2^63 and
// 2^64, floats, strings and zero dates, next to columns of the generic path.
const edgesDDL = "CREATE TABLE edges (" +
	"id INT NOT NULL, kd DECIMAL(12,2) NOT NULL, ks VARCHAR(20) NOT NULL, kdt DATETIME(6) NOT NULL," +
	"ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED," +
	"mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED," +
	"bi BIGINT, biu BIGINT UNSIGNED, bo BOOL, yr YEAR, inn INT NOT NULL," +
	"d0 DECIMAL(10,2), d52 DECIMAL(5,2), d72 DECIMAL(7,2), d180 DECIMAL(18,0), d190 DECIMAL(19,0)," +
	"d200 DECIMAL(20,0), d202 DECIMAL(20,2), d1919 DECIMAL(19,19), d3819 DECIMAL(38,19)," +
	"d6530 DECIMAL(65,30), d650 DECIMAL(65,0)," +
	"f FLOAT, d DOUBLE, fnn FLOAT NOT NULL," +
	"vc VARCHAR(2000), vcnn VARCHAR(10) NOT NULL, c CHAR(10), vcl VARCHAR(20) CHARACTER SET latin1, tx TEXT," +
	"e ENUM('a','é'), s SET('x','y'), j JSON," +
	"dt DATE, dtnn DATE NOT NULL, dtm DATETIME(6), dtm0 DATETIME," +
	"ts TIMESTAMP(6) NULL, tm TIME(6), b BIT(8), vb VARBINARY(10)," +
	"PRIMARY KEY (id, kd, ks, kdt)" +
	") DEFAULT CHARSET=utf8mb4"

// edgesRows fill edges: maxima, minima, NULLs, values around powers of two,
// zeros and zero dates.
var edgesRows = []string{
	"INSERT INTO edges SET id = 1, kd = 9999999999.99, ks = 'k😀', kdt = '9999-12-31 23:59:59.999999'," +
		"ti = 127, tiu = 255, si = 32767, siu = 65535, mi = 8388607, miu = 16777215, i = 2147483647, iu = 4294967295," +
		"bi = 9223372036854775807, biu = 18446744073709551615, bo = 1, yr = 2155, inn = 2147483647," +
		"d0 = 99999999.99, d52 = 999.99, d72 = 99999.99, d180 = 999999999999999999, d190 = 9999999999999999999," +
		"d200 = 99999999999999999999, d202 = 999999999999999999.99, d1919 = 0.9999999999999999999," +
		"d3819 = 9999999999999999999.9999999999999999999," +
		"d6530 = 99999999999999999999999999999999999.999999999999999999999999999999," +
		"d650 = 99999999999999999999999999999999999999999999999999999999999999999," +
		"f = 3.4028234e38, d = 1.7976931348623157e308, fnn = 1.17549435e-38," +
		"vc = REPEAT('é😀x', 600), vcnn = '😀', c = 'abc', vcl = 'café', tx = REPEAT('t', 5000)," +
		"e = 'é', s = 'x,y', j = '{\"k\": [1, 2.5]}'," +
		"dt = '9999-12-31', dtnn = '1000-01-01', dtm = '9999-12-31 23:59:59.999999', dtm0 = '1000-01-01 00:00:00'," +
		"ts = '2038-01-19 03:14:07.999999', tm = '838:59:59', b = b'11111111', vb = X'00FF'",
	"INSERT INTO edges SET id = 2, kd = -9999999999.99, ks = '', kdt = '1000-01-01 00:00:00.000001'," +
		"ti = -128, tiu = 0, si = -32768, siu = 0, mi = -8388608, miu = 0, i = -2147483648, iu = 0," +
		"bi = -9223372036854775808, biu = 0, bo = 0, yr = 1901, inn = -2147483648," +
		"d0 = -99999999.99, d52 = -999.99, d72 = -99999.99, d180 = -999999999999999999, d190 = -9999999999999999999," +
		"d200 = -99999999999999999999, d202 = -999999999999999999.99, d1919 = -0.9999999999999999999," +
		"d3819 = -9999999999999999999.9999999999999999999," +
		"d6530 = -99999999999999999999999999999999999.999999999999999999999999999999," +
		"d650 = -99999999999999999999999999999999999999999999999999999999999999999," +
		"f = -3.4028234e38, d = -1.7976931348623157e308, fnn = -1.5," +
		"vc = '', vcnn = '', c = '', vcl = '', tx = '', e = 'a', s = '', j = '[]'," +
		"dt = '1000-01-01', dtnn = '0000-00-00', dtm = '1000-01-01 00:00:00.000001', dtm0 = '1969-12-31 23:59:59'," +
		"ts = '1970-01-01 00:00:01', tm = '-838:59:59', b = b'0', vb = X''",
	"INSERT INTO edges SET id = 3, kd = 0, ks = 'n', kdt = '0000-00-00 00:00:00'," +
		"inn = 0, fnn = 0, vcnn = 'n', dtnn = '2024-02-29'",
	"INSERT INTO edges SET id = 4, kd = -1.28, ks = 'p', kdt = '1969-12-31 23:59:59.5'," +
		"ti = -1, tiu = 128, si = -129, siu = 32768, mi = -32769, miu = 8388608, i = -1, iu = 2147483648," +
		"bi = -1, biu = 9223372036854775808, bo = -1, yr = 0, inn = 1," +
		"d0 = -1.28, d52 = -1.28, d72 = -327.68, d180 = 576460752303423488, d190 = 9223372036854775807," +
		"d200 = 18446744073709551615, d202 = 92233720368547758.08, d1919 = 0.9223372036854775808," +
		"d3819 = -0.0000000000000000001, d6530 = 0.000000000000000000000000000001," +
		"d650 = 18446744073709551616," +
		"f = 1.17549435e-38, d = -2.2250738585072014e-308, fnn = -1.28," +
		"vc = ' padded ', vcnn = 'x', c = 'a', vcl = 'ÿ', tx = '😀', s = 'y', j = 'null'," +
		"dt = '1970-01-01', dtnn = '2024-00-15', dtm = '1970-01-01 00:00:00', dtm0 = '2024-02-29 12:00:00'," +
		"tm = '-00:00:00.000001', b = b'10000000', vb = X'80'",
	"INSERT INTO edges SET id = 5, kd = -0.00, ks = 'z', kdt = '2000-01-01 00:00:00'," +
		"ti = 0, tiu = 0, si = 0, siu = 0, mi = 0, miu = 0, i = 0, iu = 0, bi = 0, biu = 0, bo = 0, yr = 2000, inn = 0," +
		"d0 = -0.00, d52 = 0, d72 = 0.01, d180 = 0, d190 = -1, d200 = 1, d202 = -0.01, d1919 = 0, d3819 = 0," +
		"d6530 = 0, d650 = 0," +
		"f = 0, d = -1e-300, fnn = 1e10," +
		"vc = '0', vcnn = '0', c = '0', vcl = '0', tx = '0', e = 'a', s = 'x', j = '0'," +
		"dt = '0000-00-00', dtnn = '0000-00-00', dtm = '0000-00-00 00:00:00', dtm0 = '0000-00-00 00:00:00'," +
		"ts = '0000-00-00 00:00:00', tm = '00:00:00', b = b'0', vb = X'00'",
	"INSERT INTO edges SET id = 6, kd = 922337203.68, ks = 'q', kdt = '2024-02-29 13:14:15.000001'," +
		"bi = 4611686018427387904, biu = 9223372036854775807, inn = -1," +
		"d190 = -9223372036854775808, d202 = -92233720368547758.08, d1919 = -0.9223372036854775808," +
		"d200 = -18446744073709551616, d650 = -9223372036854775808," +
		"d = 1e300, f = -1e-30, fnn = 3.4028234e38," +
		"vcnn = 'é', dtnn = '1969-12-31', dtm = '1969-12-31 23:59:59.999999', dtm0 = '1900-01-01 00:00:00'",
}

// TestTextEncodeEdges checks the text encoders on boundary values of every
// fast path.
func TestTextEncodeEdges(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	conn := textConn(t, src, db)
	exec(t, conn, edgesDDL)
	for _, q := range edgesRows {
		exec(t, conn, q)
	}
	tbl, err := LoadTable(context.Background(), conn, db, "edges")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tbl.Key, ","); got != "id,kd,ks,kdt" {
		t.Fatalf("key %s", got)
	}
	enc, err := newTextEnc(tbl)
	if err != nil {
		t.Fatal(err)
	}
	var prev *encodedRow
	n := streamText(t, conn, selectAll(tbl), func(row []mysql.FieldValue) {
		prev = checkTextEncode(t, fmt.Sprintf("edges row %d", row[0].AsInt64()), tbl, enc, row, prev)
	})
	if n != len(edgesRows) {
		t.Fatalf("read %d rows, want %d", n, len(edgesRows))
	}

	// The fast paths take the values they are meant for, and leave the
	// decimals beyond 19 digits to the generic path.
	rows := selectText(t, conn, selectAll(tbl))
	for _, tc := range []struct {
		row  int
		col  string
		fast bool
	}{
		{1, "ti", true}, {1, "biu", true}, {1, "d190", true}, {1, "d200", false}, {1, "d202", false},
		{1, "d1919", true}, {1, "d3819", false}, {1, "d6530", false}, {1, "f", true}, {1, "vc", true},
		{1, "ts", false}, {1, "dtm", true}, {2, "dtnn", true}, {5, "d6530", true}, {4, "d202", true},
		{4, "d200", false}, {4, "d3819", true}, {4, "d6530", true}, {4, "yr", true}, {5, "kd", true},
	} {
		_, idx, ok := tbl.Column(tc.col)
		if !ok {
			t.Fatalf("no column %s", tc.col)
		}
		f := &rows[tc.row-1][idx]
		if _, fast := enc.te.appendFast(nil, idx, &enc.te.cols[idx], f); fast != tc.fast {
			t.Errorf("row %d %s = %s: fast path %v, want %v", tc.row, tc.col, f.String(), fast, tc.fast)
		}
	}
}

// TestTextEncodeForms checks the text encoders on field values in forms the
// server does not send for the column's type, as a Table that does not
// match its SELECT gets them: signed and unsigned bits of every integer
// type, integers and floats as text, and decimal texts around the limits
// of the fast path. The values come from the server, with hand-made
// variants.
func TestTextEncodeForms(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	conn := textConn(t, src, db)
	intTypes := []string{"tinyint", "tinyint unsigned", "smallint", "smallint unsigned", "mediumint",
		"mediumint unsigned", "int", "int unsigned", "bigint", "bigint unsigned", "year"}
	decTypes := []string{"decimal(5,2)", "decimal(12,2)", "decimal(18,0)", "decimal(19,0)", "decimal(20,0)",
		"decimal(20,2)", "decimal(19,19)", "decimal(38,19)", "decimal(65,30)", "decimal(4,4)"}
	var cols []schema.Column
	var exprs []string
	add := func(typ, expr string) {
		ty, err := schema.ParseType(typ)
		if err != nil {
			t.Fatal(err)
		}
		cols = append(cols, schema.Column{Name: fmt.Sprintf("c%d", len(cols)), Type: ty, Nullable: len(cols)%2 == 1})
		exprs = append(exprs, expr+" AS "+cols[len(cols)-1].Name)
	}
	add("int", "1")
	for _, typ := range intTypes {
		for _, v := range []string{"0", "1", "-1", "127", "128", "-128", "-129", "255", "256", "32767", "32768", "-32769",
			"65535", "8388607", "8388608", "-8388609", "16777215", "16777216", "2147483647", "2147483648", "-2147483649",
			"4294967295", "4294967296", "9223372036854775807", "-9223372036854775808"} {
			add(typ, v)                              // signed bits
			add(typ, "CAST("+v+" AS UNSIGNED)")      // unsigned bits
			add(typ, "CAST('"+v+"' AS CHAR)")        // text
			add(typ, "CAST("+v+" AS DECIMAL(20,0))") // decimal text
		}
		add(typ, "18446744073709551615")
	}
	for _, typ := range decTypes {
		for _, v := range []string{"0", "-0.00", "0.0", "1", "-1", "-1.28", "1.5", "-1.005", "0.0001", "12.345",
			"999.99", "-999.99", "1000.00", "9999999999999999999", "-9999999999999999999", "10000000000000000000",
			"9223372036854775808", "-9223372036854775808", "18446744073709551615", "18446744073709551616",
			"92233720368547758.08", "0.9999999999999999999", "-0.9223372036854775808", "1.0000000000000000000",
			"0.00000000000000000000000000001", "'1e3'", "' 1.5'", "'1.'", "'.5'", "'-'", "''", "'+1'", "'1.2.3'", "'--1'",
			"'.'", "'-.'", "'-.5'", "'1.-'", "'1 '", "'0x1'"} {
			add(typ, "CAST("+v+" AS CHAR)")
		}
		add(typ, "1.5e0") // a float field: the generic path's error
	}
	for _, typ := range []string{"float", "double"} {
		for _, v := range []string{"0", "-1.5e0", "1e300", "-1e-300", "3.4028234e38", "1e39", "'1.5'", "'nan'", "'x'"} {
			add(typ, v)
		}
		add(typ, "1")
	}
	for _, typ := range []string{"date", "datetime(6)", "varchar(10)"} {
		for _, v := range []string{"'2024-02-29'", "'2024-02-30'", "'0000-00-00'", "'2024-02-29 01:02:03.5'",
			"'0000-00-00 00:00:00'", "'2024-02-29 01:02:03.1234567'", "'bad'", "''", "1", "1.5e0"} {
			add(typ, v)
		}
	}
	tbl := schema.Table{Database: db, Name: "forms", Key: []string{"c0"}, Columns: cols}
	enc, err := newTextEnc(tbl)
	if err != nil {
		t.Fatal(err)
	}
	rows := selectText(t, conn, "SELECT "+strings.Join(exprs, ", "))
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	row := rows[0]
	prefix := []byte("prefix")
	fastCount := 0
	for i, c := range cols {
		// One column at a time, as a one-column table, so that one value's
		// error does not hide the others.
		one := schema.Table{Database: db, Name: "forms", Key: []string{c.Name}, Columns: []schema.Column{c}}
		oneEnc, err := newTextEnc(one)
		if err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("%s %s (field %s)", c.Type, exprs[i], row[i].String())
		fields := []mysql.FieldValue{row[i]}
		got, gerr := oneEnc.AppendTextValue(append([]byte{}, prefix...), fields)
		var want []byte
		var werr error
		vals, verr := TextValues(one, fields)
		if verr != nil {
			want, werr = prefix, verr
			if gerr == nil || !strings.Contains(gerr.Error(), strings.TrimPrefix(verr.Error(), one.QualifiedName()+" ")) {
				t.Errorf("%s: error %v, TextValues error %v", what, gerr, verr)
			}
		} else {
			want, werr = oneEnc.AppendValue(append([]byte{}, prefix...), vals)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("%s: error %v, generic path error %v", what, gerr, werr)
			}
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\ntext    %x\ngeneric %x (error %v)", what, got, want, werr)
		}
		_, fast := enc.te.appendFast(nil, i, &enc.te.cols[i], &row[i])
		if fast {
			fastCount++
		}
		// Numbers in the field forms of their column types take the fast
		// path.
		k, ft := c.Type.Kind, row[i].Type
		number := (k.IsInteger() || k == schema.Year) && (ft == mysql.FieldValueTypeSigned || ft == mysql.FieldValueTypeUnsigned) ||
			(k == schema.Float || k == schema.Double) && ft == mysql.FieldValueTypeFloat
		if number && !fast {
			t.Errorf("%s: not on the fast path", what)
		}
	}
	t.Logf("%d of %d values took a fast path", fastCount, len(cols))
}

// TestTextEncodeErrors checks the errors of the text encoders: they name
// the table and the column, match the generic path's, and leave dst as it
// was.
func TestTextEncodeErrors(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	conn := textConn(t, src, db)
	typ := func(s string) schema.Type {
		ty, err := schema.ParseType(s)
		if err != nil {
			t.Fatal(err)
		}
		return ty
	}
	tbl := schema.Table{Database: db, Name: "errs", Key: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: typ("int")},
		{Name: "v", Type: typ("varchar(10)")},
		{Name: "amount", Type: typ("decimal(5,2)"), Nullable: true},
		{Name: "day", Type: typ("date"), Nullable: true},
	}}
	enc, err := newTextEnc(tbl)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte("prefix")
	for _, tc := range []struct {
		name, sel   string
		keyCol, col string // the column the key's and the value's error name; "" for none
		msg         string
	}{
		{"NULL in NOT NULL key", "NULL, 'x', 1.5, '2024-01-01'", "id", "id", "NULL in a NOT NULL column"},
		{"NULL in NOT NULL column", "1, NULL, 1.5, '2024-01-01'", "", "v", "NULL in a NOT NULL column"},
		{"decimal beyond precision", "1, 'x', CAST(12345.67 AS DECIMAL(10,2)), NULL", "", "amount", "decimal 12345.67 does not fit decimal(5,2)"},
		{"long decimal beyond precision", "1, 'x', CAST('-123456789012345678901234.5' AS DECIMAL(30,1)), NULL", "", "amount", "does not fit decimal(5,2)"},
		{"rounded decimal beyond precision", "1, 'x', CAST('-999.999' AS DECIMAL(6,3)), NULL", "", "amount", "decimal -1000.00 does not fit decimal(5,2)"},
		{"bad date", "1, 'x', NULL, 'tomorrow'", "", "day", "bad date"},
		{"text in an integer column", "'one', 'x', NULL, NULL", "id", "id", "bad integer"},
	} {
		rows := selectText(t, conn, "SELECT "+tc.sel)
		row := rows[0]
		vals, verr := TextValues(tbl, row)
		for _, part := range []struct {
			name string
			col  string
			text func([]byte, []mysql.FieldValue) ([]byte, error)
			gen  func([]byte, []any) ([]byte, error)
		}{{"key", tc.keyCol, enc.AppendTextKey, enc.AppendKey}, {"value", tc.col, enc.AppendTextValue, enc.AppendValue}} {
			got, err := part.text(append([]byte{}, prefix...), row)
			if part.col == "" {
				if err != nil {
					t.Errorf("%s %s: %v", tc.name, part.name, err)
				}
				continue
			}
			if err == nil {
				t.Errorf("%s %s: no error", tc.name, part.name)
				continue
			}
			if !bytes.Equal(got, prefix) {
				t.Errorf("%s %s: dst changed on error: %q", tc.name, part.name, got)
			}
			wantPrefix := "encode " + db + ".errs column " + part.col + ": "
			if !strings.HasPrefix(err.Error(), wantPrefix) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s %s: error %q, want %q...%q", tc.name, part.name, err, wantPrefix, tc.msg)
			}
			// The generic path fails with the same error: in TextValues,
			// or in the Encoder with the same text.
			if verr != nil {
				if !strings.HasSuffix(err.Error(), strings.TrimPrefix(verr.Error(), db+".errs ")) {
					t.Errorf("%s %s: error %q, TextValues error %q", tc.name, part.name, err, verr)
				}
			} else if _, gerr := part.gen(nil, vals); gerr == nil || gerr.Error() != err.Error() {
				t.Errorf("%s %s: error %q, generic path error %v", tc.name, part.name, err, gerr)
			}
		}
	}

	rows := selectText(t, conn, "SELECT 1, 'x', 1.5")
	for name, f := range map[string]func([]byte, []mysql.FieldValue) ([]byte, error){
		"key": enc.AppendTextKey, "value": enc.AppendTextValue,
	} {
		got, err := f(append([]byte{}, prefix...), rows[0])
		want := "encode " + db + ".errs: row has 3 values, table has 4 columns"
		if err == nil || err.Error() != want {
			t.Errorf("short row %s: error %v, want %q", name, err, want)
		}
		if !bytes.Equal(got, prefix) {
			t.Errorf("short row %s: dst changed on error: %q", name, got)
		}
	}
}

// benchTextDDL creates the table of BenchTableShape.
const benchTextDDL = "CREATE TABLE changes (id BIGINT NOT NULL PRIMARY KEY, account INT NOT NULL, qty INT NOT NULL," +
	"amount DECIMAL(12,2) NOT NULL, score DOUBLE NOT NULL, name VARCHAR(64) NOT NULL, note VARCHAR(255) NULL," +
	"status TINYINT NOT NULL, created DATETIME(6) NOT NULL, day DATE NOT NULL) DEFAULT CHARSET=utf8mb4"

// benchTextTable creates the table of `syncline bench` (BenchTableShape) in
// a new database, fills it with the rows of BenchIDs, and returns it as
// LoadTable reads it, with copies of its rows as the snapshot reads them.
func benchTextTable(tb testing.TB) (schema.Table, [][]mysql.FieldValue) {
	tb.Helper()
	src := testenv.Source(tb)
	db := src.NewDatabase(tb)
	conn := textConn(tb, src, db)
	exec(tb, conn, benchTextDDL)
	var values []string
	for _, id := range eventtest.BenchIDs() {
		r := eventtest.MakeBenchRow(id)
		note := "NULL"
		if r.Note != nil {
			note = "'" + *r.Note + "'"
		}
		values = append(values, fmt.Sprintf("(%d, %d, %d, %s, %s, '%s', %s, %d, '%s', '%s')", r.ID, r.Account, r.Qty,
			r.Amount, strconv.FormatFloat(r.Score, 'g', -1, 64), r.Name, note, r.Status, r.Created, r.Day))
	}
	exec(tb, conn, "INSERT INTO changes VALUES "+strings.Join(values, ", "))
	tbl, err := LoadTable(context.Background(), conn, db, "changes")
	if err != nil {
		tb.Fatal(err)
	}
	shape := eventtest.BenchTableShape()
	shape.Database = db
	if !tbl.Equal(shape) {
		tb.Fatalf("bench table loaded as %+v", tbl)
	}
	rows := selectText(tb, conn, selectAll(tbl))
	if len(rows) != len(eventtest.BenchIDs()) {
		tb.Fatalf("read %d bench rows", len(rows))
	}
	return tbl, rows
}

// TestTextEncodeNoAllocs checks that the text encoders allocate nothing for
// a row of the bench table (integers, varchars, a nullable varchar,
// DECIMAL(12,2), DOUBLE, DATETIME(6) and DATE), and encode it as the
// generic path does.
func TestTextEncodeNoAllocs(t *testing.T) {
	tbl, rows := benchTextTable(t)
	enc, err := newTextEnc(tbl)
	if err != nil {
		t.Fatal(err)
	}
	var prev *encodedRow
	for i, row := range rows {
		prev = checkTextEncode(t, fmt.Sprintf("bench row %d", i+1), tbl, enc, row, prev)
	}
	kbuf := make([]byte, 0, 64)
	vbuf := make([]byte, 0, 1024)
	ebuf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(20, func() {
		for _, row := range rows {
			var err error
			if kbuf, err = enc.AppendTextKey(kbuf[:0], row); err != nil {
				t.Fatal(err)
			}
			if vbuf, err = enc.AppendTextValue(vbuf[:0], row); err != nil {
				t.Fatal(err)
			}
			ebuf = event.AppendEncodedEnvelope(ebuf[:0], nil, vbuf, eventtest.BenchSource, "r", 1764000000100)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations for %d rows, want 0", allocs, len(rows))
	}
}

// BenchmarkTextEncode compares the snapshot's encoding of a text-protocol
// row of the bench table: TextValues then AppendValue (the generic path)
// against AppendTextValue, and the same for a whole event (key and
// envelope).
func BenchmarkTextEncode(b *testing.B) {
	tbl, rows := benchTextTable(b)
	enc, err := newTextEnc(tbl)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("value/TextValues+AppendValue", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			vals, err := TextValues(tbl, rows[i%len(rows)])
			if err != nil {
				b.Fatal(err)
			}
			if buf, err = enc.AppendValue(buf[:0], vals); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("value/AppendTextValue", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if buf, err = enc.AppendTextValue(buf[:0], rows[i%len(rows)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("event/TextValues+AppendKey+AppendEnvelope", func(b *testing.B) {
		var kbuf, ebuf []byte
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			vals, err := TextValues(tbl, rows[i%len(rows)])
			if err != nil {
				b.Fatal(err)
			}
			if kbuf, err = enc.AppendKey(kbuf[:0], vals); err != nil {
				b.Fatal(err)
			}
			if ebuf, err = enc.AppendEnvelope(ebuf[:0], nil, vals, eventtest.BenchSource, "r", 1764000000100); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("event/AppendTextKey+AppendTextValue+AppendEncodedEnvelope", func(b *testing.B) {
		var kbuf, vbuf, ebuf []byte
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			row := rows[i%len(rows)]
			if kbuf, err = enc.AppendTextKey(kbuf[:0], row); err != nil {
				b.Fatal(err)
			}
			if vbuf, err = enc.AppendTextValue(vbuf[:0], row); err != nil {
				b.Fatal(err)
			}
			ebuf = event.AppendEncodedEnvelope(ebuf[:0], nil, vbuf, eventtest.BenchSource, "r", 1764000000100)
			i++
		}
	})
}

// TestTextIntegerMatchesInteger checks textInteger against integer
// (via the Encoder) for every integer type and boundary bits, signed and
// unsigned.
func TestTextIntegerMatchesInteger(t *testing.T) {
	for _, typ := range []string{"tinyint", "tinyint unsigned", "smallint", "smallint unsigned", "mediumint",
		"mediumint unsigned", "int", "int unsigned", "bigint"} {
		ty, err := schema.ParseType(typ)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := newTextEnc(schema.Table{Name: "t", Key: []string{"c"}, Columns: []schema.Column{{Name: "c", Type: ty}}})
		if err != nil {
			t.Fatal(err)
		}
		c := &enc.te.cols[0]
		for _, bits := range []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32769, 65535, 65536,
			1<<23 - 1, 1 << 23, -1<<23 - 1, 1<<24 - 1, 1 << 24, math.MaxInt32, math.MaxInt32 + 1, math.MinInt32 - 1,
			math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64, math.MinInt64} {
			for _, goUnsigned := range []bool{false, true} {
				want, err := enc.AppendColumn(nil, 0, integer(ty, bits, goUnsigned))
				if err != nil {
					t.Fatalf("%s %d: %v", typ, bits, err)
				}
				if got := event.AppendLong(nil, textInteger(c, bits, goUnsigned)); !bytes.Equal(got, want) {
					t.Errorf("%s bits %d (unsigned %v): %x, want %x", typ, bits, goUnsigned, got, want)
				}
			}
		}
	}
}
