package rules

import (
	"errors"
	"math"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncline/syncline/schema"
)

func TestParseExprErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", "empty condition"},
		{"   ", "empty condition"},
		{"a = ", "syntax error at the end of the condition"},
		{"a = = 1", "syntax error at line 1 column 5"},
		{"a = 1 AND\nb = = 2", "syntax error at line 2 column 5"},
		{"a = 1 /* unclosed", "syntax error"},
		{"1=1; DROP TABLE x", `syntax error at line 1 column 4 near "; DROP TABLE x"`},
		{"a = 1) OR (b = 2", "unbalanced parentheses"},
		{"a = 1) ORDER BY (a", "not a condition followed by ORDER BY"},
		{"a = 1) GROUP BY (a", "not a condition followed by GROUP BY"},
		{"a IN (SELECT 1)", "subqueries are not supported"},
		{"EXISTS (SELECT 1)", "subqueries are not supported"},
		{"a = (SELECT MAX(b) FROM t)", "subqueries are not supported"},
		{"a > ANY (SELECT 1)", "subqueries are not supported"},
		{"a > NOW()", "non-deterministic function NOW() is not allowed"},
		{"RAND() < 0.5", "non-deterministic function RAND() is not allowed"},
		{"a = CURRENT_DATE", "non-deterministic function CURRENT_DATE() is not allowed"},
		{"a = UUID()", "non-deterministic function UUID() is not allowed"},
		{"a = @x", "user variable @x is not allowed"},
		{"a = @@sql_mode", "system variable @@sql_mode is not allowed"},
		{"SUM(a) > 1", "aggregate function SUM() is not allowed"},
		{"CONCAT(a, b) = 'x'", "function CONCAT() is not supported (supported: ABS, CHARACTER_LENGTH,"},
		{"a REGEXP 'x'", "REGEXP is not supported"},
		{"CASE WHEN a THEN 1 END = 1", "CASE is not supported"},
		{"CAST(a AS CHAR) = 'x'", "CAST and CONVERT are not supported"},
		{"t.a = 1", "qualified column name t.a: use the bare column name"},
		{"a ILIKE 'x'", "ILIKE is not supported"},
		{"a COLLATE utf8mb4_unicode_ci = 'x'", "collation utf8mb4_unicode_ci is not supported (supported: ascii_bin,"},
		{"a COLLATE nosuch = 'x'", "collation nosuch is not supported"},
		{"a & 1", "operator & is not supported"},
		{"a << 1 = 2", "operator << is not supported"},
		{"~a = 1", "operator ~ is not supported"},
		{"LOWER(a, b) = 'x'", "LOWER() takes one argument, not 2"},
		{"IFNULL(a) = 'x'", "IFNULL() takes 2 arguments, not 1"},
		{"COALESCE() = 'x'", "COALESCE() takes at least one argument, not 0"},
		{"(a, b) = (1, 2)", "row constructors are not supported"},
		{"a = DEFAULT(b)", "DEFAULT is not allowed"},
		{"a = INTERVAL 1 DAY", "syntax error"},
	} {
		_, err := ParseExpr(tc.src)
		if err == nil {
			t.Errorf("ParseExpr(%q) succeeded", tc.src)
			continue
		}
		if !errors.Is(err, ErrBadFilter) {
			t.Errorf("ParseExpr(%q): %v does not wrap ErrBadFilter", tc.src, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseExpr(%q):\n  %v\nwant it to contain\n  %s", tc.src, err, tc.want)
		}
		if tc.src != "" && !strings.Contains(err.Error(), tc.src) && !strings.Contains(err.Error(), strings.ReplaceAll(tc.src, "\n", `\n`)) {
			t.Errorf("ParseExpr(%q): %v does not quote the filter", tc.src, err)
		}
	}
}

