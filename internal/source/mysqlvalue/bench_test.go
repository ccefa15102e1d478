package mysqlvalue

import (
	"github.com/syncline/syncline/internal/event/eventtest"
	"strconv"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// benchTextRows returns the benchmark rows as the text protocol gives them:
// go-mysql's RowData.ParseText of each row packet, as ExecuteSelectStreaming
// hands them to its callback.
func benchTextRows(tb testing.TB) [][]mysql.FieldValue {
	tb.Helper()
	var fields []*mysql.Field
	for _, typ := range []byte{mysql.MYSQL_TYPE_LONGLONG, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONG,
		mysql.MYSQL_TYPE_NEWDECIMAL, mysql.MYSQL_TYPE_DOUBLE, mysql.MYSQL_TYPE_VAR_STRING, mysql.MYSQL_TYPE_VAR_STRING,
		mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_DATE} {
		fields = append(fields, &mysql.Field{Type: typ})
	}
	var rows [][]mysql.FieldValue
	for _, id := range eventtest.BenchIDs() {
		r := eventtest.MakeBenchRow(id)
		var packet []byte
		for _, s := range []string{strconv.FormatInt(r.ID, 10), strconv.FormatInt(r.Account, 10), strconv.FormatInt(r.Qty, 10),
			r.Amount, strconv.FormatFloat(r.Score, 'g', -1, 64), r.Name} {
			packet = append(packet, mysql.PutLengthEncodedString([]byte(s))...)
		}
		if r.Note == nil {
			packet = append(packet, 0xfb)
		} else {
			packet = append(packet, mysql.PutLengthEncodedString([]byte(*r.Note))...)
		}
		for _, s := range []string{strconv.FormatInt(r.Status, 10), r.Created, r.Day} {
			packet = append(packet, mysql.PutLengthEncodedString([]byte(s))...)
		}
		row, err := mysql.RowData(packet).ParseText(fields, nil)
		if err != nil {
			tb.Fatal(err)
		}
		rows = append(rows, row)
	}
	return rows
}

// BenchmarkBinlogRow converts the bench table's binlog rows to maps.
func BenchmarkBinlogRow(b *testing.B) {
	tbl, rows := eventtest.BenchTableShape(), eventtest.BenchBinlogRows()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := BinlogRow(tbl, rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkBinlogValues is capture's conversion of a binlog row.
func BenchmarkBinlogValues(b *testing.B) {
	tbl, rows := eventtest.BenchTableShape(), eventtest.BenchBinlogRows()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := BinlogValues(tbl, rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkTextValues is the snapshot's conversion of a text-protocol row.
func BenchmarkTextValues(b *testing.B) {
	tbl, rows := eventtest.BenchTableShape(), benchTextRows(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := TextValues(tbl, rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
