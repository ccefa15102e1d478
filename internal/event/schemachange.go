package event

import (
	"time"

	"github.com/syncline/syncline/schema"
)

// DDL kinds of schema-change events (docs/events.md).
const (
	DDLCreateTable    = "create_table"
	DDLDropTable      = "drop_table"
	DDLTruncateTable  = "truncate_table"
	DDLRenameTable    = "rename_table"
	DDLAlterTable     = "alter_table"
	DDLCreateDatabase = "create_database"
	DDLDropDatabase   = "drop_database"
	DDLOther          = "other"
)

// SchemaChange is one decoded schema-change event.
type SchemaChange struct {
	// Version is the event's ordering version; rows with a lower version
	// were written before the statement.
	Version int64
	// Database and Table name what the statement changes; Table is empty
	// for database statements.
	Database, Table string
	// Kind is one of the DDL kinds (DDLAlterTable, ...).
	Kind string
	// DDL is the statement as the source logged it.
	DDL string
	// NewDatabase and NewTable are the new name of a rename_table.
	NewDatabase, NewTable string
	// RenamedColumns maps old to new column names of an alter_table.
	RenamedColumns map[string]string
	// Columns is the table's column list after the statement (create,
	// alter and rename), without key; nil when the event has none.
	Columns []schema.Column
	// SourceTS is the source commit time of the statement.
	SourceTS time.Time
}
