package event

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/sr"
)

// AppendFrame appends the Confluent wire-format header (magic byte 0 and the
// 4-byte schema id) for schema id to b.
func AppendFrame(b []byte, id int) []byte {
	var h sr.ConfluentHeader
	out, err := h.AppendEncode(b, id, nil)
	if err != nil {
		// Only a non-empty index (Protobuf) can fail; Avro has none.
		panic(fmt.Sprintf("topics: confluent header: %v", err))
	}
	return out
}

// ParseFrame splits a Confluent-framed message into its schema id and body.
func ParseFrame(b []byte) (id int, body []byte, err error) {
	var h sr.ConfluentHeader
	id, body, err = h.DecodeID(b)
	if err != nil {
		return 0, nil, fmt.Errorf("not a Confluent wire-format message: %w", err)
	}
	return id, body, nil
}
