package capture

import "testing"

// TestGhostOf names the helper tables of pt-online-schema-change and gh-ost
// that capture recognises, and those it leaves as tables.
func TestGhostOf(t *testing.T) {
	captured := map[string]bool{"orders": true, "_x": true, "a_new": true}
	tests := []struct{ name, base, role string }{
		{"_orders_new", "orders", ghostNew},
		{"__orders_new", "orders", ghostNew},
		{"___orders_old", "orders", ghostOld},
		{"_orders_gho", "orders", ghostNew},
		{"_orders_ghc", "orders", ghostChangelog},
		{"_orders_del", "orders", ghostOld},
		{"_orders_20260102030405_del", "orders", ghostOld},
		{"__x_new", "_x", ghostNew}, // a base table whose name starts with _
		{"_a_new_new", "a_new", ghostNew},
		{"__orders_gho", "", ""},   // gh-ost uses exactly one underscore
		{"_customers_new", "", ""}, // customers is not captured: a table
		{"orders_new", "", ""},
		{"_orders_new2", "", ""},
		{"_new", "", ""},
	}
	for _, tt := range tests {
		base, role, ok := ghostOf(tt.name, func(n string) bool { return captured[n] })
		if ok != (tt.base != "") || base != tt.base || role != tt.role {
			t.Errorf("ghostOf(%q) = %q, %q, %v; want %q, %q", tt.name, base, role, ok, tt.base, tt.role)
		}
	}
}
