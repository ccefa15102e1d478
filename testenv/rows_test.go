package testenv_test

import (
	"testing"

	"github.com/syncline/syncline/testenv"
)

// TestScanStrings reads a row with text, NULL, a number and an empty
// string: NULL is nil, every other value its text.
func TestScanStrings(t *testing.T) {
	t.Parallel()
	rows, err := testenv.Target(t).DB(t, "").Query("SELECT 'a', NULL, 3, ''")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	got, err := testenv.ScanStrings(rows)
	if err != nil {
		t.Fatal(err)
	}
	want := []*string{ptr("a"), nil, ptr("3"), ptr("")}
	if len(got) != len(want) {
		t.Fatalf("%d columns, want %d", len(got), len(want))
	}
	for i := range want {
		switch {
		case (got[i] == nil) != (want[i] == nil):
			t.Errorf("column %d: NULL is %v, want %v", i, got[i] == nil, want[i] == nil)
		case got[i] != nil && *got[i] != *want[i]:
			t.Errorf("column %d = %q, want %q", i, *got[i], *want[i])
		}
	}
}

func ptr(s string) *string { return &s }
