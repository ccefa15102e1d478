// Package eventtest holds the test helpers of the event format: an encoder
// built on hamba/avro to compare the fast Encoder with, and the rows of the
// encoder benchmarks. Tests import it; the binary never does.
package eventtest

import (
	"bytes"
	"fmt"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/schema/schematest"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

// HambaEnc encodes events of one table shape the way capture/publish.go
// does with hamba/avro: maps built from the row values, KeyOf for the key,
// UnionRecord for before and after, a map for the source block.
type HambaEnc struct {
	Tbl    schema.Table
	ValSch *avro.RecordSchema
	KeyC   *event.Codec
	ValC   *event.Codec
	EnvC   *event.Codec
	SrcC   *event.Codec
}

// NewHambaEnc compiles the hamba/avro codecs of table tbl.
func NewHambaEnc(t testing.TB, tbl schema.Table) *HambaEnc {
	t.Helper()
	ns := event.Namespace("syncline." + tbl.Database + "." + tbl.Name)
	keySch, err := event.KeySchema(tbl, ns)
	if err != nil {
		t.Fatal(err)
	}
	valSch, err := event.ValueSchema(tbl, ns)
	if err != nil {
		t.Fatal(err)
	}
	envSch, err := event.EnvelopeSchema(tbl, ns)
	if err != nil {
		t.Fatal(err)
	}
	srcSch, err := event.SourceSchema()
	if err != nil {
		t.Fatal(err)
	}
	return &HambaEnc{Tbl: tbl, ValSch: valSch, KeyC: event.NewCodec(keySch), ValC: event.NewCodec(valSch), EnvC: event.NewCodec(envSch), SrcC: event.NewCodec(srcSch)}
}

// SourceMap is capture's source map of s.
func SourceMap(s event.Source) map[string]any {
	var gtid any
	if s.GTID != "" {
		gtid = s.GTID
	}
	return map[string]any{
		"version": s.Version, "name": s.Name, "db": s.DB, "table": s.Table,
		"server_id": s.ServerID, "gtid": gtid, "file": s.File, "pos": s.Pos,
		"row": s.Row, "ts_ms": s.TSMillis, "snapshot": s.Snapshot,
	}
}

// MapOf returns the Value map of row values (nil for nil).
func (h *HambaEnc) MapOf(vals []any) map[string]any {
	if vals == nil {
		return nil
	}
	return event.ValueMap(h.Tbl, vals)
}

// Key encodes the Key record of a Value map with hamba/avro.
func (h *HambaEnc) Key(value map[string]any) ([]byte, error) {
	return h.KeyC.Marshal(event.KeyOf(h.Tbl, value))
}

// Envelope encodes a change envelope with hamba/avro, as capture did.
func (h *HambaEnc) Envelope(before, after map[string]any, src event.Source, op string, ts int64) ([]byte, error) {
	return h.EnvC.Marshal(map[string]any{
		"before": event.UnionRecord(h.ValSch, before), "after": event.UnionRecord(h.ValSch, after),
		"source": SourceMap(src), "op": op, "ts_ms": ts,
	})
}

var TestSources = []event.Source{
	{Version: 42<<32 | 4211, Name: "syncline", DB: "shop", Table: "orders", ServerID: 1, GTID: "0-1-1042",
		File: "mysql-bin.000042", Pos: 4211, Row: 3, TSMillis: 1764000000000, Snapshot: "false"},
	{Version: 0, Name: "", DB: "é db", Table: "t", ServerID: 0, GTID: "",
		File: "", Pos: 0, Row: 0, TSMillis: 0, Snapshot: "true"},
	{Version: math.MinInt64, Name: "p", DB: "d", Table: "😀", ServerID: math.MaxUint32, GTID: "3E11FA47-71CA-11E1-9E33-C80AA9429562:23",
		File: "f", Pos: math.MaxUint32, Row: math.MaxInt32, TSMillis: -1, Snapshot: "false"},
}

// CheckOpts select the checks of CheckEncode.
type CheckOpts struct {
	Decode    bool // decode the fast bytes with hamba and compare the values
	Envelopes bool // check envelopes too, not only key and value
}

// CheckEncode checks that enc encodes row (values in column order) to the
// bytes hamba writes for value (the map capture gives hamba for the same
// row): key, value and (with opts.Envelopes) envelopes of every op. Errors
// must agree too.
func CheckEncode(t testing.TB, what string, enc *event.Encoder, h *HambaEnc, row []any, value map[string]any, opts CheckOpts) {
	t.Helper()
	prefix := []byte("prefix")
	same := func(part string, fast []byte, ferr error, want []byte, herr error) bool {
		t.Helper()
		if (ferr != nil) != (herr != nil) {
			t.Errorf("%s %s: fast error %v, hamba error %v", what, part, ferr, herr)
			return false
		}
		if ferr != nil {
			if !bytes.Equal(fast, prefix) {
				t.Errorf("%s %s: dst changed on error", what, part)
			}
			return false
		}
		if !bytes.HasPrefix(fast, prefix) {
			t.Errorf("%s %s: prefix lost: %x", what, part, fast)
			return false
		}
		if got := fast[len(prefix):]; !bytes.Equal(got, want) {
			t.Errorf("%s %s:\nfast  %x\nhamba %x", what, part, got, want)
			return false
		}
		return true
	}
	p := func() []byte { return append(make([]byte, 0, 8), prefix...) }

	want, herr := h.Key(value)
	got, ferr := enc.AppendKey(p(), row)
	if same("key", got, ferr, want, herr) && opts.Decode {
		var back map[string]any
		if err := h.KeyC.Unmarshal(got[len(prefix):], &back); err != nil {
			t.Errorf("%s: hamba cannot decode the key: %v", what, err)
		}
		CompareDecoded(t, what+" key", event.KeyOf(h.Tbl, value), back)
	}

	want, herr = h.ValC.Marshal(value)
	got, ferr = enc.AppendValue(p(), row)
	if same("value", got, ferr, want, herr) && opts.Decode {
		var back map[string]any
		if err := h.ValC.Unmarshal(got[len(prefix):], &back); err != nil {
			t.Errorf("%s: hamba cannot decode the value: %v", what, err)
		}
		CompareDecoded(t, what+" value", value, back)
	}

	if !opts.Envelopes {
		return
	}
	decode := opts.Decode
	for i, src := range TestSources {
		for _, ev := range []struct {
			op            string
			before, after []any
		}{{"c", nil, row}, {"r", nil, row}, {"u", row, row}, {"d", row, nil}} {
			var bm, am map[string]any
			if ev.before != nil {
				bm = value
			}
			if ev.after != nil {
				am = value
			}
			ts := int64(1764000000100 + i)
			want, herr := h.Envelope(bm, am, src, ev.op, ts)
			got, ferr := enc.AppendEnvelope(p(), ev.before, ev.after, src, ev.op, ts)
			part := fmt.Sprintf("envelope %s (source %d)", ev.op, i)
			if same(part, got, ferr, want, herr) && decode && i == 0 {
				var back map[string]any
				if err := h.EnvC.Unmarshal(got[len(prefix):], &back); err != nil {
					t.Errorf("%s: hamba cannot decode the %s: %v", what, part, err)
					continue
				}
				if back["op"] != ev.op || back["ts_ms"] != ts {
					t.Errorf("%s %s: decoded op %v ts_ms %v", what, part, back["op"], back["ts_ms"])
				}
				if got := back["source"]; !schematest.SameValue(NormDecoded(got), NormDecoded(SourceMap(src))) {
					t.Errorf("%s %s: decoded source %v", what, part, got)
				}
				for _, f := range []struct {
					name string
					want map[string]any
				}{{"before", bm}, {"after", am}} {
					union, _ := back[f.name].(map[string]any)
					if f.want == nil {
						if back[f.name] != nil {
							t.Errorf("%s %s: decoded %s %v, want null", what, part, f.name, back[f.name])
						}
						continue
					}
					rec, _ := union[h.ValSch.FullName()].(map[string]any)
					CompareDecoded(t, what+" "+part+" "+f.name, f.want, rec)
				}
			}
		}
	}
}

// NormDecoded normalizes a decoded record for comparison: unions unwrapped,
// int and int32 as int64.
func NormDecoded(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["string"]; ok && len(x) == 1 {
			return s
		}
		out := make(map[string]any, len(x))
		for k, w := range x {
			out[k] = NormDecoded(w)
		}
		return out
	case int:
		return int64(x)
	case int32:
		return int64(x)
	}
	return v
}

