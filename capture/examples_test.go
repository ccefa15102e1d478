package capture_test

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var updateExamples = flag.Bool("update-examples", false, "rewrite docs/examples from this run")

// TestContractExamples produces one message of each kind and compares it,
// decoded to JSON with the volatile fields masked, with docs/examples: the
// documented examples are what capture really writes, and a change of the
// format shows up here.
func TestContractExamples(t *testing.T) {
	p := newPipeline(t)
	p.prefix = "shop"
	p.spec.Prefix = "shop"
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE orders (id BIGINT UNSIGNED PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(10,2), placed DATETIME(3) NOT NULL, note TEXT)")
	mustExec(t, db, "INSERT INTO orders VALUES (1, 'Ada', 12.50, '2026-11-24 10:00:00.250', NULL)")
	stop := p.start()
	topic := "shop." + p.db + ".orders"
	waitFor(t, 30*time.Second, "the snapshot", func() bool { return len(p.readAll(topic)) == 1 })
	mustExec(t, db, "INSERT INTO orders VALUES (2, 'Grace', 99.99, '2026-11-24 10:05:00', 'gift')")
	mustExec(t, db, "UPDATE orders SET amount = 15.00 WHERE id = 1")
	mustExec(t, db, "DELETE FROM orders WHERE id = 2")
	mustExec(t, db, "ALTER TABLE orders ADD COLUMN status ENUM('new','paid') NOT NULL DEFAULT 'new' AFTER customer")
	waitFor(t, 30*time.Second, "the changes", func() bool { return len(p.readAll(topic)) == 5 && len(p.readSchemaChanges()) == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	evs := p.readAll(topic)
	examples := map[string]any{
		"snapshot-read.json": envelopeJSON(evs[0]),
		"create.json":        envelopeJSON(evs[1]),
		"update.json":        envelopeJSON(evs[2]),
		"delete.json":        envelopeJSON(evs[3]),
		"tombstone.json":     map[string]any{"key": jsonable(evs[4].Key), "value": nil},
		"schema-change.json": mask(jsonable(p.readSchemaChanges()[0]).(map[string]any), p.db),
	}
	dir := filepath.Join("..", "docs", "examples")
	for name, v := range examples {
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		got := []byte(strings.ReplaceAll(buf.String(), p.db, "shop"))
		path := filepath.Join(dir, name)
		if *updateExamples {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./capture -run TestContractExamples -update-examples to write it)", err)
		}
		if string(want) != string(got) {
			t.Errorf("%s differs from what capture writes now; if the change is deliberate, update docs/events.md and rerun with -update-examples.\ngot:\n%s", name, got)
		}
	}
}

func envelopeJSON(ev event) map[string]any {
	return map[string]any{
		"key": jsonable(ev.Key),
		"value": mask(map[string]any{
			"before": jsonable(ev.Before), "after": jsonable(ev.After), "op": ev.Op,
			"source": jsonable(ev.Source), "ts_ms": int64(0),
		}, ""),
	}
}

// mask replaces the fields that change from run to run.
func mask(m map[string]any, db string) map[string]any {
	if src, ok := m["source"].(map[string]any); ok {
		for _, k := range []string{"version", "pos", "ts_ms", "server_id"} {
			if _, ok := src[k]; ok {
				src[k] = "<" + k + ">"
			}
		}
		if src["gtid"] != nil {
			src["gtid"] = "<gtid>"
		}
		src["file"] = "<file>"
		src["name"] = "shop"
	}
	if _, ok := m["ts_ms"]; ok {
		m["ts_ms"] = "<ts_ms>"
	}
	return m
}

// jsonable turns decoded Avro values into JSON values: decimals as strings,
// bytes as base64, times as RFC 3339, unions unwrapped.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return nil
		}
		if len(x) == 1 {
			for k, inner := range x {
				if strings.Contains(k, ".") || k == "long" || k == "string" {
					return jsonable(inner)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, inner := range x {
			out[k] = jsonable(inner)
		}
		return out
	case *big.Rat:
		// The exact value with as few decimals as it needs.
		scaled := new(big.Rat).Set(x)
		for d := 0; d <= 65; d++ {
			if scaled.IsInt() {
				return x.FloatString(d)
			}
			scaled.Mul(scaled, big.NewRat(10, 1))
		}
		return x.RatString()
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}
