package mysql

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/syncline/syncline/schema"
)

// TestDecimalText checks the integer path against big.Rat.FloatString on
// edges and on random values of every scale it takes.
func TestDecimalText(t *testing.T) {
	fast := 0
	check := func(r *big.Rat, scale int) {
		t.Helper()
		got, ok := decimalText(r, scale)
		if !ok {
			return
		}
		fast++
		if want := r.FloatString(scale); got != want {
			t.Fatalf("decimalText(%s, %d) = %q, FloatString gives %q", r.RatString(), scale, got, want)
		}
	}
	for scale := 0; scale <= 19; scale++ {
		for _, text := range []string{"0", "-0", "1", "-1", "0.5", "-0.05", "123.45", "-123.45",
			"9223372036854775807", "-9223372036854775808", "0.000000000000000001", "-922337203685477.5807"} {
			r, _ := new(big.Rat).SetString(text)
			check(r, scale)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		scale := rng.IntN(19)
		n := rng.Int64N(1<<62) >> rng.IntN(62)
		if rng.IntN(2) == 0 {
			n = -n
		}
		check(new(big.Rat).SetFrac64(n, int64(schema.Pow10(scale))), scale)
	}
	if fast < 150_000 {
		t.Errorf("only %d values took the integer path", fast)
	}
	// A value whose denominator does not divide 10^scale, or that does not
	// fit, is left to the exact path.
	if _, ok := decimalText(big.NewRat(1, 3), 2); ok {
		t.Error("1/3 at scale 2 took the integer path")
	}
	if _, ok := decimalText(new(big.Rat).SetFrac64(1<<62, 1), 18); ok {
		t.Error("2^62 at scale 18 took the integer path")
	}
}

// TestDateTimeText checks the literals against package time's formatting.
func TestDateTimeText(t *testing.T) {
	const minMicros, maxMicros = -62135596800000000, 253402300799999999 // years 1 to 9999
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		tm := time.UnixMicro(minMicros + rng.Int64N(maxMicros-minMicros)).UTC()
		if got, want := dateTimeText(tm, false), tm.Format("2006-01-02 15:04:05.000000"); got != want {
			t.Fatalf("dateTimeText(%v) = %q, want %q", tm, got, want)
		}
		if got, want := dateTimeText(tm, true), tm.Format("2006-01-02"); got != want {
			t.Fatalf("dateTimeText(%v, date) = %q, want %q", tm, got, want)
		}
	}
}

// TestUUIDAndInetColumns: native types where the server has them (by
// version), their text in character columns elsewhere, and either form
// accepted for an existing column.
func TestUUIDAndInetColumns(t *testing.T) {
	for _, c := range []struct {
		version            string
		uuid, inet4, inet6 string
	}{
		{"10.11.19-MariaDB-0+deb12u1-log", "uuid", "inet4", "inet6"},
		{"10.6.18-MariaDB", "char(36)", "varchar(15)", "inet6"},
		{"10.4.30-MariaDB", "char(36)", "varchar(15)", "varchar(39)"},
		{"8.0.36", "char(36)", "varchar(15)", "varchar(39)"},
	} {
		info := newServerInfo(c.version, 0)
		for kind, want := range map[schema.Kind]string{schema.UUID: c.uuid, schema.Inet4: c.inet4, schema.Inet6: c.inet6} {
			typ := schema.Type{Kind: kind}
			if got := columnType(typ, info); got != want {
				t.Errorf("%s on %s: %s, want %s", kind, c.version, got, want)
			}
			if !sameType(want, typ) || !sameType(kind.String(), typ) {
				t.Errorf("%s: %s or %s not the same type", kind, want, kind)
			}
		}
	}
	if sameType("char(36)", schema.Type{Kind: schema.Inet6}) || sameType("binary(16)", schema.Type{Kind: schema.UUID}) {
		t.Error("a wrong type was the same")
	}
}
