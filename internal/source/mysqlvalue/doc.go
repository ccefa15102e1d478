// Package mysqlvalue is the MySQL side of the event values: it reads a
// table's model from information_schema (LoadTable) or from a binlog
// TableMap event (FromTableMap), converts the rows go-mysql's replication
// package decodes (BinlogValues) and the rows of the text protocol
// (TextValues, with the select list schema.Table.SelectList) into the Go
// values of package schema that the event Encoder takes, and encodes
// text-protocol rows straight into Avro (TextEncoder, capture's snapshot
// fast path). Charsets other than UTF-8 are converted here.
//
// It is the only package of Syncline that depends on go-mysql's replication
// package; the targets and the event format do not.
package mysqlvalue
