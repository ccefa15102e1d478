// Package words holds the small wording helpers that the command-line
// reports (precheck, status, verify, syncline's own messages) share.
package words

import "strconv"

// Plural writes n and the noun, in the plural unless n is 1: "1 table",
// "3 tables".
func Plural[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(int64(n), 10) + " " + many
}
