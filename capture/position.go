package capture

import (
	"fmt"
	"strconv"
	"strings"
)

// position is a place in the source's binlog.
type position struct {
	File string
	Pos  uint32
}

func (p position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Pos) }

// fileIndex returns the numeric suffix of a binlog file name:
// mysql-bin.000042 gives 42.
func fileIndex(name string) (uint64, error) {
	dot := strings.LastIndexByte(name, '.')
	n, err := strconv.ParseUint(name[dot+1:], 10, 31)
	if err != nil {
		return 0, fmt.Errorf("binlog file name %q has no numeric suffix", name)
	}
	return n, nil
}

// less orders positions of one server's binlog.
func (p position) less(q position) bool {
	pi, _ := fileIndex(p.File)
	qi, _ := fileIndex(q.File)
	if pi != qi {
		return pi < qi
	}
	return p.Pos < q.Pos
}

// version is the ordering version of docs/events.md for an offset inside the
// binlog: fileIndex << 32 | offset.
func version(file string, offset uint32) (int64, error) {
	idx, err := fileIndex(file)
	if err != nil {
		return 0, err
	}
	return int64(idx<<32 | uint64(offset)), nil
}

// parsePosition reads a position written as String writes it: FILE:POS.
func parsePosition(s string) (position, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return position{}, fmt.Errorf("%q is not a binlog position FILE:POS", s)
	}
	if _, err := fileIndex(s[:i]); err != nil {
		return position{}, fmt.Errorf("%q is not a binlog position FILE:POS: %w", s, err)
	}
	n, err := strconv.ParseUint(s[i+1:], 10, 32)
	if err != nil {
		return position{}, fmt.Errorf("%q is not a binlog position FILE:POS: %v", s, err)
	}
	return position{s[:i], uint32(n)}, nil
}
