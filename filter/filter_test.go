package filter

import (
	"errors"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	type table struct{ db, table string }
	tests := []struct {
		include, exclude string
		match, noMatch   []table
	}{
		{
			include: "shop.orders",
			match:   []table{{"shop", "orders"}},
			noMatch: []table{{"shop", "orders2"}, {"shop2", "orders"}, {"Shop", "orders"}},
		},
		{
			include: "shop.*",
			exclude: "shop.tmp_*, shop.?_old",
			match:   []table{{"shop", "orders"}, {"shop", "tmp"}, {"shop", "ab_old"}},
			noMatch: []table{{"shop", "tmp_1"}, {"shop", "a_old"}, {"crm", "orders"}},
		},
		{
			include: "*.audit_log,crm.user?",
			match:   []table{{"shop", "audit_log"}, {"crm", "users"}, {"crm", "audit_log"}},
			noMatch: []table{{"crm", "user"}, {"crm", "users_x"}},
		},
		{
			include: "*.*",
			match:   []table{{"shop", "a"}, {"x", "y"}},
			noMatch: []table{{"mysql", "user"}, {"information_schema", "TABLES"}, {"performance_schema", "threads"}, {"sys", "version"}, {"MySQL", "user"}},
		},
		{
			include: "mysql.user, sys.*",
			noMatch: []table{{"mysql", "user"}, {"sys", "version"}},
		},
		{
			include: "`my.db`.`a,b`, `star`.`*`",
			match:   []table{{"my.db", "a,b"}, {"star", "*"}},
			noMatch: []table{{"my.db", "a"}, {"myxdb", "a,b"}, {"star", "x"}},
		},
		{
			include: "`a``b`.t, my\\.db.t",
			match:   []table{{"a`b", "t"}, {"my.db", "t"}},
			noMatch: []table{{"ab", "t"}, {"myxdb", "t"}},
		},
		{
			include: "shop.order_[0-9]",
			match:   []table{{"shop", "order_1"}},
			noMatch: []table{{"shop", "order_x"}},
		},
		{
			include: " shop.a , ,shop.b,",
			match:   []table{{"shop", "a"}, {"shop", "b"}},
		},
	}
	for _, tt := range tests {
		f, err := Parse(tt.include, tt.exclude)
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", tt.include, tt.exclude, err)
		}
		for _, m := range tt.match {
			if !f.Match(m.db, m.table) {
				t.Errorf("Parse(%q, %q).Match(%q, %q) = false, want true", tt.include, tt.exclude, m.db, m.table)
			}
		}
		for _, m := range tt.noMatch {
			if f.Match(m.db, m.table) {
				t.Errorf("Parse(%q, %q).Match(%q, %q) = true, want false", tt.include, tt.exclude, m.db, m.table)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		include, exclude string
		wantInMessage    string
	}{
		{"", "", "no tables selected"},
		{" , ", "", "no tables selected"},
		{"shop", "", `"shop" must be db.table`},
		{"shop.orders,a.b.c", "", `"a.b.c" must be db.table`},
		{".t", "", `".t" must be db.table`},
		{"shop.", "", `"shop." must be db.table`},
		{"shop.[a-", "", `"shop.[a-"`},
		{"`shop.orders", "", "unclosed backtick"},
		{"shop.*", "shop", `"shop" must be db.table`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.include, tt.exclude)
		if err == nil {
			t.Errorf("Parse(%q, %q) = nil error, want one containing %q", tt.include, tt.exclude, tt.wantInMessage)
			continue
		}
		if !errors.Is(err, ErrBadPattern) {
			t.Errorf("Parse(%q, %q) error %v does not wrap ErrBadPattern", tt.include, tt.exclude, err)
		}
		if !strings.Contains(err.Error(), tt.wantInMessage) {
			t.Errorf("Parse(%q, %q) error %q does not contain %q", tt.include, tt.exclude, err, tt.wantInMessage)
		}
	}
}

func TestString(t *testing.T) {
	f, err := Parse("shop.*, crm.users", "shop.tmp_*")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.String(), "shop.*,crm.users excluding shop.tmp_*"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	f, err = Parse("shop.*", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.String(), "shop.*"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := f.Includes(); len(got) != 1 || got[0].String() != "shop.*" || !got[0].Match("shop", "x") {
		t.Errorf("Includes() = %v", got)
	}
}
