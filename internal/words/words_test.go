package words

import "testing"

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 tables", 1: "1 table", 2: "2 tables"} {
		if got := Plural(n, "table", "tables"); got != want {
			t.Errorf("Plural(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Plural(int64(3), "row", "rows"); got != "3 rows" {
		t.Errorf("Plural(int64(3)) = %q, want %q", got, "3 rows")
	}
}
