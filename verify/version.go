package verify

import (
	"fmt"
	"strconv"
	"strings"
)

// binlogVersion is the ordering version of docs/events.md ("The ordering
// version") of a snapshot taken at binlog position file:pos:
//
//	version = fileIndex << 32 | pos
//
// where fileIndex is the numeric suffix of the binlog file name. It is the
// version capture gives the snapshot reads (r events) of that snapshot, so a
// repaired row wins over every change the snapshot contains and loses to
// every later one. The formula is part of the event contract; capture's
// copy is capture/position.go.
func binlogVersion(file string, pos uint64) (int64, error) {
	dot := strings.LastIndexByte(file, '.')
	idx, err := strconv.ParseUint(file[dot+1:], 10, 31)
	if err != nil {
		return 0, fmt.Errorf("binlog file name %q has no numeric suffix", file)
	}
	if pos > 1<<32-1 {
		return 0, fmt.Errorf("binlog position %d beyond 32 bits", pos)
	}
	return int64(idx<<32 | pos), nil
}
