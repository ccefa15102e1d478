package rules

import (
	"strings"
	"testing"
	"time"
)

func TestParseDateTime(t *testing.T) {
	at := func(y, mo, d, h, mi, s, us int) int64 {
		return time.Date(y, time.Month(mo), d, h, mi, s, us*1000, time.UTC).UnixMicro()
	}
	for _, tc := range []struct {
		in      string
		want    int64
		hasTime bool
	}{
		{"2024-02-29", at(2024, 2, 29, 0, 0, 0, 0), false},
		{" 2024-02-29 ", at(2024, 2, 29, 0, 0, 0, 0), false},
		{"2024/2/9", at(2024, 2, 9, 0, 0, 0, 0), false},
		{"24-02-29", at(2024, 2, 29, 0, 0, 0, 0), false},
		{"99.12.31", at(1999, 12, 31, 0, 0, 0, 0), false},
		{"20240229", at(2024, 2, 29, 0, 0, 0, 0), false},
		{"240229", at(2024, 2, 29, 0, 0, 0, 0), false},
		{"2024-02-29 13:14:15", at(2024, 2, 29, 13, 14, 15, 0), true},
		{"2024-02-29T13:14:15.5", at(2024, 2, 29, 13, 14, 15, 500000), true},
		{"2024-02-29 13:14", at(2024, 2, 29, 13, 14, 0, 0), true},
		{"2024-02-29 1:2:3.1234567", at(2024, 2, 29, 1, 2, 3, 123456), true},
		{"20240229131415", at(2024, 2, 29, 13, 14, 15, 0), true},
		{"20240229131415.25", at(2024, 2, 29, 13, 14, 15, 250000), true},
		{"0000-00-00", zeroTime, false},
		{"0000-00-00 00:00:00", zeroTime, true},
	} {
		got, hasTime, err := parseDateTime(tc.in)
		if err != nil || got != tc.want || hasTime != tc.hasTime {
			t.Errorf("parseDateTime(%q) = %d, %v, %v; want %d, %v", tc.in, got, hasTime, err, tc.want, tc.hasTime)
		}
	}
	for _, in := range []string{"", "x", "2024", "2024-02", "2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10",
		"2024-01-00", "2024-01-01 24:00:00", "2024-01-01 10:60", "2024-01-01 10", "12345-01-01", "2024-01-01 10:00:00.",
		"2024-01-01 10:00:00.x", "1234567", "20240229.5"} {
		if _, _, err := parseDateTime(in); err == nil || !strings.Contains(err.Error(), "is not a valid date") {
			t.Errorf("parseDateTime(%q): %v", in, err)
		}
	}
}

