package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// didYouMean returns " (did you mean X?)" for the candidate closest to a
// mistyped name, or "" when none is close.
func didYouMean(typed string, candidates []string) string {
	return didYouMeanAs("", typed, candidates)
}

// didYouMeanAs is didYouMean with the suggestion written as prefix+name.
func didYouMeanAs(prefix, typed string, candidates []string) string {
	best, bestDist := "", 0
	var prefixed []string
	for _, c := range candidates {
		if typed != "" && strings.HasPrefix(c, typed) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return " (did you mean " + prefix + prefixed[0] + "?)"
	}
	for _, c := range candidates {
		d := editDistance(strings.ToLower(typed), strings.ToLower(c))
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	// Close: a slip of a letter or two, more for long names; or a prefix.
	limit := max(1, min(3, len(typed)/3))
	if best == "" || bestDist > limit || typed == "" {
		return ""
	}
	return " (did you mean " + prefix + best + "?)"
}

// commandNames lists the names of commands.
func commandNames(cmds []*cli.Command) []string {
	var out []string
	for _, c := range cmds {
		if !c.Hidden {
			out = append(out, c.Name)
		}
	}
	return out
}

// flagsOf lists the names of the flags of the command c runs (of
// syncline itself at the top level).
func flagsOf(c *cli.Context) []string {
	flags := c.App.Flags
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		flags = c.Command.Flags
	}
	var out []string
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		out = append(out, f.Names()...)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, with a swap of
// two neighbouring letters counted as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
