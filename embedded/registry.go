package embedded

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// maxRequestBytes bounds the body of a registry request.
const maxRequestBytes = 8 << 20

// Registry is a Confluent-compatible schema registry whose schema ids survive
// a restart. It serves franz-go's in-memory srfake registry and appends every
// request that changed it (a new registration, a deletion, a config or mode
// change) to a log file; opening the log replays those requests in order,
// and since srfake hands out ids deterministically every schema gets its old
// id back. Each replayed registration is checked against the id recorded
// when it was first made, so a log that no longer reproduces its ids is an
// error rather than silently different ids.
//
// srfake never rejects a schema as incompatible.
type Registry struct {
	fake *srfake.Registry
	path string

	mu      sync.Mutex // serializes changes, so the log holds them in order
	log     *os.File
	entries int
	known   map[string]bool // subject + "\x00" + id of registrations logged
}

// logEntry is one line of the registry log: a request that changed the
// registry, and for a registration the id it returned.
type logEntry struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query,omitempty"`
	Body   string `json:"body,omitempty"`
	ID     int    `json:"id,omitempty"`
}

// OpenRegistry opens the registry logged at path (created if missing) and
// replays its log. A torn last line, left by a crash while it was written, is
// dropped.
func OpenRegistry(path string) (*Registry, error) {
	r := &Registry{fake: srfake.NewRegistry(), path: path, known: map[string]bool{}}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("schema registry log: %w", err)
	}
	good := 0 // bytes of data made of whole, valid lines
	for line := range bytes.Lines(data) {
		if !bytes.HasSuffix(line, []byte("\n")) {
			break
		}
		var e logEntry
		if err := json.Unmarshal(line, &e); err != nil {
			if good+len(line) == len(data) {
				break // torn last line
			}
			return nil, fmt.Errorf("schema registry log %s, entry %d: %w", path, r.entries+1, err)
		}
		if err := r.replay(e); err != nil {
			return nil, fmt.Errorf("schema registry log %s, entry %d: %w", path, r.entries+1, err)
		}
		r.entries++
		good += len(line)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("schema registry log: %w", err)
	}
	if err := f.Truncate(int64(good)); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("schema registry log: %w", err)
	}
	if _, err := f.Seek(int64(good), io.SeekStart); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("schema registry log: %w", err)
	}
	r.log = f
	return r, nil
}

// replay applies one logged request to the fake registry.
func (r *Registry) replay(e logEntry) error {
	req, err := http.NewRequest(e.Method, e.Path, strings.NewReader(e.Body))
	if err != nil {
		return err
	}
	req.URL.RawQuery = e.Query
	if e.Body != "" {
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	}
	rec := httptest.NewRecorder()
	r.fake.Handler().ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		return fmt.Errorf("%s %s: status %d: %s", e.Method, e.Path, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	if req.Method == http.MethodDelete {
		clear(r.known)
	}
	if subject, ok := registrationSubject(req); ok {
		id, err := responseID(rec.Body.Bytes())
		if err != nil {
			return err
		}
		if id != e.ID {
			return fmt.Errorf("registration under %s gave schema id %d, but it had id %d when it was made", subject, id, e.ID)
		}
		r.known[subject+"\x00"+fmt.Sprint(id)] = true
	}
	return nil
}

// Handler returns the registry's HTTP handler (the Confluent REST API).
func (r *Registry) Handler() http.Handler { return http.HandlerFunc(r.serve) }

// Len returns the number of changes in the log.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.entries
}

// Close closes the log.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.log == nil {
		return nil
	}
	err := r.log.Close()
	r.log = nil
	return err
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	if !changes(req) {
		r.fake.Handler().ServeHTTP(w, req)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxRequestBytes))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.log == nil {
		http.Error(w, "schema registry is closed", http.StatusServiceUnavailable)
		return
	}
	rec := httptest.NewRecorder()
	r.fake.Handler().ServeHTTP(rec, req)
	if rec.Code/100 == 2 {
		if err := r.record(req, body, rec.Body.Bytes()); err != nil {
			// The change is in memory but not on disk: refuse it, so
			// the client retries rather than relies on it.
			http.Error(w, "schema registry log: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// record appends a successful change to the log and syncs it. Registering a
// schema the subject already holds changes nothing and is not logged.
func (r *Registry) record(req *http.Request, body, resp []byte) error {
	e := logEntry{Method: req.Method, Path: req.URL.EscapedPath(), Query: req.URL.RawQuery, Body: string(body)}
	subject, isRegistration := registrationSubject(req)
	var known string
	if isRegistration {
		id, err := responseID(resp)
		if err != nil {
			return err
		}
		known = subject + "\x00" + fmt.Sprint(id)
		if r.known[known] {
			return nil
		}
		e.ID = id
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(r.log)
	_, _ = w.Write(line)
	_ = w.WriteByte('\n')
	if err := w.Flush(); err != nil {
		return err
	}
	if err := r.log.Sync(); err != nil {
		return err
	}
	r.entries++
	if isRegistration {
		r.known[known] = true
	}
	if req.Method == http.MethodDelete {
		// A schema deleted and registered again must be logged again.
		clear(r.known)
	}
	return nil
}

// changes reports whether a request may change the registry. Lookups
// (POST /subjects/{subject}) and compatibility checks only read it.
func changes(req *http.Request) bool {
	switch req.Method {
	case http.MethodPut, http.MethodDelete:
		return true
	case http.MethodPost:
		_, ok := registrationSubject(req)
		return ok
	}
	return false
}

// registrationSubject returns the subject of POST /subjects/{subject}/versions.
func registrationSubject(req *http.Request) (string, bool) {
	if req.Method != http.MethodPost {
		return "", false
	}
	rest, ok := strings.CutPrefix(req.URL.Path, "/subjects/")
	if !ok {
		return "", false
	}
	subject, ok := strings.CutSuffix(rest, "/versions")
	if !ok || subject == "" || strings.Contains(subject, "/") {
		return "", false
	}
	return subject, true
}

// responseID reads the id of a registration's response.
func responseID(resp []byte) (int, error) {
	var v struct {
		ID int `json:"id"`
	}
	if err := json.Unmarshal(resp, &v); err != nil || v.ID == 0 {
		return 0, fmt.Errorf("registration response %q has no schema id", strings.TrimSpace(string(resp)))
	}
	return v.ID, nil
}
