package apply

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/syncline/syncline/schema"
)

func TestSplitBatch(t *testing.T) {
	tbl := schema.Table{
		Database: "db", Name: "t",
		Columns: []schema.Column{{Name: "id"}, {Name: "b"}, {Name: "a"}},
		Key:     []string{"id"},
	}
	keyCols := tbl.Columns[:1]
	// convert tags each value with its column, to show it was applied.
	convert := func(c schema.Column, v any) (any, error) { return fmt.Sprint(c.Name, "=", v), nil }
	changes := []Change{
		{Op: Upsert, Row: map[string]any{"id": 1, "b": 2, "a": 3}, Version: 10},
		{Op: Upsert, Row: map[string]any{"id": 2, "a": 4}, Version: 11},
		{Op: Delete, Row: map[string]any{"id": 3, "a": 9}, Version: 12},
		{Op: Upsert, Row: map[string]any{"id": 4, "b": 5, "a": 6}, Version: 13},
		{Op: Delete, Row: map[string]any{"id": 5}, Version: 14},
		{Op: Upsert, Row: map[string]any{"a": 7, "id": 6}, Version: 15},
	}
	deletes, sets, err := SplitBatch(tbl, keyCols, changes, convert)
	if err != nil {
		t.Fatal(err)
	}
	wantDeletes := [][]any{{"id=3", int64(12)}, {"id=5", int64(14)}}
	if !reflect.DeepEqual(deletes, wantDeletes) {
		t.Errorf("deletes = %v, want %v", deletes, wantDeletes)
	}
	// Signatures "id\0a\0" < "id\0b\0a\0": the sets come in that order,
	// their rows in the order of the changes.
	wantSets := []RowSet{
		{
			Cols: []schema.Column{{Name: "id"}, {Name: "a"}},
			Rows: [][]any{{"id=2", "a=4", int64(11)}, {"id=6", "a=7", int64(15)}},
		},
		{
			Cols: []schema.Column{{Name: "id"}, {Name: "b"}, {Name: "a"}},
			Rows: [][]any{{"id=1", "b=2", "a=3", int64(10)}, {"id=4", "b=5", "a=6", int64(13)}},
		},
	}
	if !reflect.DeepEqual(sets, wantSets) {
		t.Errorf("sets = %v, want %v", sets, wantSets)
	}

	deletes, sets, err = SplitBatch(tbl, keyCols, nil, convert)
	if err != nil || len(deletes) != 0 || len(sets) != 0 {
		t.Errorf("empty batch: %v, %v, %v", deletes, sets, err)
	}
}

func TestSplitBatchError(t *testing.T) {
	tbl := schema.Table{
		Database: "db", Name: "t",
		Columns: []schema.Column{{Name: "id"}, {Name: "v"}},
		Key:     []string{"id"},
	}
	bad := errors.New("bad value")
	convert := func(c schema.Column, v any) (any, error) {
		if v == "x" {
			return nil, bad
		}
		return v, nil
	}
	for _, tc := range []struct {
		name string
		ch   Change
		want string
	}{
		{"upsert", Change{Op: Upsert, Row: map[string]any{"id": 1, "v": "x"}}, "column v: bad value"},
		{"delete", Change{Op: Delete, Row: map[string]any{"id": "x"}}, "column id: bad value"},
	} {
		_, _, err := SplitBatch(tbl, tbl.Columns[:1], []Change{tc.ch}, convert)
		if err == nil || err.Error() != tc.want || !errors.Is(err, bad) {
			t.Errorf("%s: err = %v, want %q wrapping %v", tc.name, err, tc.want, bad)
		}
	}
}

// TestGroupBatch checks the grouping every statement-writing sink shares:
// deletes by index in order, upserts grouped by their set of columns, the
// groups ordered by signature, their changes in batch order. A table of
// more than eight columns needs more than one byte of column mask.
func TestGroupBatch(t *testing.T) {
	tbl := schema.Table{Database: "db", Name: "t", Key: []string{"c0"}}
	for i := range 10 {
		tbl.Columns = append(tbl.Columns, schema.Column{Name: fmt.Sprintf("c%d", i)})
	}
	all := map[string]any{}
	for _, c := range tbl.Columns {
		all[c.Name] = 1
	}
	changes := []Change{
		{Op: Upsert, Row: all},
		{Op: Upsert, Row: map[string]any{"c0": 1, "c9": 2}},
		{Op: Delete, Row: map[string]any{"c0": 1}},
		{Op: Upsert, Row: map[string]any{"c0": 1, "c8": 2}},
		{Op: Upsert, Row: all},
		{Op: Delete, Row: map[string]any{"c0": 2}},
		{Op: Upsert, Row: map[string]any{"c9": 3, "c0": 4}},
	}
	deletes, groups := GroupBatch(tbl, changes)
	if !reflect.DeepEqual(deletes, []int{2, 5}) {
		t.Errorf("deletes = %v, want [2 5]", deletes)
	}
	type got struct {
		Cols, Changes []int
	}
	var have []got
	for _, g := range groups {
		have = append(have, got{g.Cols, g.Changes})
	}
	// "c0\0c1\0..." < "c0\0c8\0" < "c0\0c9\0".
	want := []got{
		{Cols: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, Changes: []int{0, 4}},
		{Cols: []int{0, 8}, Changes: []int{3}},
		{Cols: []int{0, 9}, Changes: []int{1, 6}},
	}
	if !reflect.DeepEqual(have, want) {
		t.Errorf("groups = %v, want %v", have, want)
	}
}
