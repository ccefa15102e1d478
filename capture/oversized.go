package capture

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/fault"
	"github.com/syncline/syncline/internal/event"
)

// OversizedMode says what capture does with a row change whose record is
// larger than a Kafka record may be (Config.MaxRecordBytes).
type OversizedMode string

// The oversized-row modes.
const (
	// OversizedStop stops capture with a permanent error that names the
	// table, the key, the size and the two ways out.
	OversizedStop OversizedMode = "stop"
	// OversizedSkipColumns publishes the row change without the values of
	// its largest columns (null, or the empty value of a NOT NULL column),
	// naming them in the event.OmittedColumnsHeader header; it is logged
	// and counted (syncline_capture_oversized_rows_total).
	OversizedSkipColumns OversizedMode = "skip-columns"
)

// errOversized marks a row change too large for a Kafka record under
// OversizedStop.
var errOversized = errors.New("row too large for a kafka record")

// recordOverhead is what a record batch of one record adds to the record's
// key, value and headers (batch header, record lengths and varints), with
// room to spare.
const recordOverhead = 1024

// envelopeOverhead bounds what the envelope adds to a snapshot row's value
// encoded ahead of it (the source block, op and time).
const envelopeOverhead = 1024

// oversizePolicy is what the publisher does with records over the limit.
type oversizePolicy struct {
	mode    OversizedMode
	max     int    // the largest record, key, value and headers (Config.MaxRecordBytes)
	brokers string // for the kafka-configs.sh command of the error
	log     *slog.Logger
}

// fits reports whether a record of the size (key plus value plus headers)
// is within the limit.
func (o *oversizePolicy) fits(size int) bool { return size+recordOverhead <= o.max }

// stopError is the permanent error of a row change of size bytes.
func (o *oversizePolicy) stopError(c *tableCodec, key string, size int, without bool) error {
	limit := roundUpMB(size + recordOverhead)
	what := "is"
	if without {
		what = "is, even without its large columns,"
	}
	or := ""
	if !without {
		or = ", or publish such rows without their large columns with --oversized skip-columns"
	}
	return fault.Permanent(fmt.Errorf("%w: the row of %s with key %s %s %d bytes, over the %d-byte record limit: raise the limit with --max-record-bytes %d "+
		"(capture raises the topic's max.message.bytes to it; where it may not, run kafka-configs.sh --bootstrap-server %s --alter --entity-type topics --entity-name %s --add-config max.message.bytes=%d)%s",
		errOversized, c.name, key, what, size, o.max, limit, o.brokers, c.topic, limit, or))
}

// roundUpMB rounds n up to a whole MiB.
func roundUpMB(n int) int { return (n + 1<<20 - 1) >> 20 << 20 }

