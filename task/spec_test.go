package task

import (
	"errors"
	"os"
	"strings"
	"testing"
)

const goodSpec = `
name: shop
source: mysql://u@h:3306/
brokers: [k:9092]
registry: http://r:8081
capture:
  server-id: 7
objects:
  - database: shop
    tables: [orders, "order_*"]
    exclude: [order_tmp]
    filter: "status <> 'test'"
    operations: [insert, update]
  - database: shop
    tables: [customers]
    drop-columns: [secret]
  - database: "crm*"
targets:
  - name: dw
    url: clickhouse://u@ch:9000/
    group: shop-dw
    apply: {batch-rows: 5}
    databases:
      shop:
        rename: shop_dw
        tables:
          orders:
            rename: fact_orders
            rename-columns: {total: amount}
            drop-columns: [note]
            filter: "total > 0"
`

func TestParseGood(t *testing.T) {
	s, err := Parse([]byte(goodSpec))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := CompileObjects(s.Objects)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		db, table string
		match     bool
		path      string // rules' path; "" for none
	}{
		{"shop", "orders", true, "objects[0]"},
		{"shop", "order_items", true, "objects[0]"},
		{"shop", "order_tmp", false, ""},
		{"shop", "customers", true, "objects[1]"},
		{"shop", "products", false, ""},
		{"crm_eu", "anything", true, ""},
		{"mysql", "user", false, ""},
	} {
		if got := objs.Match(tc.db, tc.table); got != tc.match {
			t.Errorf("Match(%s.%s) = %v, want %v", tc.db, tc.table, got, tc.match)
		}
		r := objs.Rules(tc.db, tc.table)
		if (r == nil) != (tc.path == "") || r != nil && r.Path != tc.path {
			t.Errorf("Rules(%s.%s) = %+v, want path %q", tc.db, tc.table, r, tc.path)
		}
	}
	if r := objs.Rules("shop", "customers"); r.KeepColumn("secret") || !r.KeepColumn("name") {
		t.Errorf("customers keeps secret or drops name")
	}

	tg, err := s.Target("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := tg.Mapping("targets[0]")
	if err != nil {
		t.Fatal(err)
	}
	o := m.Table("shop", "orders")
	if o.Database != "shop_dw" || o.Table != "fact_orders" || o.Column("total") != "amount" || o.Column("id") != "id" || !o.Drop["note"] || o.Filter == nil {
		t.Errorf("orders mapping = %+v", o)
	}
	if c := m.Table("shop", "customers"); c.Database != "shop_dw" || c.Table != "customers" || !c.Identity("shop_dw", "customers") {
		t.Errorf("customers mapping = %+v", c)
	}
	if c := m.Table("crm", "x"); !c.Identity("crm", "x") {
		t.Errorf("unmapped table = %+v", c)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ name, edit, want string }{
		{"unknown top key", "name: shop\n", "sourze: unknown key"},
		{"unknown object key", "filter: \"status <> 'test'\"", "objects[0].filtr: unknown key"},
		{"unknown target key", "group: shop-dw", "targets[0].grupo: unknown key"},
		{"unknown table mapping key", "rename: fact_orders", "targets[0].databases.shop.tables.orders.renme: unknown key"},
		{"bad pattern", `tables: [orders, "order_*"]`, "objects[0].tables[1]"},
		{"bad filter", `filter: "status <> 'test'"`, "objects[0].filter"},
		{"bad target filter", `filter: "total > 0"`, "targets[0].databases.shop.tables.orders.filter"},
		{"bad operation", "operations: [insert, update]", "objects[0].operations"},
		{"list expected", "exclude: [order_tmp]", "objects[0].exclude: must be a list"},
		{"two targets one group", "", "targets[1].group"},
		{"columns and drop-columns", "drop-columns: [secret]", "objects[1]: give columns"},
		{"column renamed twice to one name", "rename-columns: {total: amount}", "rename-columns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := goodSpec
			switch tc.name {
			case "unknown top key":
				spec = strings.Replace(spec, "source:", "sourze:", 1)
			case "unknown object key":
				spec = strings.Replace(spec, "    filter: \"status", "    filtr: \"status", 1)
			case "unknown target key":
				spec = strings.Replace(spec, "group: shop-dw", "grupo: shop-dw", 1)
			case "unknown table mapping key":
				spec = strings.Replace(spec, "rename: fact_orders", "renme: fact_orders", 1)
			case "bad pattern":
				spec = strings.Replace(spec, `"order_*"`, `"order_["`, 1)
			case "bad filter":
				spec = strings.Replace(spec, `"status <> 'test'"`, `"status <> "`, 1)
			case "bad target filter":
				spec = strings.Replace(spec, `"total > 0"`, `"total > > 0"`, 1)
			case "bad operation":
				spec = strings.Replace(spec, "[insert, update]", "[insert, upsert]", 1)
			case "list expected":
				spec = strings.Replace(spec, "exclude: [order_tmp]", "exclude: order_tmp", 1)
			case "two targets one group":
				spec += "  - name: other\n    url: mysql://u@h/\n    group: shop-dw\n"
			case "columns and drop-columns":
				spec = strings.Replace(spec, "drop-columns: [secret]", "drop-columns: [secret]\n    columns: [id, name]", 1)
			case "column renamed twice to one name":
				spec = strings.Replace(spec, "{total: amount}", "{total: amount, sum: amount}", 1)
			}
			_, err := Parse([]byte(spec))
			if err == nil || !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestExampleSpecParses(t *testing.T) {
	data, err := os.ReadFile("../docs/task.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(data)
	if err != nil {
		t.Fatalf("docs/task.example.yaml: %v", err)
	}
	if len(s.Targets) != 2 || len(s.Objects) != 3 {
		t.Fatalf("example has %d targets and %d objects", len(s.Targets), len(s.Objects))
	}
}