func TestParseTime(t *testing.T) {
	hms := func(h, m, s, us int64) int64 { return ((h*60+m)*60+s)*1_000_000 + us }
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"10:30", hms(10, 30, 0, 0)},
		{"10:30:15", hms(10, 30, 15, 0)},
		{"-10:30:15.5", -hms(10, 30, 15, 500000)},
		{"838:59:59", hms(838, 59, 59, 0)},
		{"-838:59:59.000000", -hms(838, 59, 59, 0)},
		{"1 02:03:04", hms(26, 3, 4, 0)},
		{"103015", hms(10, 30, 15, 0)},
		{"3015", hms(0, 30, 15, 0)},
		{"15", hms(0, 0, 15, 0)},
		{"10", hms(0, 0, 10, 0)},
		{"-00:00:00.01", -10000},
	} {
		got, err := parseTime(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseTime(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "x", "10:60", "10:00:60", "839:00:00", "10:30.5", "1:2:3:4", "12345678", "10:00:00.x"} {
		if _, err := parseTime(in); err == nil {
			t.Errorf("parseTime(%q) succeeded", in)
		}
	}
}

func TestFormatTemporal(t *testing.T) {
	m := time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC).UnixMicro()
	for _, tc := range []struct{ got, want string }{
		{formatDateTime(m, false, 0), "2024-02-29"},
		{formatDateTime(m, true, 0), "2024-02-29 13:14:15"},
		{formatDateTime(m, true, 3), "2024-02-29 13:14:15.123"},
		{formatDateTime(zeroTime, true, 2), "0000-00-00 00:00:00.00"},
		{formatDateTime(zeroTime, false, 0), "0000-00-00"},
		{formatTime(-(838*3600+59*60+59)*1_000_000, 0), "-838:59:59"},
		{formatTime(1_500_000, 2), "00:00:01.50"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestLikeMatch(t *testing.T) {
	ci, bin := utf8mb4GeneralCI, binaryCollation
	for _, tc := range []struct {
		s, p string
		esc  rune
		c    *collation
		want bool
	}{
		{"abc", "abc", '\\', ci, true},
		{"abc", "ABC", '\\', ci, true},
		{"abc", "ABC", '\\', bin, false},
		{"abc", "a%", '\\', ci, true},
		{"abc", "%c", '\\', ci, true},
		{"abc", "%b%", '\\', ci, true},
		{"abc", "a_c", '\\', ci, true},
		{"abc", "a__c", '\\', ci, false},
		{"", "%", '\\', ci, true},
		{"", "_", '\\', ci, false},
		{"abc ", "abc", '\\', ci, false},
		{"a%c", `a\%c`, '\\', ci, true},
		{"abc", `a\%c`, '\\', ci, false},
		{"a_c", "a|_c", '|', ci, true},
		{"abc", "a|_c", '|', ci, false},
		{`a\`, `a\`, '\\', ci, true}, // a trailing escape is literal
		{"😀x", "_x", '\\', ci, true},
		{"😀x", "__x", '\\', bin, false},
		{"😀x", "____x", '\\', bin, true},
		{"Zürich", "zu%", '\\', ci, true},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "%a%a%a%a%a%a%a%c", '\\', ci, false},
		{"mississippi", "%iss%ppi", '\\', ci, true},
		{"mississippi", "m%i%s%i%p_i", '\\', ci, true},
	} {
		if got := likeMatch(tc.s, tc.p, tc.esc, tc.c); got != tc.want {
			t.Errorf("%q LIKE %q (escape %q, %s) = %v", tc.s, tc.p, tc.esc, tc.c.name, got)
		}
	}
}

func TestCollationCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		c    *collation
		want int
	}{
		{"abc", "ABC", utf8mb4GeneralCI, 0},
		{"abc", "abc   ", utf8mb4GeneralCI, 0},
		{"abc\t", "abc", utf8mb4GeneralCI, -1}, // tab sorts before the padding space
		{"abc", "abd", utf8mb4GeneralCI, -1},
		{"Zürich", "ZURICH", utf8mb4GeneralCI, 0},
		{"😀", "😁", utf8mb4GeneralCI, 0},
		{"abc", "ABC", latin1SwedishCI, 0},
		{"Åsa", "asa", latin1SwedishCI, 1},
		{"Ü", "y", latin1SwedishCI, 0},
		{"abc ", "abc", binaryCollation, 1},
		{"a", "B", namedCollations["utf8mb4_bin"], 1},
		{"a ", "a", namedCollations["utf8mb4_bin"], 0},
	} {
		if got := tc.c.compare(tc.a, tc.b); got != tc.want {
			t.Errorf("compare(%q, %q) in %s = %d, want %d", tc.a, tc.b, tc.c.name, got, tc.want)
		}
		if got := tc.c.compare(tc.b, tc.a); got != -tc.want {
			t.Errorf("compare(%q, %q) in %s = %d, want %d", tc.b, tc.a, tc.c.name, got, -tc.want)
		}
	}
}

func TestCompareFractions(t *testing.T) {
	const max = int64(^uint64(0) >> 1)
	for _, tc := range []struct {
		n1   int64
		d1   uint64
		n2   int64
		d2   uint64
		want int
	}{
		{1, 2, 1, 2, 0},
		{1, 3, 1, 2, -1},
		{-1, 3, -1, 2, 1},
		{0, 1, -1, 1, 1},
		{max, 1, max, 1, 0},
		{max, 10, max - 1, 10, 1},
		{-max - 1, 1, -max, 1, -1},
		{max, ^uint64(0), max - 1, ^uint64(0) - 1, 1},
	} {
		if got := compareFractions(tc.n1, tc.d1, tc.n2, tc.d2); got != tc.want {
			t.Errorf("compareFractions(%d/%d, %d/%d) = %d, want %d", tc.n1, tc.d1, tc.n2, tc.d2, got, tc.want)
		}
	}
}