// keyString renders a row's key for messages, e.g. "(id=7)".
func keyString(c *tableCodec, row []any) string {
	parts := make([]string, 0, len(c.table.Key))
	for _, k := range c.table.Key {
		_, i, ok := c.table.Column(k)
		if !ok || i >= len(row) {
			continue
		}
		v := row[i]
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// textKeyString is keyString of a snapshot row read over the text protocol.
func textKeyString(c *tableCodec, row []mysql.FieldValue) string {
	vals := make([]any, len(row))
	for _, k := range c.table.Key {
		if _, i, ok := c.table.Column(k); ok && i < len(row) {
			vals[i] = row[i].String()
		}
	}
	return keyString(c, vals)
}

// valueSize is the size of a value that may make a row large.
func valueSize(v any) int {
	switch x := v.(type) {
	case []byte:
		return len(x)
	case string:
		return len(x)
	}
	return 0
}

// largest returns the indexes of the non-key columns to leave out of a row
// change of size bytes so that it fits: the largest first (by their values
// in before and after), until the rest fits.
func (o *oversizePolicy) largest(c *tableCodec, size int, sizeOf func(i int) int) []int {
	type col struct{ i, size int }
	var cols []col
	for i, cl := range c.table.Columns {
		if slices.Contains(c.table.Key, cl.Name) {
			continue
		}
		if n := sizeOf(i); n > 0 {
			cols = append(cols, col{i, n})
		}
	}
	slices.SortStableFunc(cols, func(a, b col) int { return cmp.Compare(b.size, a.size) })
	var out []int
	for _, cl := range cols {
		if o.fits(size + envelopeOverhead) {
			break
		}
		out = append(out, cl.i)
		size -= cl.size
	}
	slices.Sort(out)
	return out
}

// withoutColumns returns a copy of row with the columns at idx replaced by
// null, or by the empty value of their type for NOT NULL columns.
func withoutColumns(c *tableCodec, row []any, idx []int) []any {
	if row == nil {
		return nil
	}
	out := slices.Clone(row)
	for _, i := range idx {
		switch {
		case c.table.Columns[i].Nullable:
			out[i] = nil
		case valueSize(row[i]) > 0:
			if _, ok := row[i].([]byte); ok {
				out[i] = []byte{}
			} else {
				out[i] = ""
			}
		}
	}
	return out
}

// textWithoutColumns is withoutColumns of a snapshot row read over the
// text protocol.
func textWithoutColumns(c *tableCodec, row []mysql.FieldValue, idx []int) []mysql.FieldValue {
	out := slices.Clone(row)
	for _, i := range idx {
		if c.table.Columns[i].Nullable {
			out[i] = mysql.FieldValue{}
		} else {
			out[i] = mysql.NewFieldValue(mysql.FieldValueTypeString, 0, []byte{})
		}
	}
	return out
}

// columnNames returns the names of the columns at idx.
func columnNames(c *tableCodec, idx []int) []string {
	names := make([]string, len(idx))
	for j, i := range idx {
		names[j] = c.table.Columns[i].Name
	}
	return names
}

// omittedHeader is the header naming the columns at idx.
func omittedHeader(c *tableCodec, idx []int) []kgo.RecordHeader {
	b, _ := json.Marshal(columnNames(c, idx)) // strings only: cannot fail
	return []kgo.RecordHeader{{Key: event.OmittedColumnsHeader, Value: b}}
}

// skipped logs and counts a row change published without columns.
func (p *publisher) skipped(c *tableCodec, key string, size int, idx []int) {
	names := columnNames(c, idx)
	p.oversize.log.Warn("row too large for a kafka record; published without its large columns (--oversized skip-columns)",
		"table", c.name, "key", key, "bytes", size, "limit", p.oversize.max, "omitted", strings.Join(names, ","))
	p.metrics.oversizedRow(c.name)
}

// oversizedChange handles a row change whose records, appended to buf from
// start, are too large: it stops (OversizedStop), or encodes it again
// without its largest columns and returns buf and ends with those records
// instead and the header that names the columns.
func (p *publisher) oversizedChange(buf []byte, ends *[]int, start int, rc *rowChange, arena []byte, nowMillis int64) ([]byte, []kgo.RecordHeader, error) {
	c := rc.codec
	size := len(buf) - start
	row := rc.after
	if row == nil {
		row = rc.before
	}
	key := keyString(c, row)
	if p.oversize.mode != OversizedSkipColumns {
		return buf, nil, p.oversize.stopError(c, key, size, false)
	}
	idx := p.oversize.largest(c, size, func(i int) int {
		n := 0
		if rc.before != nil {
			n += valueSize(rc.before[i])
		}
		if rc.after != nil {
			n += valueSize(rc.after[i])
		}
		return n
	})
	smaller := *rc
	smaller.before, smaller.after = withoutColumns(c, rc.before, idx), withoutColumns(c, rc.after, idx)
	buf, *ends = buf[:start], (*ends)[:len(*ends)-2]
	buf, err := p.appendRecords(buf, ends, &smaller, arena, nowMillis)
	if err != nil {
		return buf, nil, err
	}
	hdr := omittedHeader(c, idx)
	if len(idx) == 0 || !p.oversize.fits(len(buf)-start+len(hdr[0].Key)+len(hdr[0].Value)) {
		return buf, nil, p.oversize.stopError(c, key, len(buf)-start, true)
	}
	p.skipped(c, key, size, idx)
	return buf, hdr, nil
}
