package capture

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/topics"
)

const (
	stageSnapshot  = topics.StageSnapshot
	stageStreaming = topics.StageStreaming
	stageParked    = topics.StageParked
)

// tableState is one selected table's progress.
type tableState struct {
	db, name string
	stage    string
	// afterKey is the last key the snapshot published, in key order, as
	// Avro-native values; nil before the first chunk.
	afterKey []any
	rows     int64
	// reason is why a parked table cannot be captured (park.go).
	reason string
	// ghosts holds, per helper table of an online schema change of this
	// table in progress (onlineddl.go), the column renames its ALTER
	// TABLE statements made, old name to new.
	ghosts map[string]map[string]string
	// again is set while the table is snapshotted again over rows already
	// published (after an online schema change swapped it): the binlog
	// changes of every key are published meanwhile, so a row deleted
	// before the snapshot reaches its key is deleted in the targets too.
	again bool
	// readEnd is the source's binlog position just after the table's
	// snapshot was finished (onlineddl.go); not kept in checkpoints.
	readEnd position
}

func (t *tableState) fullName() string { return t.db + "." + t.name }

// published reports whether the change of row is published now: always
// once the table streams, and during its snapshot only for keys the
// snapshot has passed (the others are read by a later chunk).
func (t *tableState) published(c *tableCodec, row []any) bool {
	if t.stage == stageStreaming || t.again {
		return true
	}
	if t.afterKey == nil {
		return false
	}
	return compareKeys(c.table.KeyValues(row), t.afterKey) <= 0
}

func (t *tableState) checkpoint() topics.TableState {
	st := topics.TableState{Stage: t.stage, Rows: t.rows, Reason: t.reason, OnlineDDL: t.ghosts, Again: t.again}
	if t.stage == stageSnapshot && t.afterKey != nil {
		st.AfterKey = encodeKey(t.afterKey)
	}
	return st
}

func restoreTableState(name string, st topics.TableState) (*tableState, error) {
	db, tbl, _ := strings.Cut(name, ".")
	ts := &tableState{db: db, name: tbl, stage: st.Stage, rows: st.Rows, reason: st.Reason, ghosts: st.OnlineDDL, again: st.Again}
	if st.Stage != stageSnapshot && st.Stage != stageStreaming && st.Stage != stageParked {
		return nil, fmt.Errorf("checkpoint: table %s has unknown stage %q", name, st.Stage)
	}
	if len(st.AfterKey) > 0 {
		k, err := decodeKey(st.AfterKey)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: after_key of %s: %w", name, err)
		}
		ts.afterKey = k
	}
	return ts, nil
}

// resumableKey reports whether the key's order is the same in Go as in
// MySQL, so a snapshot can continue after a key and the binlog can be
// filtered by it: integers and binary strings.
func resumableKey(t schema.Table) bool {
	for _, k := range t.Key {
		c, _, _ := t.Column(k)
		if !(c.Type.Kind.IsInteger() || c.Type.Kind == schema.Binary || c.Type.Kind == schema.VarBinary) {
			return false
		}
	}
	return len(t.Key) > 0
}

// compareKeys compares two keys of the same table column by column.
func compareKeys(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := compareValue(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

func compareValue(a, b any) int {
	switch x := a.(type) {
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Compare(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	}
	ra, aok := asRat(a)
	rb, bok := asRat(b)
	if aok && bok {
		return ra.Cmp(rb)
	}
	panic(fmt.Sprintf("capture: cannot compare key values %T and %T", a, b))
}

func asRat(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case int32:
		return new(big.Rat).SetInt64(int64(x)), true
	case int64:
		return new(big.Rat).SetInt64(x), true
	case *big.Rat:
		return x, true
	}
	return nil, false
}

// encodeKey writes a key for a checkpoint: integers as "i:123", other
// numbers as "r:num/den", bytes as "b:" and base64.
func encodeKey(k []any) json.RawMessage {
	parts := make([]string, len(k))
	for i, v := range k {
		switch x := v.(type) {
		case int32:
			parts[i] = "i:" + strconv.FormatInt(int64(x), 10)
		case int64:
			parts[i] = "i:" + strconv.FormatInt(x, 10)
		case *big.Rat:
			parts[i] = "r:" + x.String()
		case []byte:
			parts[i] = "b:" + base64.StdEncoding.EncodeToString(x)
		default:
			panic(fmt.Sprintf("capture: key value of type %T in a resumable key", v))
		}
	}
	b, _ := json.Marshal(parts)
	return b
}

func decodeKey(raw json.RawMessage) ([]any, error) {
	var parts []string
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, err
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		tag, val, _ := strings.Cut(p, ":")
		switch tag {
		case "i":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return nil, err
			}
			out[i] = n
		case "r":
			r, ok := new(big.Rat).SetString(val)
			if !ok {
				return nil, fmt.Errorf("bad number %q", val)
			}
			out[i] = r
		case "b":
			b, err := base64.StdEncoding.DecodeString(val)
			if err != nil {
				return nil, err
			}
			out[i] = b
		default:
			return nil, fmt.Errorf("bad key part %q", p)
		}
	}
	return out, nil
}

// keyParam turns a key value into a query argument of the same order.
func keyParam(v any) any {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case *big.Rat:
		if x.IsInt() && x.Num().IsUint64() {
			return x.Num().Uint64()
		}
		return x.FloatString(30)
	}
	return v
}
