package event

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// Registry is a Confluent-compatible schema registry client with an
// in-memory cache: each new (subject, schema) pair costs one registration
// request, each schema id one look-up, for the life of the Registry. It is
// safe for concurrent use; concurrent calls for the same key share one
// request.
type Registry struct {
	client *sr.Client

	mu         sync.Mutex
	registered map[registerKey]*call // by subject and full schema JSON
	byID       map[int]*call
	codecs     map[int]*Codec
}

type registerKey struct {
	subject string
	schema  string
}

// call is one registry request, shared by the callers that wait for it.
type call struct {
	done   chan struct{}
	id     int
	schema avro.Schema
	err    error
}

// NewRegistry returns a Registry using client.
func NewRegistry(client *sr.Client) *Registry {
	return &Registry{client: client, registered: map[registerKey]*call{}, byID: map[int]*call{}, codecs: map[int]*Codec{}}
}

// Register registers s under subject (as Avro) and returns its schema id.
//
// The cache key is the schema's full JSON, properties included, not its
// Parsing Canonical Form: the canonical form drops the mysql.* properties, so
// a type change that keeps the Avro type (varchar(20) to varchar(30)) would
// otherwise reuse the id of a schema that describes the old type.
func (r *Registry) Register(ctx context.Context, subject string, s avro.Schema) (int, error) {
	text, err := json.Marshal(s)
	if err != nil {
		return 0, fmt.Errorf("register schema for %s: marshal: %w", subject, err)
	}
	key := registerKey{subject: subject, schema: string(text)}
	c, leader := join(r, r.registered, key)
	if leader {
		c.id, c.err = r.client.RegisterSchema(ctx, subject, sr.Schema{Schema: key.schema, Type: sr.TypeAvro}, -1, -1)
		if c.err != nil {
			c.err = fmt.Errorf("register schema for %s: %w", subject, c.err)
		} else {
			c.schema = s
		}
		finish(r, r.registered, key, c)
		if c.err == nil {
			r.remember(c.id, s)
		}
	}
	if err := wait(ctx, c); err != nil {
		return 0, err
	}
	return c.id, nil
}

// Schema returns the schema registered with id, parsed.
func (r *Registry) Schema(ctx context.Context, id int) (avro.Schema, error) {
	c, leader := join(r, r.byID, id)
	if leader {
		var text sr.Schema
		text, c.err = r.client.SchemaByID(ctx, id)
		if c.err == nil {
			// A fresh cache per parse: named types of different schemas
			// (every table's Value) must not leak into each other.
			c.schema, c.err = avro.ParseWithCache(text.Schema, "", &avro.SchemaCache{})
		}
		if c.err != nil {
			c.err = fmt.Errorf("schema %d from registry: %w", id, c.err)
		}
		c.id = id
		finish(r, r.byID, id, c)
	}
	if err := wait(ctx, c); err != nil {
		return nil, err
	}
	return c.schema, nil
}

// remember caches the schema of an id learned by registering it.
func (r *Registry) remember(id int, s avro.Schema) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byID[id]; !ok {
		c := &call{done: make(chan struct{}), id: id, schema: s}
		close(c.done)
		r.byID[id] = c
	}
}

// join returns the call for key, creating it when there is none (leader).
func join[K comparable](r *Registry, m map[K]*call, key K) (*call, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := m[key]; ok {
		return c, false
	}
	c := &call{done: make(chan struct{})}
	m[key] = c
	return c, true
}

// finish publishes the result of a leader's call; a failed call is
// forgotten so that a later call retries.
func finish[K comparable](r *Registry, m map[K]*call, key K, c *call) {
	r.mu.Lock()
	if c.err != nil {
		delete(m, key)
	}
	r.mu.Unlock()
	close(c.done)
}

// wait waits for c or for the end of ctx.
func wait(ctx context.Context, c *call) error {
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
