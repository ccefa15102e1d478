package verify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/syncline/syncline/schema"
)

// Values are compared in one domain: the Go values apply receives, as
// mysqlvalue.TextValues gives them for the source (DATETIME as int64
// microseconds of the wall clock, DATE and TIMESTAMP as time.Time, DECIMAL
// and BIGINT UNSIGNED as *big.Rat, BIT and binary strings as []byte, TIME as
// int64 microseconds, zero dates as schema's sentinels). Each target reader
// converts what its server stores back into this domain, by the source
// column's type and the target column's type (docs/targets.md). canon then
// gives every value one text, so that equal values give equal texts
// whatever Go type carried them.

// canon returns the canonical text of a value of the comparison domain;
// NULL is distinct from every value. ok is false for a value outside the
// domain.
func canon(v any) (s string, ok bool) {
	switch x := v.(type) {
	case nil:
		return "\x00null", true
	case int32:
		return "i" + strconv.FormatInt(int64(x), 10), true
	case int64:
		return "i" + strconv.FormatInt(x, 10), true
	case *big.Rat:
		if x.IsInt() {
			return "i" + x.Num().String(), true
		}
		return "r" + x.RatString(), true
	case float32:
		return "f" + strconv.FormatFloat(float64(x), 'g', -1, 32), true
	case float64:
		return "f" + strconv.FormatFloat(x, 'g', -1, 64), true
	case string:
		return "s" + x, true
	case []byte:
		return "s" + string(x), true
	case time.Time:
		if schema.IsZeroDate(x) {
			return "zero", true
		}
		return "t" + strconv.FormatInt(x.UnixMicro(), 10), true
	}
	return "", false
}

// keyString joins the canonical texts of a key's values, each prefixed by
// its length, so that distinct keys never give the same string.
func keyString(vals []any) string {
	var b strings.Builder
	for _, v := range vals {
		c, ok := canon(v)
		if !ok {
			c = fmt.Sprintf("?%T:%v", v, v)
		}
		b.WriteString(strconv.Itoa(len(c)))
		b.WriteByte(':')
		b.WriteString(c)
	}
	return b.String()
}

// canonicalJSON rewrites a JSON text in one form: object keys sorted (the
// last of duplicate keys kept, as PostgreSQL's jsonb keeps it), no
// whitespace, numbers as exact rationals (2.50, 2.5 and 25e-1 are one
// number). It applies jsonb's documented loss (docs/targets.md) to both
// sides, so that a correct conversion is never reported as a difference.
// A text that is not JSON is returned unchanged.
func canonicalJSON(s string) string {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return s
	}
	var b strings.Builder
	writeJSON(&b, v)
	return b.String()
}

func writeJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, k)
			b.WriteByte(':')
			writeJSON(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case json.Number:
		if r, ok := new(big.Rat).SetString(string(x)); ok {
			b.WriteString(r.RatString())
			return
		}
		b.WriteString(string(x))
	default:
		out, _ := json.Marshal(x)
		b.Write(out)
	}
}

// orderSafe reports whether rows keyed by columns of type t sort in the
// same order in MySQL, PostgreSQL, ClickHouse and Go: numbers, dates and
// times, and binary strings. Character strings do not (collations), nor do
// ENUM and SET (MySQL sorts them by index), BIT or floats.
func orderSafe(t schema.Type) bool {
	switch k := t.Kind; {
	case k.IsInteger(), k == schema.Decimal, k == schema.Year,
		k == schema.Date, k == schema.DateTime, k == schema.Timestamp, k == schema.Time,
		k == schema.Binary, k == schema.VarBinary:
		return true
	}
	return false
}

// display renders a key value of column type t for reports.
func display(v any, t schema.Type) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		switch t.Kind {
		case schema.DateTime:
			if x == schema.ZeroDateTime {
				return "0000-00-00 00:00:00"
			}
			return time.UnixMicro(x).UTC().Format("2006-01-02 15:04:05.999999")
		case schema.Time:
			return formatTime(x)
		}
		return strconv.FormatInt(x, 10)
	case *big.Rat:
		if x.IsInt() {
			return x.Num().String()
		}
		return x.FloatString(max(t.Scale, 1))
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return strconv.Quote(x)
	case []byte:
		if t.Kind == schema.Bit {
			return "b'" + new(big.Int).SetBytes(x).Text(2) + "'"
		}
		return "0x" + strings.ToUpper(hex.EncodeToString(x))
	case time.Time:
		if schema.IsZeroDate(x) {
			if t.Kind == schema.Date {
				return "0000-00-00"
			}
			return "0000-00-00 00:00:00"
		}
		if t.Kind == schema.Date {
			return x.UTC().Format("2006-01-02")
		}
		return x.UTC().Format("2006-01-02 15:04:05.999999Z")
	}
	return fmt.Sprint(v)
}

// formatTime formats signed microseconds as MySQL prints a TIME.
func formatTime(micros int64) string {
	sign := ""
	if micros < 0 {
		sign = "-"
		micros = -micros
	}
	secs, frac := micros/1_000_000, micros%1_000_000
	s := fmt.Sprintf("%s%02d:%02d:%02d", sign, secs/3600, secs/60%60, secs%60)
	if frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
	}
	return s
}

// compareKeys orders two keys of order-safe columns (orderSafe) as the
// databases do; it is used to check that the target's rows come in the
// source's key order.
func compareKeys(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := compareValues(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

func compareValues(a, b any) int {
	switch x := a.(type) {
	case int32:
		if y, ok := b.(int32); ok {
			return cmpInt(int64(x), int64(y))
		}
	case int64:
		if y, ok := b.(int64); ok {
			return cmpInt(x, y)
		}
	case *big.Rat:
		if y, ok := b.(*big.Rat); ok {
			return x.Cmp(y)
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Compare(x, y)
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	}
	ca, _ := canon(a)
	cb, _ := canon(b)
	return strings.Compare(ca, cb)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
