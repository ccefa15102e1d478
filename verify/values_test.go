package verify

import (
	"context"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/syncline/syncline/schema"
)

func TestCanonicalJSON(t *testing.T) {
	same := [][]string{
		{`{"a": [1, 2.50, "x"]}`, `{"a":[1,2.5,"x"]}`, `{ "a" : [ 1.0, 25e-1, "x" ] }`},
		{`{"b": 1, "a": 2}`, `{"a": 2, "b": 1}`},
		{`{"a": 1, "a": 2}`, `{"a": 2}`}, // jsonb keeps the last duplicate
		{`"é"`, `"\u00e9"`},
		{`[]`, ` [ ] `},
	}
	for _, group := range same {
		for _, s := range group[1:] {
			if a, b := canonicalJSON(group[0]), canonicalJSON(s); a != b {
				t.Errorf("%s and %s: %s != %s", group[0], s, a, b)
			}
		}
	}
	differ := [][2]string{{`{"a": 1}`, `{"a": "1"}`}, {`[1, 2]`, `[2, 1]`}, {`{"a": null}`, `{}`}, {`1`, `1.5`}}
	for _, d := range differ {
		if canonicalJSON(d[0]) == canonicalJSON(d[1]) {
			t.Errorf("%s and %s compare equal", d[0], d[1])
		}
	}
	if got := canonicalJSON("not json"); got != "not json" {
		t.Errorf("a text that is not JSON became %q", got)
	}
}

func TestCanon(t *testing.T) {
	equal := [][2]any{
		{int32(5), int64(5)},
		{int64(7), new(big.Rat).SetInt64(7)},
		{"ab", []byte("ab")},
		{schema.ZeroDate(), schema.ZeroTimestamp()},
		{time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 29, 1, 0, 0, 0, time.FixedZone("x", 3600))},
	}
	for _, e := range equal {
		a, okA := canon(e[0])
		b, okB := canon(e[1])
		if !okA || !okB || a != b {
			t.Errorf("%#v and %#v: %q, %q", e[0], e[1], a, b)
		}
	}
	differ := [][2]any{
		{nil, ""}, {nil, int32(0)}, {nil, []byte{}}, {int32(1), "1"}, {new(big.Rat).SetFrac64(1, 4), "0.25"},
		{0.1, math.Nextafter(0.1, 1)},
	}
	for _, d := range differ {
		a, _ := canon(d[0])
		b, _ := canon(d[1])
		if a == b {
			t.Errorf("%#v and %#v compare equal", d[0], d[1])
		}
	}
	if _, ok := canon(struct{}{}); ok {
		t.Error("a value outside the comparison domain was accepted")
	}
}

func TestBinlogVersion(t *testing.T) {
	v, err := binlogVersion("mysql-bin.000042", 4211)
	if err != nil || v != 42<<32|4211 {
		t.Errorf("got %d, %v", v, err)
	}
	for _, bad := range []string{"mysql-bin", "mysql-bin.x", "mysql-bin.99999999999"} {
		if _, err := binlogVersion(bad, 4); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestLimiter(t *testing.T) {
	ctx := context.Background()
	var none *limiter
	if err := none.wait(ctx, 1e9); err != nil {
		t.Fatal(err)
	}
	l := newLimiter(10000)
	start := time.Now()
	for range 15 {
		if err := l.wait(ctx, 1000); err != nil {
			t.Fatal(err)
		}
	}
	// A burst of one second's rows, then 5,000 rows at 10,000/s.
	if d := time.Since(start); d < 450*time.Millisecond || d > 2*time.Second {
		t.Errorf("15,000 rows at 10,000/s with a burst of 10,000 took %s, want about 0.5s", d)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.wait(cancelled, 1e6); err == nil {
		t.Error("a wait in a cancelled context returned no error")
	}
}