func TestParseExpr(t *testing.T) {
	src := "b = 1 AND A = 2 OR a IS NULL AND `c d` LIKE 'x' AND COALESCE(e, B) > 0 -- a comment"
	e, err := ParseExpr(src)
	if err != nil {
		t.Fatal(err)
	}
	if e.String() != src {
		t.Errorf("String() = %q", e.String())
	}
	if got, want := e.Columns(), []string{"A", "b", "c d", "e"}; !slices.Equal(got, want) {
		t.Errorf("Columns() = %q, want %q", got, want)
	}
	e.Columns()[0] = "changed"
	if e.Columns()[0] != "A" {
		t.Error("Columns returns the Expr's own slice")
	}
	for _, ok := range []string{
		"a = 1 # a comment",
		"a = 1 /* a comment */",
		"(((a = 1)))",
		"a = ')' OR a = '('",
		"a = 1\n",
		"TRUE",
	} {
		if _, err := ParseExpr(ok); err != nil {
			t.Errorf("ParseExpr(%q): %v", ok, err)
		}
	}
}

// testColumns is a table of most column kinds, for the tests that need no
// server.
var testColumns = []schema.Column{
	{Name: "id", Type: schema.Type{Kind: schema.Int}},
	{Name: "i", Type: schema.Type{Kind: schema.Int}, Nullable: true},
	{Name: "bi", Type: schema.Type{Kind: schema.BigInt}, Nullable: true},
	{Name: "bu", Type: schema.Type{Kind: schema.BigInt, Unsigned: true}, Nullable: true},
	{Name: "dc", Type: schema.Type{Kind: schema.Decimal, Precision: 10, Scale: 2}, Nullable: true},
	{Name: "f", Type: schema.Type{Kind: schema.Double}, Nullable: true},
	{Name: "s", Type: schema.Type{Kind: schema.VarChar, Length: 20, Charset: "utf8mb4"}, Nullable: true},
	{Name: "l", Type: schema.Type{Kind: schema.VarChar, Length: 20, Charset: "latin1"}, Nullable: true},
	{Name: "k", Type: schema.Type{Kind: schema.VarChar, Length: 20, Charset: "gbk"}, Nullable: true},
	{Name: "vb", Type: schema.Type{Kind: schema.VarBinary, Length: 10}, Nullable: true},
	{Name: "e", Type: schema.Type{Kind: schema.Enum, Elems: []string{"new", "paid"}, Charset: "utf8mb4"}, Nullable: true},
	{Name: "j", Type: schema.Type{Kind: schema.JSON}, Nullable: true},
	{Name: "g", Type: schema.Type{Kind: schema.Geometry}, Nullable: true},
	{Name: "dt", Type: schema.Type{Kind: schema.Date}, Nullable: true},
	{Name: "dtm", Type: schema.Type{Kind: schema.DateTime, Precision: 3}, Nullable: true},
	{Name: "ts", Type: schema.Type{Kind: schema.Timestamp}, Nullable: true},
	{Name: "tm", Type: schema.Type{Kind: schema.Time}, Nullable: true},
	{Name: "dn", Type: schema.Type{Kind: schema.Date}},
}

func bind(t *testing.T, src string) *Filter {
	t.Helper()
	e, err := ParseExpr(src)
	if err != nil {
		t.Fatalf("ParseExpr(%q): %v", src, err)
	}
	f, err := e.Bind(testColumns)
	if err != nil {
		t.Fatalf("Bind(%q): %v", src, err)
	}
	return f
}

