package event

import (
	"context"

	"github.com/hamba/avro/v2"
)

// Codec encodes and decodes values of one schema through a hamba API of its
// own. hamba caches codecs by schema fingerprint, and the fingerprint of the
// envelope's ["null", Value] union, whose Value is a named reference, is the
// same in every version of a table: versions sharing hamba's default API
// would encode and decode with each other's codecs. Use a Codec per schema
// version, never avro.Marshal or avro.Unmarshal, for table schemas.
type Codec struct {
	Schema avro.Schema
	api    avro.API
}

// NewCodec returns a Codec for s.
func NewCodec(s avro.Schema) *Codec {
	return &Codec{Schema: s, api: avro.Config{}.Freeze()}
}

// Marshal encodes v with the codec's schema.
func (c *Codec) Marshal(v any) ([]byte, error) { return c.api.Marshal(c.Schema, v) }

// Unmarshal decodes data, written with the codec's schema, into v.
func (c *Codec) Unmarshal(data []byte, v any) error { return c.api.Unmarshal(c.Schema, data, v) }

// Codec returns the Codec of the schema registered with id.
func (r *Registry) Codec(ctx context.Context, id int) (*Codec, error) {
	s, err := r.Schema(ctx, id)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.codecs[id]
	if c == nil {
		c = NewCodec(s)
		r.codecs[id] = c
	}
	return c, nil
}
