package event

import (
	"regexp"
	"testing"
)

func TestNames(t *testing.T) {
	n := Names{Prefix: "shop"}
	tests := []struct{ db, table, want string }{
		{"sales", "orders", "shop.sales.orders"},
		{"my.db", "t", "shop.my_db.t"},
		{"db", "we`ird ta/ble", "shop.db.we_ird_ta_ble"},
		{"db", "naïve", "shop.db.na_ve"},
	}
	re := regexp.MustCompile(n.TablePattern())
	for _, tt := range tests {
		got := n.Table(tt.db, tt.table)
		if got != tt.want {
			t.Errorf("Table(%q, %q) = %q, want %q", tt.db, tt.table, got, tt.want)
		}
		if !re.MatchString(got) {
			t.Errorf("TablePattern does not match %q", got)
		}
	}
	for _, other := range []string{n.SchemaChanges(), n.Checkpoints(), "shop.a.b.c", "shopx.a.b", "other.a.b"} {
		if re.MatchString(other) {
			t.Errorf("TablePattern matches %q, which is not a table topic of shop", other)
		}
	}
	for p, ok := range map[string]bool{"shop": true, "shop-1_x": true, "": false, "a.b": false, "a b": false} {
		if ValidPrefix(p) != ok {
			t.Errorf("ValidPrefix(%q) = %v, want %v", p, !ok, ok)
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	b := AppendFrame([]byte(nil), 258)
	b = append(b, 'x')
	id, body, err := ParseFrame(b)
	if err != nil || id != 258 || string(body) != "x" {
		t.Fatalf("ParseFrame = %d, %q, %v", id, body, err)
	}
	if _, _, err := ParseFrame([]byte("plain")); err == nil {
		t.Fatal("ParseFrame accepted a message without the Confluent header")
	}
}