func TestBindUnknownColumn(t *testing.T) {
	e, err := ParseExpr("i > 1 AND nope = 2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Bind(testColumns)
	if !errors.Is(err, ErrUnknownColumn) || errors.Is(err, ErrBadFilter) {
		t.Fatalf("Bind: %v, want an error wrapping only ErrUnknownColumn", err)
	}
	if want := `row filter "i > 1 AND nope = 2": unknown column "nope"`; err.Error() != want {
		t.Errorf("Bind: %q, want %q", err, want)
	}
	// Column names are case-insensitive.
	bind(t, "I > 1 AND Dt IS NULL")
}

func TestBindErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"dt = 20240101", "cannot compare column dt (date) with 20240101: compare dates and times with each other or with quoted literals"},
		{"dt = 'yesterday'", "cannot compare column dt (date) with 'yesterday': 'yesterday' is not a valid date or datetime"},
		{"dt = '2024-02-30'", "'2024-02-30' is not a valid date or datetime (no such day)"},
		{"dt < '2024-02-00'", "no such day"},
		{"dtm = '2024-01-01 24:00'", "no such time of day"},
		{"tm = '10:61'", "'10:61' is not a valid time (minutes and seconds go up to 59)"},
		{"tm = '839:00:00'", "beyond 838:59:59"},
		{"tm = dt", "cannot compare column tm (time) with column dt (date)"},
		{"dt = s", "cannot compare column dt (date) with column s (varchar(20))"},
		{"i = 'abc'", "cannot compare column i (int) with 'abc': it is not a number (MySQL would read it as 0)"},
		{"i = '5x'", "it is not a number (MySQL would read it as 5)"},
		{"dc > ''", "it is not a number (MySQL would read it as 0)"},
		{"s", "column s (varchar(20)) is not a condition"},
		{"dt OR i", "column dt (date) is not a condition"},
		{"LOWER(s) IS TRUE", "LOWER(s) is not a condition"},
		{"dt + 1 > 0", "arithmetic on column dt (date) is not supported"},
		{"-vb = 1", "arithmetic on column vb (varbinary(10)) is not supported"},
		{"j = 'x'", "column j (json) can only be tested with IS NULL"},
		{"g = s", "column g (geometry) can only be tested with IS NULL"},
		{"vb = 5", "cannot compare column vb (varbinary(10)) with 5"},
		{"f LIKE '1%'", "LIKE on column f (double) is not supported"},
		{"s COLLATE latin1_bin = 'x'", "COLLATE latin1_bin does not fit column s (varchar(20)), whose charset is utf8mb4"},
		{"i COLLATE utf8mb4_bin = 1", "COLLATE applies to strings, not to column i (int)"},
		{"LOWER(i) = 'x'", "LOWER() takes a string, not column i (int)"},
		{"LENGTH(g) = 1", "LENGTH() takes a string, not column g (geometry)"},
		{"LENGTH(k) = 1", "LENGTH() of column k (varchar(20)) (charset gbk) is not supported"},
		{"COALESCE(dt, 'x') IS NULL", "COALESCE(dt, 'x') mixes column dt (date) and 'x'"},
		{"COALESCE(j, s) IS NULL", "column j (json) can only be tested with IS NULL"},
		{"s IN ('a', 1)", "IN list mixes strings and numbers"},
		{"s BETWEEN 'a' AND 5", "BETWEEN mixes strings and numbers"},
		{"YEAR(s) = 1", "YEAR() takes a date or datetime, not column s (varchar(20))"},
		{"DATE('2024-13-01') = dt", "DATE(): '2024-13-01' is not a valid date or datetime"},
		{"DATE '2024-01-01 10:00' = dt", "DATE literal '2024-01-01 10:00' has a time"},
		{"ABS(dt) = 1", "ABS() takes a number, not column dt (date)"},
	} {
		e, err := ParseExpr(tc.src)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tc.src, err)
			continue
		}
		_, err = e.Bind(testColumns)
		if err == nil {
			t.Errorf("Bind(%q) succeeded", tc.src)
			continue
		}
		if !errors.Is(err, ErrBadFilter) {
			t.Errorf("Bind(%q): %v does not wrap ErrBadFilter", tc.src, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Bind(%q):\n  %v\nwant it to contain\n  %s", tc.src, err, tc.want)
		}
	}
}

// row returns a row of testColumns with the given values by name.
func row(vals map[string]any) []any {
	r := make([]any, len(testColumns))
	for i, c := range testColumns {
		r[i] = vals[c.Name]
	}
	return r
}

