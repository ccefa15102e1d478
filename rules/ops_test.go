package rules

import (
	"strings"
	"testing"
)

func TestParseOps(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  Ops
		str   string
	}{
		{nil, 0, "all"},
		{[]string{}, 0, "all"},
		{[]string{"insert"}, Ops(Insert), "insert"},
		{[]string{"UPDATE", " Insert "}, Ops(Insert | Update), "insert,update"},
		{[]string{"delete", "ddl", "delete"}, Ops(Delete | DDL), "delete,ddl"},
		{[]string{"insert", "update", "delete", "ddl"}, Ops(Insert | Update | Delete | DDL), "insert,update,delete,ddl"},
	} {
		got, err := ParseOps(tc.names)
		if err != nil {
			t.Errorf("ParseOps(%q): %v", tc.names, err)
			continue
		}
		if got != tc.want || got.String() != tc.str {
			t.Errorf("ParseOps(%q) = %v (%q), want %v (%q)", tc.names, uint8(got), got, uint8(tc.want), tc.str)
		}
	}
}

func TestParseOpsError(t *testing.T) {
	_, err := ParseOps([]string{"insert", "upsert"})
	if err == nil {
		t.Fatal("ParseOps accepted upsert")
	}
	for _, want := range []string{`"upsert"`, "insert", "update", "delete", "ddl"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := ParseOps([]string{""}); err == nil {
		t.Error("ParseOps accepted an empty name")
	}
}

func TestOpsHas(t *testing.T) {
	all := []Op{Insert, Update, Delete, DDL}
	for _, op := range all {
		if !Ops(0).Has(op) {
			t.Errorf("the zero Ops lacks %s", op)
		}
	}
	o := Ops(Insert | DDL)
	for _, op := range all {
		if want := op == Insert || op == DDL; o.Has(op) != want {
			t.Errorf("%s.Has(%s) = %v", o, op, !want)
		}
	}
	if s := Op(0x40).String(); s != "op(64)" {
		t.Errorf("unknown Op prints %q", s)
	}
}
