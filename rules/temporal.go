package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxTimeMicros is TIME's range, 838:59:59.
const maxTimeMicros = (838*3600 + 59*60 + 59) * 1_000_000

// parseDateTime parses a date or datetime literal as MySQL reads one
// compared with a temporal column: "2024-02-29", "2024-02-29 13:14:15.5",
// "2024-02-29T13:14:15", with any punctuation as separator, two-digit years
// (70-99 are 19xx, 00-69 20xx), and the digit-only forms "20240229" and
// "20240229131415". The result is the microseconds of the wall clock read as
// UTC; "0000-00-00" (with or without a zero time) is the zero date. It
// reports whether the literal has a time part.
func parseDateTime(s string) (micros int64, hasTime bool, err error) {
	bad := func(why string) (int64, bool, error) {
		return 0, false, fmt.Errorf("%s is not a valid date or datetime (%s)", quote(s), why)
	}
	t := strings.TrimSpace(s)
	var f [7]int // year, month, day, hour, minute, second, microsecond
	var n int
	yearDigits := 0
	if isAllDigits(t) || (strings.Count(t, ".") == 1 && isAllDigits(strings.Replace(t, ".", "", 1)) && len(t) > 10) {
		// Digit-only forms: YYYYMMDD, YYMMDD, YYYYMMDDhhmmss, YYMMDDhhmmss.
		digits, frac, _ := strings.Cut(t, ".")
		switch len(digits) {
		case 8, 14:
			yearDigits = 4
		case 6, 12:
			yearDigits = 2
		default:
			return bad("unexpected number of digits")
		}
		widths := []int{yearDigits, 2, 2, 2, 2, 2}
		pos := 0
		for i, w := range widths {
			if pos == len(digits) {
				break
			}
			f[i], _ = strconv.Atoi(digits[pos : pos+w])
			pos += w
			n = i + 1
		}
		if frac != "" {
			if n < 6 {
				return bad("fraction without a time")
			}
			f[6] = fractionMicros(frac)
		}
	} else {
		datePart, timePart := t, ""
		if i := strings.IndexAny(t, " T"); i >= 0 {
			datePart, timePart = t[:i], strings.TrimLeft(t[i+1:], " ")
		}
		parts := splitPunct(datePart)
		if len(parts) != 3 {
			return bad("want year, month and day")
		}
		yearDigits = len(parts[0])
		if yearDigits > 4 {
			return bad("year of more than four digits")
		}
		for i, p := range parts {
			if len(p) > 4 || (i > 0 && len(p) > 2) {
				return bad("bad field " + strconv.Quote(p))
			}
			f[i], _ = strconv.Atoi(p)
		}
		n = 3
		if timePart != "" {
			clock, frac, hasFrac := strings.Cut(timePart, ".")
			tp := splitPunct(clock)
			if len(tp) < 2 || len(tp) > 3 {
				return bad("want hours, minutes and seconds")
			}
			for i, p := range tp {
				if len(p) > 2 {
					return bad("bad field " + strconv.Quote(p))
				}
				f[3+i], _ = strconv.Atoi(p)
			}
			if hasFrac {
				if len(tp) != 3 || !isAllDigits(frac) || frac == "" {
					return bad("bad fraction")
				}
				f[6] = fractionMicros(frac)
			}
			n = 6
		}
	}
	if yearDigits <= 2 {
		if f[0] < 70 {
			f[0] += 2000
		} else {
			f[0] += 1900
		}
	}
	if f[0] == 0 && f[1] == 0 && f[2] == 0 && f[3] == 0 && f[4] == 0 && f[5] == 0 && f[6] == 0 && yearDigits == 4 {
		return zeroTime, n > 3, nil
	}
	if !validDate(f[0], f[1], f[2]) {
		return bad("no such day")
	}
	if f[3] > 23 || f[4] > 59 || f[5] > 59 {
		return bad("no such time of day")
	}
	d := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], 0, time.UTC)
	return d.UnixMicro() + int64(f[6]), n > 3, nil
}

