package testenv

// Fixtures shared by the tests of several packages.

// AllTypesDDL creates the table all_types, with a column of every MySQL
// type Syncline carries (docs/events.md), in the current database.
const AllTypesDDL = "CREATE TABLE all_types (" +
	"id INT NOT NULL PRIMARY KEY," +
	"ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED," +
	"mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED," +
	"bi BIGINT, biu BIGINT UNSIGNED, bo BOOL, izf INT(5) UNSIGNED ZEROFILL," +
	"dc DECIMAL(10,2), dbig DECIMAL(65,30), du DECIMAL(5,0) UNSIGNED," +
	"f FLOAT, d DOUBLE," +
	"b1 BIT(1), b5 BIT(5), b64 BIT(64)," +
	"c CHAR(3), cl CHAR(5) CHARACTER SET latin1, c255 CHAR(255)," +
	"vc VARCHAR(20), vcl VARCHAR(20) CHARACTER SET latin1, vca VARCHAR(10) CHARACTER SET ascii," +
	"vc3 VARCHAR(10) CHARACTER SET utf8mb3, vc300 VARCHAR(300)," +
	"tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT CHARACTER SET latin1," +
	"bn BINARY(4), vb VARBINARY(10), tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB," +
	"e ENUM('a','b''c','d\\\\e','é'), s SET('x','y','z')," +
	"j JSON," +
	"dt DATE, dtm DATETIME(6), dtm0 DATETIME, dtnn DATETIME(3) NOT NULL DEFAULT '2000-01-01 00:00:00'," +
	"ts TIMESTAMP(3) NULL, ts0 TIMESTAMP NULL," +
	"tm TIME(6), tm0 TIME, tm2 TIME(2), yr YEAR," +
	"g GEOMETRY, p POINT," +
	"`odd col-name` INT, `1st` INT" +
	") DEFAULT CHARSET=utf8mb4"

// AllTypesRows fills all_types with extreme, empty, NULL and zero-date
// values (the zero dates need sql_mode without NO_ZERO_DATE).
var AllTypesRows = []string{
	"INSERT INTO all_types VALUES (1," +
		"127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295," +
		"9223372036854775807, 18446744073709551615, 1, 42," +
		"12345678.91, 12345678901234567890123456789012345.123456789012345678901234567890, 42," +
		"1.2345678, 0.1e0+0.2e0," +
		"b'1', b'10101', b'1111111111111111111111111111111111111111111111111111111111111111'," +
		"'ab ', 'é ', 'x'," +
		"'😀 emoji', 'café €', 'plain', 'ñandú', REPEAT('a', 300)," +
		"'tiny', 'text ✓', 'medium', 'Grüße'," +
		"X'01020000', X'00FF00', X'', X'DEADBEEF', 'm', X'00'," +
		"'b''c', 'z,x'," +
		"'{\"a\": [1, 2.50, \"x\"]}'," +
		"'2024-02-29', '2024-02-29 13:14:15.123456', '1969-12-31 23:59:59', '2000-01-01 00:00:00.500'," +
		"'2024-02-29 13:14:15.123', '2038-01-19 03:14:07'," +
		"'838:59:59.000000', '-838:59:59', '-00:00:01.50', 2024," +
		"ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(1 2)')," +
		"7, 8)",
	"INSERT INTO all_types VALUES (2," +
		"-128, 0, -32768, 0, -8388608, 0, -2147483648, 0," +
		"-9223372036854775808, 0, 0, 0," +
		"-0.01, -99999999999999999999999999999999999.999999999999999999999999999999, 0," +
		"-3.4028234e38, -1.7976931348623157e308," +
		"b'0', b'00001', X'8000000000000000'," +
		"'', '', ''," +
		"'', X'80818D8F909DFF', '', '', ''," +
		"'', '', '', ''," +
		"X'00000000', X'', X'00', X'', X'', X''," +
		"'nope', ''," +
		"'[]'," +
		"'0000-00-00', '0000-00-00 00:00:00', '2024-00-15 10:00:00', '0000-00-00 00:00:00'," +
		"'0000-00-00 00:00:00', '1970-01-01 00:00:01'," +
		"'-838:59:59.000000', '00:00:00', '-00:00:00.01', 0," +
		"ST_GeomFromText('LINESTRING(0 0,1 1)'), ST_GeomFromText('POINT(-1.5 0)')," +
		"-1, 0)",
	"INSERT INTO all_types (id) VALUES (3)",
	"INSERT INTO all_types (id, dt, dtm, tm, tm2, yr) VALUES (4, '2024-02-00', '2024-02-30 00:00:00', '-00:00:00.000001', '00:00:00.99', 1901)",
}
