package capture

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // literal values in parsed DDL
)

// DDL kinds of schema-change events (docs/events.md).
const (
	ddlCreateTable    = "create_table"
	ddlDropTable      = "drop_table"
	ddlTruncateTable  = "truncate_table"
	ddlRenameTable    = "rename_table"
	ddlAlterTable     = "alter_table"
	ddlCreateDatabase = "create_database"
	ddlDropDatabase   = "drop_database"
	ddlOther          = "other"
)

// ddlChange is what one DDL statement does to one table or database.
type ddlChange struct {
	kind     string
	db       string
	table    string
	newDB    string
	newTable string
	renamed  map[string]string
}

// parseDDL parses a statement logged by the source with the full MySQL
// parser; defaultDB is the session's database, used for unqualified names.
// MariaDB syntax it does not know is read by classifyDDL instead, which
// also decides first whether a statement needs parsing at all.
func parseDDL(p *parser.Parser, defaultDB, query string) ([]ddlChange, error) {
	stmts, _, err := p.Parse(query, "", "")
	if err != nil {
		return nil, err
	}
	qualify := func(t *ast.TableName) (string, string) {
		if t.Schema.O != "" {
			return t.Schema.O, t.Name.O
		}
		return defaultDB, t.Name.O
	}
	var out []ddlChange
	for _, st := range stmts {
		switch s := st.(type) {
		case *ast.CreateTableStmt:
			db, t := qualify(s.Table)
			out = append(out, ddlChange{kind: ddlCreateTable, db: db, table: t})
		case *ast.DropTableStmt:
			if s.IsView {
				continue
			}
			for _, tn := range s.Tables {
				db, t := qualify(tn)
				out = append(out, ddlChange{kind: ddlDropTable, db: db, table: t})
			}
		case *ast.TruncateTableStmt:
			db, t := qualify(s.Table)
			out = append(out, ddlChange{kind: ddlTruncateTable, db: db, table: t})
		case *ast.RenameTableStmt:
			for _, tt := range s.TableToTables {
				db, t := qualify(tt.OldTable)
				ndb, nt := qualify(tt.NewTable)
				out = append(out, ddlChange{kind: ddlRenameTable, db: db, table: t, newDB: ndb, newTable: nt})
			}
		case *ast.AlterTableStmt:
			db, t := qualify(s.Table)
			c := ddlChange{kind: ddlAlterTable, db: db, table: t, renamed: map[string]string{}}
			var rename *ddlChange
			for _, spec := range s.Specs {
				switch spec.Tp {
				case ast.AlterTableRenameColumn:
					c.renamed[spec.OldColumnName.Name.O] = spec.NewColumnName.Name.O
				case ast.AlterTableChangeColumn:
					if len(spec.NewColumns) == 1 && spec.OldColumnName != nil &&
						!strings.EqualFold(spec.OldColumnName.Name.O, spec.NewColumns[0].Name.Name.O) {
						c.renamed[spec.OldColumnName.Name.O] = spec.NewColumns[0].Name.Name.O
					}
				case ast.AlterTableRenameTable:
					ndb, nt := qualify(spec.NewTable)
					rename = &ddlChange{kind: ddlRenameTable, db: db, table: t, newDB: ndb, newTable: nt}
				}
			}
			out = append(out, c)
			if rename != nil {
				out = append(out, *rename)
			}
		case *ast.CreateDatabaseStmt:
			out = append(out, ddlChange{kind: ddlCreateDatabase, db: s.Name.O})
		case *ast.DropDatabaseStmt:
			out = append(out, ddlChange{kind: ddlDropDatabase, db: s.Name.O})
		default:
			out = append(out, ddlChange{kind: ddlOther, db: defaultDB})
		}
	}
	return out, nil
}
