// Package ddlcorpus reads capture/testdata/ddl_corpus.sql, the DDL corpus
// that capture's and apply's tests run on the source. Only tests import it.
package ddlcorpus

import (
	"fmt"
	"os"
	"strings"
)

// Statement is one statement of the corpus and what capture must do with
// it (the text after "-- @", see the file's header).
type Statement struct {
	Line   int
	SQL    string
	Expect string
}

// Read reads the corpus at path with its placeholders filled by fill.
func Read(path string, fill *strings.Replacer) ([]Statement, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Statement
	var cur *Statement
	for i, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "-- @"):
			rest := strings.TrimPrefix(line, "-- @")
			out = append(out, Statement{Line: i + 1, Expect: strings.TrimSpace(rest)})
			cur = &out[len(out)-1]
		case strings.HasPrefix(line, "#"):
		case cur != nil:
			cur.SQL += line + "\n"
		}
	}
	for i := range out {
		out[i].SQL = fill.Replace(strings.TrimSpace(out[i].SQL))
		if out[i].SQL == "" {
			return nil, fmt.Errorf("%s:%d: no statement", path, out[i].Line)
		}
	}
	return out, nil
}