func TestMatch(t *testing.T) {
	wall := time.Date(2024, 2, 29, 10, 11, 12, 345e6, time.UTC)
	base := map[string]any{
		"id": int32(1), "i": int32(5), "bi": int64(math.MaxInt64), "bu": new(big.Rat).SetUint64(math.MaxUint64),
		"dc": big.NewRat(1050, 100), "f": 0.1, "s": "Straße ", "l": "Åsa", "vb": []byte("abc"),
		"e": "paid", "dt": time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "dtm": wall,
		"ts": time.Date(2024, 2, 29, 11, 11, 12, 0, time.FixedZone("CET", 3600)),
		"tm": int64(-(3600 + 2*60 + 3) * 1e6), "dn": schema.ZeroDate(),
	}
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{"1 = 1", true},
		{"1 = 0", false},
		{"NULL", false},
		{"NOT NULL", false},
		{"NULL IS NULL", true},
		{"i = 5 AND s = 'STRASSE'", false},
		{"s = 'strase'", true}, // ß weighs as s; trailing space ignored
		{"s LIKE 'strase'", false},
		{"s LIKE 'STRASE '", true},
		{"l = 'asa'", false}, // Å is its own letter in Swedish
		{"l LIKE 'Å%'", true},
		{"e = 2 AND e > 'new'", true},
		{"bi + 1 > 0", false}, // overflow: NULL
		{"NOT (bi + 1 > 0)", false},
		{"bi - 1 < bi", true},
		{"bu = 18446744073709551615 AND bu > bi", true},
		{"bu + 1 IS NULL AND bu - 1 = 18446744073709551614", true}, // out of BIGINT UNSIGNED
		{"i - 6 = -1 AND i - bu IS NULL AND -bu IS NULL AND -bi = -9223372036854775807", true},
		{"bu DIV 1 = bu AND bu DIV -1 IS NULL AND i DIV -2 = -2", true},
		{"i / 0 IS NULL AND i DIV 0 IS NULL AND i % 0 IS NULL", true},
		{"dc / 3 = 3.500000", true},
		{"i / 3 = 1.6667", true},
		{"i / 3 = 1.66667", false},
		{"(i / 3) * 3 = 5", true},
		{"dc = 10.5 AND dc = '10.50' AND dc = 10.5e0", true},
		{"f = 0.1 AND f + 0.2 <> 0.3", true},
		{"vb = 'abc' AND vb <> 'ABC' AND vb LIKE 'a%' AND vb NOT LIKE 'A%'", true},
		{"dt = '2024-02-29' AND dt < '2024-02-29 00:00:00.000001'", true},
		{"dtm = '2024-02-29 10:11:12.345' AND dtm LIKE '%.345' AND DATE(dtm) = dt", true},
		{"ts = '2024-02-29 10:11:12'", true}, // read in UTC
		{"tm = '-01:02:03' AND tm < '-1:02' AND tm LIKE '-01:%'", true},
		{"dn IS NULL", true},     // NOT NULL zero date
		{"dn IS NOT NULL", true}, // the quirk is IS NULL's only
		{"dn < '0001-01-01' AND dn = '0000-00-00' AND YEAR(dn) = 0", true},
		{"j IS NULL AND g IS NULL", true},
		{"i IN (1, NULL)", false},
		{"NOT (i IN (1, NULL))", false},
		{"i IN (5, NULL)", true},
		{"i NOT IN (1, 2)", true},
		{"i BETWEEN 1 AND NULL", false},
		{"i NOT BETWEEN 6 AND NULL", true},
		{"(i > 1) IS TRUE AND (i < 1) IS FALSE AND (s IS NULL) IS NOT TRUE AND (id > NULL) IS NOT FALSE", true},
		{"i XOR 0", true},
		{"i XOR NULL", false},
		{"i <=> NULL", false},
		{"NULL <=> NULL", true},
	} {
		f := bind(t, tc.src)
		if got := f.Match(row(base)); got != tc.want {
			t.Errorf("%s: Match = %v, want %v", tc.src, got, tc.want)
		}
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		if got := f.MatchMap(m); got != tc.want {
			t.Errorf("%s: MatchMap = %v, want %v", tc.src, got, tc.want)
		}
	}
}

