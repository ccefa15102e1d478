package task

import (
	"slices"
	"strings"
	"testing"

	"github.com/syncline/syncline/rules"
	"github.com/syncline/syncline/schema"
)

// orders is shop.orders as goodSpec's rules and target dw see it.
var orders = schema.Table{Database: "shop", Name: "orders", Key: []string{"id"}, Columns: []schema.Column{
	{Name: "id", Type: schema.Type{Kind: schema.Int}},
	{Name: "status", Type: schema.Type{Kind: schema.VarChar, Length: 20, Charset: "utf8mb4"}, Nullable: true},
	{Name: "total", Type: schema.Type{Kind: schema.Int}, Nullable: true},
	{Name: "note", Type: schema.Type{Kind: schema.VarChar, Length: 20, Charset: "utf8mb4"}, Nullable: true},
}}

// TestCompose: a table's target holds the target's names, not the columns
// the target drops, and only the rows both capture's filter and the
// target's select; a task without deletes keeps extra rows; a task that
// does not sync updates is not meant to equal its source.
func TestCompose(t *testing.T) {
	spec, err := Parse([]byte(goodSpec))
	if err != nil {
		t.Fatal(err)
	}
	objects, err := CompileObjects(spec.Objects)
	if err != nil {
		t.Fatal(err)
	}
	target, err := spec.Target("dw")
	if err != nil {
		t.Fatal(err)
	}
	m, err := target.Mapping("targets[0]")
	if err != nil {
		t.Fatal(err)
	}
	c, err := objects.Compose(m, orders)
	if err != nil {
		t.Fatal(err)
	}
	if c.Database != "shop_dw" || c.Table != "fact_orders" || c.Column("total") != "amount" {
		t.Errorf("names: %s.%s, total as %q", c.Database, c.Table, c.Column("total"))
	}
	if !slices.Equal(c.Omit, []string{"note"}) {
		t.Errorf("Omit %v, want [note]", c.Omit)
	}
	if !c.KeepExtra {
		t.Error("a task without deletes does not keep extra rows")
	}
	for _, tc := range []struct {
		status string
		total  int32
		want   bool
	}{{"paid", 5, true}, {"test", 5, false}, {"paid", 0, false}} {
		if got := c.Filter([]any{int32(1), tc.status, tc.total, "n"}); got != tc.want {
			t.Errorf("Filter(status %q, total %d) = %v", tc.status, tc.total, got)
		}
	}
	shape, err := c.Shape(orders)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, col := range shape.Columns {
		names = append(names, col.Name)
	}
	if shape.Name != "fact_orders" || strings.Join(names, ",") != "id,status,amount" {
		t.Errorf("shape %s (%s)", shape.Name, strings.Join(names, ","))
	}

	tr := objects.Rules("shop", "orders")
	noUpdates := *tr
	noUpdates.Ops &^= rules.Ops(rules.Update)
	if _, err := Compose(&noUpdates, m.Table("shop", "orders"), orders); err == nil || !strings.Contains(err.Error(), "not meant to equal the source") {
		t.Errorf("a task without updates composed with %v", err)
	}
}
