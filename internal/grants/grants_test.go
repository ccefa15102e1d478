package grants

import "testing"

func TestParseGrant(t *testing.T) {
	tests := []struct {
		line      string
		ok        bool
		db, table string
		privs     []string
		notPrivs  []string
	}{
		{"GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `capture`@`%` IDENTIFIED BY PASSWORD '*ABC'", true, "*", "*",
			[]string{"REPLICATION SLAVE", "BINLOG MONITOR"}, []string{"SELECT"}},
		{"GRANT SELECT, INSERT ON `shop`.* TO `capture`@`%`", true, "shop", "*", []string{"SELECT", "INSERT"}, nil},
		{"GRANT SELECT ON `my.db`.`a``b` TO 'u'@'%'", true, "my.db", "a`b", []string{"SELECT"}, nil},
		{"GRANT SELECT (`id`, `x`), INSERT ON `shop`.`t` TO `u`@`%`", true, "shop", "t", []string{"INSERT"}, []string{"SELECT"}},
		{"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION", true, "*", "*", []string{"ALL PRIVILEGES"}, nil},
		{"grant select on shop.* to 'u'@'%'", true, "shop", "*", []string{"SELECT"}, nil},
		{"GRANT USAGE ON *.* TO `u`@`%`", true, "*", "*", []string{"USAGE"}, nil},
		{"GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION", false, "", "", nil, nil},
		{"GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `u`@`%`", false, "", "", nil, nil},
		{"GRANT `reader` TO `u`@`%`", false, "", "", nil, nil},
	}
	for _, tt := range tests {
		g, ok := parseGrant(tt.line)
		if ok != tt.ok {
			t.Errorf("parseGrant(%q) ok = %v", tt.line, ok)
			continue
		}
		if !ok {
			continue
		}
		if g.db != tt.db || g.table != tt.table {
			t.Errorf("parseGrant(%q) on %q.%q, want %q.%q", tt.line, g.db, g.table, tt.db, tt.table)
		}
		for _, p := range tt.privs {
			if !g.Has(p) {
				t.Errorf("parseGrant(%q) lacks %s: %v", tt.line, p, g.privs)
			}
		}
		for _, p := range tt.notPrivs {
			if g.privs[p] {
				t.Errorf("parseGrant(%q) has %s", tt.line, p)
			}
		}
	}
	if !isRoleGrant("GRANT `reader` TO `u`@`%`") || isRoleGrant("GRANT SELECT ON *.* TO `u`@`%`") {
		t.Error("isRoleGrant")
	}
	g, _ := parseGrant("GRANT SELECT ON `shop\\_%`.* TO `u`@`%`")
	if !g.CoversDB("shop_eu") || g.CoversDB("shopXeu") || !g.CoversTable("shop_1", "t") {
		t.Errorf("database pattern %q matched wrongly", g.db)
	}
}
