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

// MariaDBTypesDDL creates the table mariadb_types, with MariaDB's own
// column types (UUID, INET4, INET6; MariaDB 10.10 or later) and every
// spatial type, in the current database. It is apart from all_types so that
// all_types stays valid on MySQL and older MariaDB servers.
const MariaDBTypesDDL = "CREATE TABLE mariadb_types (" +
	"id INT NOT NULL PRIMARY KEY," +
	"u UUID, unn UUID NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000'," +
	"i4 INET4, i6 INET6, b16 BINARY(16)," +
	"g GEOMETRY, pt POINT, ls LINESTRING, pg POLYGON," +
	"mpt MULTIPOINT, mls MULTILINESTRING, mpg MULTIPOLYGON, gc GEOMETRYCOLLECTION" +
	") DEFAULT CHARSET=utf8mb4"

// MariaDBTypesRows fills mariadb_types: the nil, a time-based (v1), a
// random (v4) and the max UUID; INET4 0.0.0.0 and 255.255.255.255; INET6
// ::, ::1, an IPv4-mapped, an IPv4-compatible, a full address and ones
// whose text form MariaDB writes its own way; a BINARY(16) beside them that
// must stay bytes; a value of every spatial type; NULLs.
var MariaDBTypesRows = []string{
	"INSERT INTO mariadb_types VALUES (1," +
		"'00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'," +
		"'0.0.0.0', '::', X'00112233445566778899AABBCCDDEE00'," +
		"ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(-1.5 1e300)')," +
		"ST_GeomFromText('LINESTRING(0 0,1 1,2 0)'), ST_GeomFromText('POLYGON((0 0,4 0,4 4,0 4,0 0),(1 1,2 1,2 2,1 1))')," +
		"ST_GeomFromText('MULTIPOINT(0 0,1 1)'), ST_GeomFromText('MULTILINESTRING((0 0,1 1),(2 2,3 3))')," +
		"ST_GeomFromText('MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))')," +
		"ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1 1))'))",
	"INSERT INTO mariadb_types (id, u, unn, i4, i6, b16, g) VALUES (2," +
		"'6ccd780c-baba-1026-9564-5b8c656024db', '123e4567-e89b-42d3-a456-426614174000'," +
		"'255.255.255.255', '::1', X'00000000000000000000000000000000', ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))'))",
	"INSERT INTO mariadb_types (id, u, unn, i4, i6) VALUES (3," +
		"'E7D4A3F0-3C5A-11EF-8D2B-0242AC120002', '00000001-0000-1000-8000-000000000002', '10.0.0.1', '::ffff:1.2.3.4')",
	"INSERT INTO mariadb_types (id, i6) VALUES (4, '2001:0db8:85a3:0000:0000:8a2e:0370:7334')",
	"INSERT INTO mariadb_types (id, i6) VALUES (5, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')",
	"INSERT INTO mariadb_types (id, i6) VALUES (6, '1:0:2:3:4:5:6:7')",
	"INSERT INTO mariadb_types (id, i6) VALUES (7, '::1.2.3.4')",
	"INSERT INTO mariadb_types (id, i6) VALUES (8, '1:0:0:2:0:0:3:4')",
	"INSERT INTO mariadb_types (id) VALUES (9)",
}
