package apply

import (
	"maps"
	"testing"
)

func TestResolveThroughHistory(t *testing.T) {
	h := newHistory()
	for _, ev := range []SchemaChange{
		{Version: 10, Database: "db", Table: "a", Kind: DDLAlterTable, RenamedColumns: map[string]string{"x": "y"}},
		{Version: 20, Database: "db", Table: "a", Kind: DDLRenameTable, NewDatabase: "db", NewTable: "b"},
		{Version: 30, Database: "db", Table: "b", Kind: DDLAlterTable, RenamedColumns: map[string]string{"y": "z", "p": "q"}},
		{Version: 40, Database: "db", Table: "c", Kind: DDLTruncateTable},
		{Version: 50, Database: "db", Table: "a", Kind: DDLCreateTable},
		{Version: 60, Database: "other", Kind: DDLDropDatabase},
	} {
		h.add(ev)
	}
	n := len(h.events)
	cases := []struct {
		table   string
		version int64
		target  string
		dead    bool
		columns map[string]string
	}{
		{"a", 5, "b", false, map[string]string{"x": "z", "p": "q"}},
		{"a", 15, "b", false, map[string]string{"y": "z", "p": "q"}},
		{"b", 25, "b", false, map[string]string{"y": "z", "p": "q"}},
		{"b", 35, "b", false, nil},
		{"a", 55, "a", false, nil},
		{"c", 39, "c", true, nil},
		{"c", 41, "c", false, nil},
	}
	for _, c := range cases {
		r := h.resolve(tableName{"db", c.table}, c.version, n)
		if r.target.table != c.target || r.dead != c.dead || !maps.Equal(r.columns, c.columns) {
			t.Errorf("resolve(%s, %d) = %+v; want %s dead=%v columns %v", c.table, c.version, r, c.target, c.dead, c.columns)
		}
	}
	if r := h.resolve(tableName{"other", "t"}, 59, n); !r.dead {
		t.Errorf("a row before DROP DATABASE is not dead: %+v", r)
	}
	// Only the first upTo events count.
	if r := h.resolve(tableName{"db", "a"}, 5, 1); r.target.table != "a" || !maps.Equal(r.columns, map[string]string{"x": "y"}) {
		t.Errorf("resolve with one event applied: %+v", r)
	}
	if got := h.renamed[tableName{"db", "b"}]; !maps.Equal(got, map[string]string{"x": "z", "y": "z", "p": "q"}) {
		t.Errorf("cumulative renames of b: %v", got)
	}
	if _, ok := h.renamed[tableName{"db", "a"}]; ok {
		t.Errorf("a created anew keeps the renames of the old a")
	}
}

func TestComposeRenamesBackAndForth(t *testing.T) {
	got := composeRenames(composeRenames(nil, map[string]string{"a": "b"}), map[string]string{"b": "a"})
	if len(got) != 1 || got["b"] != "a" {
		t.Errorf("a->b->a: %v; want only b: a", got)
	}
}
