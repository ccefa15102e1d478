package testenv

import (
	"strings"
	"testing"
)

func TestSanitizeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"TestFoo", "testfoo"},
		{"TestFoo/sub_test#01", "testfoo_sub_test_01"},
		{"Test Ünïcode--Name", "test_n_code_name"},
		{"///", "test"},
		{strings.Repeat("a", 80), strings.Repeat("a", 50)},
		{strings.Repeat("a", 49) + "/b", strings.Repeat("a", 49)},
	} {
		if got := sanitizeName(tc.in); got != tc.want {
			t.Errorf("sanitizeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	a, b := uniqueName("TestX"), uniqueName("TestX")
	if a == b || !strings.HasPrefix(a, "t_testx_") {
		t.Errorf("uniqueName gave %q and %q", a, b)
	}
}