// CompareDecoded compares the fields of a record as given to hamba with the
// record hamba decodes.
func CompareDecoded(t testing.TB, what string, in, out map[string]any) {
	t.Helper()
	if len(in) != len(out) {
		t.Errorf("%s: decoded %d fields, want %d", what, len(out), len(in))
	}
	for name, v := range in {
		w := out[name]
		if !schematest.SameDecoded(v, w) && !SameFloatBits(v, w) {
			t.Errorf("%s field %s: encoded %s, decoded %s", what, name, schematest.Show(v), schematest.Show(w))
		}
	}
}

// SameFloatBits compares floats by bits (NaN included), through unions.
func SameFloatBits(in, out any) bool {
	if m, ok := out.(map[string]any); ok && len(m) == 1 {
		for _, v := range m {
			out = v
		}
	}
	switch x := in.(type) {
	case float32:
		y, ok := out.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case float64:
		y, ok := out.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	}
	return false
}

// BenchTableShape is the table of `syncline bench`: BIGINT key, two INT,
// DECIMAL(12,2), DOUBLE, VARCHAR(64), nullable VARCHAR(255), TINYINT,
// DATETIME(6) and DATE.
func BenchTableShape() schema.Table {
	return schema.Table{Database: "bench", Name: "changes", Key: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.BigInt}},
		{Name: "account", Type: schema.Type{Kind: schema.Int}},
		{Name: "qty", Type: schema.Type{Kind: schema.Int}},
		{Name: "amount", Type: schema.Type{Kind: schema.Decimal, Precision: 12, Scale: 2}},
		{Name: "score", Type: schema.Type{Kind: schema.Double}},
		{Name: "name", Type: schema.Type{Kind: schema.VarChar, Length: 64, Charset: "utf8mb4"}},
		{Name: "note", Type: schema.Type{Kind: schema.VarChar, Length: 255, Charset: "utf8mb4"}, Nullable: true},
		{Name: "status", Type: schema.Type{Kind: schema.TinyInt}},
		{Name: "created", Type: schema.Type{Kind: schema.DateTime, Precision: 6}},
		{Name: "day", Type: schema.Type{Kind: schema.Date}},
	}}
}

