package mysqlvalue

import (
	"fmt"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/internal/event/eventtest"
	"github.com/syncline/syncline/schema"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// setStringDecimal is the former parseDecimal: big.Rat's SetString of the
// trimmed text.
func setStringDecimal(s string) (*big.Rat, bool) {
	return new(big.Rat).SetString(strings.TrimSpace(s))
}

// decimalEdgeTexts are DECIMAL texts as MySQL writes them and texts it does
// not write, which must parse (or fail) exactly as with SetString.
var decimalEdgeTexts = []string{
	"0", "-0", "0.00", "-0.00", "-0.000000000000000000000000000000", "00012.3400", "-00000.000001",
	"1234.56", "-1234.56", "0.50", "-0.50", "0.05", "999999999.99", "-999999999.99", "1", "-1", "10", "100.00",
	"0.25", "0.125", "0.2", "-0.04", "0.0016", "1.5625", "3.14159", "12345678.91", "-12345678.91",
	"9999999999999999999", "-9999999999999999999", "999999999999999999.9", "0.9999999999999999999",
	"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
	"18446744073709551615", "18446744073709551616", "-18446744073709551616", "10000000000000000000",
	"1000000000000000000.0", "0.0000000000000000001", "-0.0000000000000000001", "0.00000000000000000001",
	"0.0000000000000000005", "0.0000000000000000002", "4611686018427387904", "0.4611686018427387904",
	"1.000000000000000001", "1.0000000000000000001", "0000000000000000000000000001.5",
	"99999999999999999999999999999999999.999999999999999999999999999999",
	"-99999999999999999999999999999999999.999999999999999999999999999999",
	"-0.000000000000000000000000000001", "0.100000000000000000000000000000",
	"12345678901234567890123456789012345678901234567890123456789012345",
	// Not MySQL's form: the SetString path.
	".5", "5.", "-.5", "1e5", "1E-2", "-2.5e+3", " 1.5", "1.5 ", "\t-2.50\n", "+1.5", "+0",
	"1/2", "-6/4", "0x10", "0b101", "1_000", "0.5_0",
	// Not decimals at all.
	"", "-", ".", "-.", "--1", "1.2.3", "abc", "1,5", "1.5x", "x1.5", "١", "1 000", "0x", "1/0", "1.-5",
}

// checkParseDecimal compares parseDecimal of s, as a string and as bytes,
// with SetString: the same error, the same value, normalized alike, with a
// denominator that is a reference (an initialized Rat).
func checkParseDecimal(t *testing.T, s string) {
	t.Helper()
	want, wantOK := setStringDecimal(s)
	for _, form := range []string{"string", "bytes"} {
		var r *big.Rat
		var err error
		if form == "string" {
			r, err = parseDecimal(s)
		} else {
			r, err = parseDecimal([]byte(s))
		}
		if (err == nil) != wantOK {
			t.Errorf("parseDecimal(%q) as %s: error %v, SetString ok %v", s, form, err, wantOK)
			continue
		}
		if !wantOK {
			continue
		}
		if r.Num().Cmp(want.Num()) != 0 || r.Denom().Cmp(want.Denom()) != 0 || r.Sign() != want.Sign() {
			t.Errorf("parseDecimal(%q) as %s = %s, want %s", s, form, r.RatString(), want.RatString())
		}
		if r.Denom() != r.Denom() {
			t.Errorf("parseDecimal(%q) as %s: uninitialized denominator", s, form)
		}
	}
}

func TestParseDecimalEdges(t *testing.T) {
	for _, s := range decimalEdgeTexts {
		checkParseDecimal(t, s)
	}
	// The hand-written path takes MySQL's form up to 19 significant digits.
	for s, fast := range map[string]bool{
		"1234.56": true, "-0.00": true, "9999999999999999999": true, "0.0000000000000000001": true,
		"0000000000000000000000000001.5": true, "0.100000000000000000000000000000": true,
		"10000000000000000000": false, "0.00000000000000000001": false, " 1.5": false, ".5": false, "5.": false,
	} {
		if _, _, _, ok := scanDecimal(s); ok != fast {
			t.Errorf("scanDecimal(%q) ok = %v, want %v", s, ok, fast)
		}
	}
}

// randomDecimalText returns a random decimal text: MySQL's form mostly,
// with leading and trailing zeros, long digit runs and some malformed texts.
func randomDecimalText(rnd *rand.Rand) string {
	var b strings.Builder
	if rnd.IntN(3) == 0 {
		b.WriteByte('-')
	}
	digits := func(n int) {
		for range n {
			switch rnd.IntN(6) {
			case 0:
				b.WriteByte('0')
			case 1:
				b.WriteByte('9')
			default:
				b.WriteByte(byte('0' + rnd.IntN(10)))
			}
		}
	}
	lengths := []int{0, 1, 2, 5, 9, 17, 18, 19, 20, 21, 30, 35, 40}
	if rnd.IntN(4) == 0 {
		b.WriteString(strings.Repeat("0", 1+rnd.IntN(20)))
	}
	digits(lengths[rnd.IntN(len(lengths))])
	if rnd.IntN(4) != 0 {
		b.WriteByte('.')
		digits(lengths[rnd.IntN(len(lengths))])
		if rnd.IntN(4) == 0 {
			b.WriteString(strings.Repeat("0", 1+rnd.IntN(20)))
		}
	}
	s := b.String()
	if rnd.IntN(50) == 0 && s != "" {
		i := rnd.IntN(len(s))
		s = s[:i] + string("x. -e/"[rnd.IntN(6)]) + s[i:]
	}
	return s
}

func TestParseDecimalRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	iters := 200_000
	if testing.Short() {
		iters = 20_000
	}
	for range iters {
		checkParseDecimal(t, randomDecimalText(rnd))
		if t.Failed() {
			return
		}
	}
}

