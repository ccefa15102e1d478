package console

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// tokenHeader carries the page's token on every change.
const tokenHeader = "X-Syncline-Token"

// Handler returns the console's HTTP handler: the page, its assets,
// GET /api/task, and with Config.Changes the POSTs that change the task.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /app.js", asset("assets/app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /style.css", asset("assets/style.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /api/task", s.apiTask)
	mux.HandleFunc("POST /api/tables/add", s.change(func(ctx context.Context, req changeRequest) (string, error) {
		return s.cfg.Changes.AddTables(ctx, req.Tables)
	}))
	mux.HandleFunc("POST /api/tables/remove", s.change(func(ctx context.Context, req changeRequest) (string, error) {
		return s.cfg.Changes.RemoveTables(ctx, req.Tables)
	}))
	mux.HandleFunc("POST /api/stop", s.change(func(ctx context.Context, _ changeRequest) (string, error) {
		return s.cfg.Changes.Stop(ctx)
	}))
	return localOnly(mux)
}

// localOnly refuses requests whose Host is a name other than localhost: a
// page of another site that re-points its own name at this address (DNS
// rebinding) cannot read the console.
func localOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if host != "localhost" && net.ParseIP(host) == nil {
			http.Error(w, "console: open it by IP address or localhost", http.StatusForbidden)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

func asset(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		b, err := assets.ReadFile(name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(b)
	}
}

// page serves the HTML page with this process's token in it.
func (s *Server) page(w http.ResponseWriter, _ *http.Request) {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b = bytes.ReplaceAll(b, []byte("{{TOKEN}}"), []byte(s.token))
	b = bytes.ReplaceAll(b, []byte("{{TASK}}"), []byte(htmlEscape(s.cfg.Task)))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	_, _ = w.Write(b)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}

func (s *Server) apiTask(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.current())
}

// changeRequest is the body of a change.
type changeRequest struct {
	Tables []string `json:"tables"`
}

// changeReply answers a change.
type changeReply struct {
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

// change returns the handler of one change: it refuses when changes are
// off, without the page's token, or from another origin, then runs do and
// takes a new sample.
func (s *Server) change(do func(context.Context, changeRequest) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Changes == nil {
			writeJSON(w, http.StatusForbidden, changeReply{Error: "this console is read-only; start it with --allow-changes to change the task"})
			return
		}
		if err := s.checkOrigin(r); err != nil {
			writeJSON(w, http.StatusForbidden, changeReply{Error: err.Error()})
			return
		}
		var req changeRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, changeReply{Error: "console: the request body is not JSON: " + err.Error()})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
		defer cancel()
		msg, err := do(ctx, req)
		if err != nil {
			s.log.Warn("console change refused", "path", r.URL.Path, "err", err)
			writeJSON(w, http.StatusConflict, changeReply{Error: err.Error()})
			return
		}
		s.log.Info("console change", "path", r.URL.Path, "tables", req.Tables)
		select {
		case s.kick <- struct{}{}:
		default:
		}
		writeJSON(w, http.StatusOK, changeReply{Message: msg})
	}
}

// checkOrigin accepts a POST only with the page's token, as JSON, and from
// the page's own origin when the browser names one.
func (s *Server) checkOrigin(r *http.Request) error {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(tokenHeader)), []byte(s.token)) != 1 {
		return fmt.Errorf("console: missing or wrong %s; reload the page", tokenHeader)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("console: send JSON (Content-Type application/json), not %q", ct)
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return fmt.Errorf("console: a change must come from the console's own page (Sec-Fetch-Site %s)", site)
	}
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host && o != "https://"+r.Host {
		return fmt.Errorf("console: a change must come from the console's own page, not %s", o)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
