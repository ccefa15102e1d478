package capture

import (
	"context"
	"log/slog"
)

// binlogLogHandler is the handler of the logger capture gives go-mysql. It
// drops the settings dump go-mysql logs at INFO whenever it opens a binlog
// connection (a struct printed with pointer addresses, of no use to a
// user) and passes every other record, warnings and errors included.
type binlogLogHandler struct{ slog.Handler }

// binlogSettingsMessage is the message of go-mysql's settings dump.
const binlogSettingsMessage = "create BinlogSyncer"

func (h binlogLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level <= slog.LevelInfo && r.Message == binlogSettingsMessage {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h binlogLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return binlogLogHandler{h.Handler.WithAttrs(attrs)}
}

func (h binlogLogHandler) WithGroup(name string) slog.Handler {
	return binlogLogHandler{h.Handler.WithGroup(name)}
}

// binlogLogger returns the logger for go-mysql: log's, without the
// settings dump.
func binlogLogger(log *slog.Logger) *slog.Logger {
	return slog.New(binlogLogHandler{log.Handler()}).With("part", "binlog")
}