// mysqlDecimalText returns a random value of DECIMAL(prec, scale) as MySQL
// writes it: exactly scale fractional digits, no leading zeros but "0".
func mysqlDecimalText(rnd *rand.Rand, prec, scale int) string {
	var b strings.Builder
	if rnd.IntN(2) == 0 {
		b.WriteByte('-')
	}
	intDigits := rnd.IntN(prec - scale + 1)
	if intDigits == 0 {
		b.WriteByte('0')
	} else {
		b.WriteByte(byte('1' + rnd.IntN(9)))
		for range intDigits - 1 {
			b.WriteByte(byte('0' + rnd.IntN(10)))
		}
	}
	if scale > 0 {
		b.WriteByte('.')
		zeros := rnd.IntN(scale + 1) // a run of trailing zeros
		for i := range scale {
			if i >= scale-zeros {
				b.WriteByte('0')
			} else {
				b.WriteByte(byte('0' + rnd.IntN(10)))
			}
		}
	}
	return b.String()
}

// TestEncodeParsedDecimals encodes parsed decimal texts with the Encoder
// and compares with hamba's encoding of SetString's value of the same text:
// the edge texts in columns of several precisions and scales, and random
// values of random DECIMAL types as MySQL writes them.
func TestEncodeParsedDecimals(t *testing.T) {
	check := func(typ schema.Type, texts []string) {
		t.Helper()
		tbl := schema.Table{Database: "d", Name: "dec", Key: []string{"c"}, Columns: []schema.Column{{Name: "c", Type: typ}}}
		enc, err := event.NewEncoder(tbl)
		if err != nil {
			t.Fatal(err)
		}
		h := eventtest.NewHambaEnc(t, tbl)
		for _, s := range texts {
			want, ok := setStringDecimal(s)
			if !ok {
				continue
			}
			got, err := parseDecimal(s)
			if err != nil {
				t.Fatalf("parseDecimal(%q): %v", s, err)
			}
			eventtest.CheckEncode(t, fmt.Sprintf("%s %q", typ, s), enc, h, []any{got}, event.ValueMap(tbl, []any{want}), eventtest.CheckOpts{})
		}
	}
	for _, typ := range []schema.Type{
		{Kind: schema.Decimal, Precision: 12, Scale: 2}, {Kind: schema.Decimal, Precision: 65, Scale: 30}, {Kind: schema.Decimal, Precision: 1, Scale: 1},
		{Kind: schema.Decimal, Precision: 19, Scale: 0}, {Kind: schema.Decimal, Precision: 20, Scale: 0}, {Kind: schema.Decimal, Precision: 38, Scale: 19},
		{Kind: schema.Decimal, Precision: 18, Scale: 18}, {Kind: schema.Decimal, Precision: 65, Scale: 0}, {Kind: schema.BigInt, Unsigned: true},
	} {
		check(typ, decimalEdgeTexts)
	}
	rnd := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		prec := 1 + rnd.IntN(65)
		scale := rnd.IntN(min(prec, 30) + 1)
		var texts []string
		for range 20 {
			texts = append(texts, mysqlDecimalText(rnd, prec, scale))
		}
		check(schema.Type{Kind: schema.Decimal, Precision: prec, Scale: scale}, texts)
		if t.Failed() {
			return
		}
	}
}

// BenchmarkParseDecimal parses the bench table's amounts.
func BenchmarkParseDecimal(b *testing.B) {
	var texts []string
	for _, id := range eventtest.BenchIDs() {
		texts = append(texts, eventtest.MakeBenchRow(id).Amount)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := parseDecimal(texts[i%len(texts)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
