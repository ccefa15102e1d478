package mysqlvalue

import (
	"fmt"
	"github.com/syncline/syncline/schema"
	"math/rand/v2"
	"testing"
	"time"
)

// TestDateArithmetic checks validDate and epochDays against package time for
// every year, month and day number of MySQL's four-digit years, and
// parseDate against time.Date (== on time.Time: the same representation).
func TestDateArithmetic(t *testing.T) {
	step := 1
	if testing.Short() {
		step = 7
	}
	for y := 0; y <= 9999; y += step {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				want := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
				valid := m >= 1 && m <= 12 && d >= 1 && want.Month() == time.Month(m) && want.Day() == d
				if got := validDate(y, m, d); got != valid {
					t.Fatalf("validDate(%d, %d, %d) = %v, want %v", y, m, d, got, valid)
				}
				if !valid {
					continue
				}
				if got := epochDays(y, m, d); got*secondsPerDay != want.Unix() {
					t.Fatalf("epochDays(%d, %d, %d) = %d, want %d", y, m, d, got, want.Unix()/secondsPerDay)
				}
				if d%9 != 1 {
					continue
				}
				s := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
				if got, err := parseDate(s); err != nil || got != want {
					t.Fatalf("parseDate(%q) = %v, %v; want %v", s, got, err, want)
				}
			}
		}
	}
}

// TestParseDateTimeArithmetic compares parseDateTime, from a string and
// from bytes, with time.Date for random wall clocks, out-of-range clock
// fields included (time.Date carries them over, and so does the sum).
func TestParseDateTimeArithmetic(t *testing.T) {
	rnd := rand.New(rand.NewPCG(9, 10))
	for range 100_000 {
		y, m, d := rnd.IntN(10000), 1+rnd.IntN(12), 1+rnd.IntN(28)
		hh, mi, ss, us := rnd.IntN(24), rnd.IntN(60), rnd.IntN(60), rnd.IntN(1_000_000)
		if rnd.IntN(20) == 0 {
			hh, mi, ss = rnd.IntN(100), rnd.IntN(100), rnd.IntN(100)
		}
		frac, wantUs := "", 0
		if digits := rnd.IntN(7); digits > 0 {
			frac = "." + fmt.Sprintf("%06d", us)[:digits]
			unit := int(schema.Pow10(6 - digits))
			wantUs = us / unit * unit
		}
		s := fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d%s", y, m, d, hh, mi, ss, frac)
		want := time.Date(y, time.Month(m), d, hh, mi, ss, 0, time.UTC).UnixMicro() + int64(wantUs)
		got1, err1 := parseDateTime(s)
		got2, err2 := parseDateTime([]byte(s))
		if err1 != nil || err2 != nil || got1 != want || got2 != want {
			t.Fatalf("parseDateTime(%q) = %d, %v and %d, %v; want %d", s, got1, err1, got2, err2, want)
		}
	}
	for _, s := range []string{"2024-01-01 00:00:00.", "2024-01-01 00:00:00.1234567", "2024-01-01 00:00:00x1", "2024-01-01 0a:00:00",
		"2024-01-01T00:00:00", "2024-1-01 00:00:00", "2024-01-01 00:00"} {
		if got, err := parseDateTime(s); err == nil {
			t.Errorf("parseDateTime(%q) = %d, want an error", s, got)
		}
	}
}

// TestWallMicros compares wallMicros with the wall clock read through
// time.Date, in several zones, before and after 1970.
func TestWallMicros(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("E", 5*3600+1800), time.FixedZone("W", -11*3600), time.Local}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		zones = append(zones, ny)
	}
	rnd := rand.New(rand.NewPCG(11, 12))
	for range 20_000 {
		sec := rnd.Int64N(400_000_000_000) - 62_000_000_000 // years 0 to 10000
		at := time.Unix(sec, rnd.Int64N(1e9)).In(zones[rnd.IntN(len(zones))])
		y, mo, d := at.Date()
		hh, mi, ss := at.Clock()
		want := time.Date(y, mo, d, hh, mi, ss, 0, time.UTC).UnixMicro() + int64(at.Nanosecond()/1000)
		if got := wallMicros(at); got != want {
			t.Fatalf("wallMicros(%v) = %d, want %d", at, got, want)
		}
	}
}