func TestMatchValueForms(t *testing.T) {
	micros := time.Date(2024, 2, 29, 10, 0, 0, 0, time.UTC).UnixMicro()
	for _, tc := range []struct {
		name  string
		vals  map[string]any
		src   string
		match bool
	}{
		{"datetime micros", map[string]any{"dtm": micros}, "dtm = '2024-02-29 10:00'", true},
		{"datetime time.Time", map[string]any{"dtm": time.UnixMicro(micros).UTC()}, "dtm = '2024-02-29 10:00'", true},
		{"datetime wall clock in a zone", map[string]any{"dtm": time.Date(2024, 2, 29, 10, 0, 0, 0, time.FixedZone("X", 7200))}, "dtm = '2024-02-29 10:00'", true},
		{"datetime union", map[string]any{"dtm": map[string]any{"long.local-timestamp-micros": micros}}, "dtm = '2024-02-29 10:00'", true},
		{"datetime zero", map[string]any{"dtm": schema.ZeroDateTime}, "dtm = '0000-00-00 00:00:00'", true},
		{"timestamp micros", map[string]any{"ts": micros}, "ts = '2024-02-29 10:00'", true},
		{"timestamp zero", map[string]any{"ts": schema.ZeroTimestamp()}, "ts < '1970-01-01'", true},
		{"date days", map[string]any{"dt": int32(micros / microsPerDay)}, "dt = '2024-02-29'", true},
		{"time duration", map[string]any{"tm": 90 * time.Minute}, "tm = '01:30'", true},
		{"uint64", map[string]any{"bu": uint64(math.MaxUint64)}, "bu = 18446744073709551615", true},
		{"int", map[string]any{"i": 7}, "i = 7", true},
		{"float32", map[string]any{"f": float32(1.5)}, "f = 1.5", true},
		{"text bytes", map[string]any{"s": []byte("abc")}, "s = 'ABC'", true},
		{"binary string", map[string]any{"vb": "abc"}, "vb = 'abc'", true},
		{"wrong type is NULL", map[string]any{"i": "5"}, "i IS NULL", true},
		{"missing is NULL", map[string]any{}, "i IS NULL AND s IS NULL", true},
	} {
		f := bind(t, tc.src)
		if got := f.Match(row(tc.vals)); got != tc.match {
			t.Errorf("%s: %s: Match = %v", tc.name, tc.src, got)
		}
		if got := f.MatchMap(tc.vals); got != tc.match {
			t.Errorf("%s: %s: MatchMap = %v", tc.name, tc.src, got)
		}
	}
	f := bind(t, "i IS NULL AND id IS NULL")
	if !f.Match(nil) || !f.Match([]any{}) || !f.MatchMap(nil) {
		t.Error("an empty row is not all NULL")
	}
	if !bind(t, "s = 'x'").Match([]any{int32(1), nil, nil, nil, nil, nil, "x"}) {
		t.Error("a short row does not match on its columns")
	}
}

func TestHugeExponent(t *testing.T) {
	f := bind(t, "s = 1")
	start := time.Now()
	if f.Match(row(map[string]any{"s": "1e999999999"})) {
		t.Error("'1e999999999' = 1")
	}
	if !f.Match(row(map[string]any{"s": "0.1e1"})) {
		t.Error("'0.1e1' <> 1")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a huge exponent took %v", d)
	}
}

func TestFilterConcurrent(t *testing.T) {
	f := bind(t, "s LIKE 'a%' AND dc * 2 > 1 AND i IN (1, 2, 3)")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 1000 {
				want := n%2 == 0
				s := "b"
				if want {
					s = "abc"
				}
				r := row(map[string]any{"s": s, "dc": big.NewRat(int64(g+n), 1), "i": int32(1 + n%3)})
				if f.Match(r) != (want && g+n > 0) {
					t.Errorf("goroutine %d row %d: wrong match", g, n)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestFilterString(t *testing.T) {
	if s := bind(t, "i > 1").String(); s != "i > 1" {
		t.Errorf("String() = %q", s)
	}
}