// parseTime parses a TIME literal: "[-][D ]HH:MM[:SS[.ffffff]]" (hours up to
// 838) or the digit-only "[-]HHMMSS[.ffffff]", "MMSS", "SS". The result is
// signed microseconds.
func parseTime(s string) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("%s is not a valid time (%s)", quote(s), why)
	}
	t := strings.TrimSpace(s)
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(t, "-")
	body, frac, hasFrac := strings.Cut(t, ".")
	if hasFrac && (frac == "" || !isAllDigits(frac)) {
		return bad("bad fraction")
	}
	var days, h, m, sec int
	switch {
	case isAllDigits(body) && body != "":
		if len(body) > 7 {
			return bad("too many digits")
		}
		v, _ := strconv.Atoi(body)
		h, m, sec = v/10000, v/100%100, v%100
	default:
		if d, rest, ok := strings.Cut(body, " "); ok {
			if !isAllDigits(d) || d == "" || len(d) > 2 {
				return bad("bad day count")
			}
			days, _ = strconv.Atoi(d)
			body = strings.TrimLeft(rest, " ")
		}
		parts := strings.Split(body, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return bad("want hours and minutes")
		}
		for i, p := range parts {
			if p == "" || !isAllDigits(p) || (i > 0 && len(p) > 2) || len(p) > 3 {
				return bad("bad field " + strconv.Quote(p))
			}
		}
		h, _ = strconv.Atoi(parts[0])
		m, _ = strconv.Atoi(parts[1])
		if len(parts) == 3 {
			sec, _ = strconv.Atoi(parts[2])
		} else if hasFrac {
			return bad("fraction without seconds")
		}
	}
	if m > 59 || sec > 59 {
		return bad("minutes and seconds go up to 59")
	}
	micros := (int64(days*24+h)*3600+int64(m)*60+int64(sec))*1_000_000 + int64(fractionMicros(frac))
	if micros > maxTimeMicros {
		return bad("beyond 838:59:59")
	}
	if neg {
		micros = -micros
	}
	return micros, nil
}

// fractionMicros reads fractional-second digits as microseconds; digits
// beyond the sixth are dropped, as MariaDB truncates them.
func fractionMicros(frac string) int {
	if len(frac) > 6 {
		frac = frac[:6]
	}
	v, _ := strconv.Atoi(frac)
	for i := len(frac); i < 6; i++ {
		v *= 10
	}
	return v
}

func splitPunct(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// validDate reports whether y-m-d is a real calendar date.
func validDate(y, m, d int) bool {
	if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// dateOf truncates a vTime to its day.
func dateOf(micros int64) int64 {
	if micros == zeroTime {
		return zeroTime
	}
	d := micros / microsPerDay
	if micros%microsPerDay < 0 {
		d--
	}
	return d * microsPerDay
}

// formatDateTime formats a vTime as MySQL prints a DATE (withTime false) or
// a DATETIME/TIMESTAMP with fsp fractional digits.
func formatDateTime(micros int64, withTime bool, fsp int) string {
	if micros == zeroTime {
		if !withTime {
			return "0000-00-00"
		}
		return "0000-00-00 00:00:00" + fracZeros(fsp)
	}
	t := time.UnixMicro(micros).UTC()
	if !withTime {
		return t.Format("2006-01-02")
	}
	s := t.Format("2006-01-02 15:04:05")
	if fsp > 0 {
		s += "." + fmt.Sprintf("%06d", t.Nanosecond()/1000)[:fsp]
	}
	return s
}

// formatTime formats a TIME as MySQL prints it with fsp fractional digits.
func formatTime(micros int64, fsp int) string {
	sign := ""
	if micros < 0 {
		sign, micros = "-", -micros
	}
	secs := micros / 1_000_000
	s := fmt.Sprintf("%s%02d:%02d:%02d", sign, secs/3600, secs/60%60, secs%60)
	if fsp > 0 {
		s += "." + fmt.Sprintf("%06d", micros%1_000_000)[:fsp]
	}
	return s
}

func fracZeros(fsp int) string {
	if fsp == 0 {
		return ""
	}
	return "." + strings.Repeat("0", fsp)
}

// quote writes a string as an SQL literal for messages.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