// BenchRow is one row of the bench table as bench/data.go's rowSelect makes
// it from its id, in text form (nil for NULL).
type BenchRow struct {
	ID, Account, Qty, Status int64
	Amount, Name, Created    string
	Day                      string
	Note                     *string
	Score                    float64
	CreatedAt                time.Time
}

// BenchIDs are the ids of the benchmark rows: spread over the 2,000,000 ids
// of the bench's snapshot, so the values have realistic lengths.
func BenchIDs() []int64 {
	ids := make([]int64, 64)
	for i := range ids {
		ids[i] = 1 + int64(i)*31_249 + int64(i%7)*1_117
	}
	return ids
}

// MakeBenchRow returns the bench row of id.
func MakeBenchRow(id int64) BenchRow {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cents := id % 100_000
	r := BenchRow{
		ID: id, Account: id % 100_000, Qty: id % 1000, Status: id % 5,
		Amount:    fmt.Sprintf("%d.%02d", cents/100, cents%100),
		Score:     float64(id) * 0.5,
		Name:      fmt.Sprintf("name-%d", id),
		CreatedAt: base.Add(time.Duration(id)*time.Second + time.Duration(id%1_000_000)*time.Microsecond),
		Day:       base.AddDate(0, 0, int(id%1000)).Format("2006-01-02"),
	}
	r.Created = r.CreatedAt.Format("2006-01-02 15:04:05.000000")
	if id%10 != 0 {
		note := strings.Repeat("n", 40+int(id%60))
		r.Note = &note
	}
	return r
}

// BenchBinlogRows returns the benchmark rows as go-mysql's replication
// package decodes them with capture's settings (ParseTime, UTC, decimals as
// text).
func BenchBinlogRows() [][]any {
	var rows [][]any
	for _, id := range BenchIDs() {
		r := MakeBenchRow(id)
		var note any
		if r.Note != nil {
			note = *r.Note
		}
		rows = append(rows, []any{r.ID, int32(r.Account), int32(r.Qty), r.Amount, r.Score, r.Name, note,
			int8(r.Status), r.CreatedAt, r.Day})
	}
	return rows
}

var BenchSource = event.Source{Version: 42<<32 | 4211, Name: "syncline", DB: "shop", Table: "orders", ServerID: 1,
	GTID: "0-1-1042", File: "mysql-bin.000042", Pos: 4211, Row: 0, TSMillis: 1764000000000, Snapshot: "false"}
