// Package event is the one home of Syncline's event format, the contract
// between capture and apply described in docs/events.md: topic names and
// registry subjects (Names, KeySubject, ValueSubject), the Confluent wire
// frame (AppendFrame, ParseFrame), the Avro schemas of the key, the change
// envelope, the io.syncline.Source record and schema-change events
// (KeySchema, ValueSchema, EnvelopeSchema, SourceSchema,
// SchemaChangeSchema), the allocation-free Encoder that capture writes with,
// the decoder that apply reads with (EnvelopeCodec, SchemaChangeCodec), and
// the schema-registry cache (Registry).
//
// What it guarantees:
//   - the Encoder's bytes are exactly what hamba/avro writes for the same
//     schemas and values, so every Avro reader of the registered schemas reads
//     them;
//   - a row encoded and decoded again gives back its values in the forms of
//     docs/events.md, "Go values" (package schema), zero-date sentinels
//     included (roundtrip_test.go checks every type of the all-types and
//     mariadb_types fixtures);
//   - each record is read with the schema it was written with (the frame's
//     schema id), so old records stay readable after a table's shape changes.
//
// The package depends on the table model (package schema) and on Avro and
// the registry client, never on a MySQL driver: turning MySQL's binlog and
// text-protocol values into these values is the source side's job (package
// internal/source/mysqlvalue).
package event
