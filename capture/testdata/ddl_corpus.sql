# DDL corpus: statements MariaDB 10.11 accepts, run in order on the test
# source while capture streams (TestDDLCorpus). Capture selects the session's
# database (unqualified names here); {other} is a database it does not
# capture, {cap} the captured one, both quoted.
#
# Each statement follows a line "-- @ EXPECT" that says what capture must do:
#   pass                      no schema-change event, capture goes on
#   KIND TABLE[>NEW] [COLS] [{OLD>NEW,...}]
#                             one schema-change event: its kind, table (and
#                             new_table), column names in order (NAME:TYPE
#                             checks the type's start too, - means none) and
#                             renamed columns; several events are separated
#                             by " | "
#   stop TABLE                capture stops, naming the captured table; the
#                             test restarts it with the position skipped
# A statement runs to the next "-- @" line; comment lines starting with "#"
# are dropped.

##### CREATE TABLE, clause by clause, on the captured database.

-- @ create_table a id,b,c,d
CREATE TABLE a (id INT NOT NULL PRIMARY KEY, b INT, c VARCHAR(20), d DATETIME)

-- @ create_table col_attrs id,n,dflt,expr,ts,note,cs,inv,uniq
CREATE TABLE col_attrs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  n INT NULL,
  dflt VARCHAR(10) NOT NULL DEFAULT 'x' COMMENT 'a comment',
  expr INT DEFAULT (1 + 1),
  ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  note TEXT CHARACTER SET latin1 COLLATE latin1_swedish_ci,
  cs VARCHAR(5) COLLATE utf8mb4_bin,
  inv INT INVISIBLE,
  uniq INT UNIQUE KEY,
  PRIMARY KEY (id)
) AUTO_INCREMENT = 100

-- @ create_table select id,from,invisible
CREATE TABLE `select` (id INT PRIMARY KEY, `from` INT, `invisible` INT)

-- @ create_table generated id,price,qty,total,stored,persist
CREATE TABLE generated (
  id INT PRIMARY KEY,
  price DECIMAL(10,2),
  qty INT,
  total DECIMAL(12,2) AS (price * qty) VIRTUAL,
  stored DECIMAL(12,2) GENERATED ALWAYS AS (price * qty) STORED,
  persist INT AS (qty + 1) PERSISTENT
)

-- @ create_table checks id,qty,lo,hi
CREATE TABLE checks (
  id INT PRIMARY KEY,
  qty INT CHECK (qty >= 0),
  lo INT,
  hi INT,
  CONSTRAINT lo_hi CHECK (lo <= hi),
  CHECK (hi < 1000)
)

-- @ create_table geo id,g:geometry,p:point,l:linestring,poly:polygon,mp:multipoint,ml:multilinestring,mpoly:multipolygon,gc:geometrycollection
CREATE TABLE geo (
  id INT PRIMARY KEY,
  g GEOMETRY,
  p POINT REF_SYSTEM_ID = 4326 NOT NULL,
  l LINESTRING,
  poly POLYGON REF_SYSTEM_ID=4326,
  mp MULTIPOINT,
  ml MULTILINESTRING,
  mpoly MULTIPOLYGON,
  gc GEOMETRYCOLLECTION,
  SPATIAL INDEX sp (p)
) ENGINE=InnoDB

-- @ create_table indexed id,a,b,txt
CREATE TABLE indexed (
  id INT NOT NULL,
  a INT,
  b VARCHAR(50),
  txt TEXT,
  CONSTRAINT pk PRIMARY KEY USING BTREE (id),
  INDEX ia (a) COMMENT 'idx',
  KEY ib (b(10) DESC, a) USING BTREE,
  UNIQUE INDEX uab (a, b),
  FULLTEXT KEY ft (txt),
  KEY ign (a) IGNORED
)

-- @ create_table child id,parent
CREATE TABLE child (
  id INT PRIMARY KEY,
  parent INT,
  CONSTRAINT fk_parent FOREIGN KEY (parent) REFERENCES a (id) ON DELETE CASCADE ON UPDATE SET NULL
)

-- @ create_table options id,v
CREATE TABLE IF NOT EXISTS options (id INT PRIMARY KEY, v VARCHAR(10))
  ENGINE = InnoDB AUTO_INCREMENT = 5 DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci
  COMMENT = 'options' ROW_FORMAT = DYNAMIC STATS_PERSISTENT = 1 STATS_AUTO_RECALC = DEFAULT
  STATS_SAMPLE_PAGES = 10 CHECKSUM = 1 PACK_KEYS = 0 MIN_ROWS = 1 MAX_ROWS = 1000 AVG_ROW_LENGTH = 50
  PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 6 ENCRYPTED = NO

# The table exists: the server logs nothing.
-- @ pass
CREATE TABLE IF NOT EXISTS options (id INT PRIMARY KEY)

-- @ create_table compressed_rows id,v
CREATE TABLE compressed_rows (id INT PRIMARY KEY, v INT) ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8

-- @ create_table aria id,v
CREATE TABLE aria (id INT PRIMARY KEY, v INT) ENGINE=Aria TRANSACTIONAL=1 PAGE_CHECKSUM=1

-- @ create_table myisam id,v
CREATE TABLE myisam (id INT PRIMARY KEY, v INT) ENGINE=MyISAM DELAY_KEY_WRITE=1

-- @ create_table mem id,v
CREATE TABLE mem (id INT PRIMARY KEY, v INT) ENGINE=MEMORY

-- @ create_table types id,ti,si,mi,bi,de,fl,db,bt,ch,vc,bn,vb,tt,tx,mt,lt,tb,bl,mb,lb,en,st,js,dt,tm,dtm,tsp,yr
CREATE TABLE types (
  id INT PRIMARY KEY, ti TINYINT, si SMALLINT UNSIGNED, mi MEDIUMINT ZEROFILL, bi BIGINT,
  de DECIMAL(30,10), fl FLOAT, db DOUBLE, bt BIT(7), ch CHAR(3), vc VARCHAR(300), bn BINARY(4),
  vb VARBINARY(10), tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT, tb TINYBLOB, bl BLOB,
  mb MEDIUMBLOB, lb LONGBLOB, en ENUM('a','b'), st SET('x','y'), js JSON, dt DATE, tm TIME(3),
  dtm DATETIME(6), tsp TIMESTAMP NULL, yr YEAR
)

-- @ create_table by_range id,created
CREATE TABLE by_range (id INT NOT NULL, created DATE NOT NULL, PRIMARY KEY (id, created))
  PARTITION BY RANGE (YEAR(created)) (
    PARTITION p2024 VALUES LESS THAN (2025),
    PARTITION p2025 VALUES LESS THAN (2026),
    PARTITION pmax VALUES LESS THAN MAXVALUE)

-- @ create_table by_list id,region
CREATE TABLE by_list (id INT NOT NULL, region INT NOT NULL, PRIMARY KEY (id, region))
  PARTITION BY LIST (region) (PARTITION pe VALUES IN (1, 2), PARTITION pw VALUES IN (3, 4))

-- @ create_table by_columns id,code
CREATE TABLE by_columns (id INT NOT NULL, code VARCHAR(5) NOT NULL, PRIMARY KEY (id, code))
  PARTITION BY RANGE COLUMNS (code) (PARTITION pa VALUES LESS THAN ('m'), PARTITION pz VALUES LESS THAN (MAXVALUE))

-- @ create_table by_hash id,v
CREATE TABLE by_hash (id INT PRIMARY KEY, v INT) PARTITION BY LINEAR HASH (id) PARTITIONS 3

-- @ create_table by_key id,d
CREATE TABLE by_key (id INT NOT NULL, d DATE NOT NULL, PRIMARY KEY (id, d))
  PARTITION BY RANGE (TO_DAYS(d)) SUBPARTITION BY KEY (id) SUBPARTITIONS 2 (
    PARTITION p0 VALUES LESS THAN (738000), PARTITION p1 VALUES LESS THAN MAXVALUE)

-- @ create_table versioned id,v,row_start,row_end
CREATE TABLE versioned (
  id INT PRIMARY KEY,
  v INT,
  row_start TIMESTAMP(6) GENERATED ALWAYS AS ROW START INVISIBLE,
  row_end TIMESTAMP(6) GENERATED ALWAYS AS ROW END INVISIBLE,
  PERIOD FOR SYSTEM_TIME (row_start, row_end)
) WITH SYSTEM VERSIONING

-- @ create_table versioned_implicit id,v,unversioned
CREATE TABLE versioned_implicit (id INT, v INT, unversioned INT WITHOUT SYSTEM VERSIONING, PRIMARY KEY (id))
  WITH SYSTEM VERSIONING

-- @ create_table versioned_parts id,v
CREATE TABLE versioned_parts (id INT PRIMARY KEY, v INT)
  WITH SYSTEM VERSIONING PARTITION BY SYSTEM_TIME INTERVAL 1 MONTH PARTITIONS 3

-- @ create_table app_period id,ds,de
CREATE TABLE app_period (id INT, ds DATE, de DATE, PERIOD FOR valid (ds, de), PRIMARY KEY (id, valid WITHOUT OVERLAPS))

-- @ create_table a_like id,b,c,d
CREATE TABLE a_like LIKE a

-- @ create_table a_copy id,b
CREATE TABLE a_copy (PRIMARY KEY (id)) AS SELECT id, b FROM a

-- @ create_table a_copy2 x,id,b
CREATE TABLE a_copy2 (x INT DEFAULT 3, PRIMARY KEY (id)) IGNORE SELECT id, b FROM a

-- @ drop_table replaced | create_table replaced id
CREATE OR REPLACE TABLE replaced (id INT PRIMARY KEY)

-- @ drop_table replaced | create_table replaced id,g:point
/*!40000 CREATE OR REPLACE TABLE replaced (id INT PRIMARY KEY, g POINT) */

-- @ create_table exec_comment id,v
CREATE TABLE exec_comment (id INT PRIMARY KEY, v INT) /*M!100301 PAGE_COMPRESSED=1 */ /*!50100 COMMENT 'x' */

-- @ pass
CREATE TEMPORARY TABLE a (id INT)

-- @ pass
DROP TEMPORARY TABLE a

##### ALTER TABLE, clause by clause, on captured table a.

-- @ alter_table a id,b,c,d,e
ALTER TABLE a ADD COLUMN e INT

-- @ alter_table a f,id,b,c,d,e,g
ALTER TABLE a ADD COLUMN IF NOT EXISTS f INT FIRST, ADD g INT AFTER e

-- @ alter_table a f,id,b,c,d,e,g,h,i
ALTER TABLE a ADD (h INT, i VARCHAR(5))

-- @ alter_table a f,id,b,c,d,e,g,h,i,pt:point,inv
ALTER TABLE a ADD COLUMN pt POINT REF_SYSTEM_ID=4326 NOT NULL, ADD COLUMN inv INT INVISIBLE, ADD SPATIAL INDEX (pt)

-- @ alter_table a f,id,b,c,d,e,g,h,i,pt,inv,vg,sg
ALTER TABLE a ADD vg INT AS (b + 1) VIRTUAL, ADD sg INT AS (b + 2) PERSISTENT

-- @ alter_table a id,b,c,d,e,g,h,i,pt,inv,vg,sg
ALTER TABLE a DROP COLUMN f

-- @ alter_table a id,b,c,d,e,g,h,pt,inv,vg,sg
ALTER TABLE a DROP COLUMN IF EXISTS i, DROP COLUMN IF EXISTS nope

-- @ alter_table a id,b,c,d,e,h,pt,inv,vg,sg
ALTER TABLE a DROP g

-- @ alter_table a id,b,c2,d,e,h,pt,inv,vg,sg {c>c2}
ALTER TABLE a CHANGE c c2 VARCHAR(30)

-- @ alter_table a id,b,c2,d,e3,h,pt,inv,vg,sg {e>e3}
ALTER TABLE a CHANGE COLUMN IF EXISTS e e3 BIGINT NOT NULL DEFAULT 0, CHANGE COLUMN IF EXISTS nope nope2 INT

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg {h>hh}
ALTER TABLE a RENAME COLUMN h TO hh

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg
ALTER TABLE a CHANGE b b INT UNSIGNED

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg
ALTER TABLE a MODIFY c2 VARCHAR(40) NOT NULL DEFAULT '', MODIFY COLUMN IF EXISTS nope INT

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg
ALTER TABLE a MODIFY inv INT

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg
ALTER TABLE a ALTER COLUMN d SET DEFAULT '2020-01-01 00:00:00', ALTER COLUMN hh DROP DEFAULT

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg
ALTER TABLE a ADD INDEX ib (b), ADD KEY IF NOT EXISTS ic (c2(5)), ADD UNIQUE uh (hh), ADD FULLTEXT INDEX fc (c2)

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg
ALTER TABLE a RENAME INDEX ib TO ib2, RENAME KEY ic TO ic2

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg
ALTER TABLE a ALTER INDEX ib2 IGNORED

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg
ALTER TABLE a DROP INDEX ib2, DROP KEY IF EXISTS ic2, DROP INDEX IF EXISTS nope, DROP INDEX fc, DROP INDEX pt

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg
ALTER TABLE a ADD CONSTRAINT ck_b CHECK (b < 1000000), ADD CHECK (e3 >= 0)

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg
ALTER TABLE a DROP CONSTRAINT ck_b, DROP CONSTRAINT IF EXISTS nope

-- @ alter_table child id,parent
ALTER TABLE child DROP FOREIGN KEY fk_parent

-- @ alter_table child id,parent
ALTER TABLE child ADD CONSTRAINT fk2 FOREIGN KEY IF NOT EXISTS (parent) REFERENCES a (id) ON DELETE RESTRICT

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg
ALTER TABLE a FORCE

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg
ALTER TABLE a ENGINE=InnoDB, ALGORITHM=COPY, LOCK=SHARED

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg,j
ALTER ONLINE TABLE a ADD COLUMN j INT, ALGORITHM=INSTANT, LOCK=NONE

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg,j
ALTER TABLE a WAIT 10 MODIFY j INT NULL, ALGORITHM=NOCOPY

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg,j,k
ALTER IGNORE TABLE a NOWAIT ADD k INT, ALGORITHM=INPLACE, LOCK=DEFAULT

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg,j,k
ALTER TABLE IF EXISTS a COMMENT = 'table a', AUTO_INCREMENT = 1000, ROW_FORMAT = DYNAMIC, STATS_PERSISTENT = 0

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg,j,k
ALTER TABLE a CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci

-- @ alter_table a id,b,c2,d,e3,hh,pt,inv,vg,sg,j,k
ALTER TABLE a DEFAULT CHARACTER SET = utf8mb4, PAGE_COMPRESSED = 1, PAGE_COMPRESSION_LEVEL = 3

-- @ alter_table options id,v
ALTER TABLE options DROP PRIMARY KEY, ADD PRIMARY KEY (id, v)

-- @ alter_table myisam id,v
ALTER TABLE myisam DISABLE KEYS

-- @ alter_table myisam id,v
ALTER TABLE myisam ENABLE KEYS, ORDER BY v

-- @ alter_table aria id,v
ALTER TABLE aria ENGINE=InnoDB

-- @ alter_table by_hash id,v
ALTER TABLE by_hash ADD PARTITION PARTITIONS 2

-- @ alter_table by_hash id,v
ALTER TABLE by_hash COALESCE PARTITION 1

-- @ alter_table by_range id,created
ALTER TABLE by_range REORGANIZE PARTITION pmax INTO (PARTITION p2026 VALUES LESS THAN (2027), PARTITION pmax VALUES LESS THAN MAXVALUE)

-- @ alter_table by_range id,created
ALTER TABLE by_range DROP PARTITION p2024

-- @ alter_table by_range id,created
ALTER TABLE by_range TRUNCATE PARTITION p2025

# Partition maintenance, like ANALYZE TABLE, is passed by (when logged).
-- @ pass
ALTER TABLE by_range REBUILD PARTITION p2025, p2026

-- @ alter_table by_list id,region
ALTER TABLE by_list ADD PARTITION IF NOT EXISTS (PARTITION pn VALUES IN (5))

-- @ pass
ALTER TABLE by_list ANALYZE PARTITION pe

-- @ pass
ALTER TABLE by_list OPTIMIZE PARTITION pw

-- @ pass
ALTER TABLE by_list REPAIR PARTITION pe

-- @ alter_table by_list id,region
ALTER TABLE by_list REMOVE PARTITIONING

-- @ alter_table by_key id,d
ALTER TABLE by_key PARTITION BY HASH (id) PARTITIONS 2

-- @ alter_table versioned_implicit id,v,unversioned
ALTER TABLE versioned_implicit DROP SYSTEM VERSIONING

-- @ alter_table versioned_implicit id,v,unversioned
ALTER TABLE versioned_implicit ADD SYSTEM VERSIONING

-- @ pass
SET SESSION system_versioning_alter_history = KEEP

-- @ alter_table versioned_implicit id,v,unversioned,w
ALTER TABLE versioned_implicit ADD COLUMN w INT WITHOUT SYSTEM VERSIONING

-- @ alter_table app_period id,ds,de
ALTER TABLE app_period DROP PRIMARY KEY, ADD PRIMARY KEY (id), DROP PERIOD FOR valid

-- @ alter_table app_period id,ds,de
ALTER TABLE app_period ADD PERIOD IF NOT EXISTS FOR valid (ds, de)

-- @ alter_table a_like id,b,c,d
ALTER TABLE a_like /*!50100 COMMENT 'in an executable comment' */

-- @ alter_table a_like id,b2,c,d {b>b2}
/*!50000 ALTER TABLE a_like CHANGE b b2 INT */

-- @ alter_table a_like - | rename_table a_like>a_like2 id,b2,c,d
ALTER TABLE a_like RENAME TO a_like2

-- @ alter_table a_like2 - | rename_table a_like2>{other}.moved_out id,b2,c,d
ALTER TABLE a_like2 RENAME AS {other}.moved_out

-- @ pass
CREATE INDEX ix_b ON a (b)

-- @ pass
CREATE OR REPLACE UNIQUE INDEX ux_j ON a (j) USING BTREE

-- @ pass
DROP INDEX ix_b ON a

-- @ pass
DROP INDEX IF EXISTS ux_j ON a

##### RENAME TABLE.

-- @ rename_table a_copy>a_copy_r id,b
RENAME TABLE a_copy TO a_copy_r

# pt-online-schema-change's swap: t -> _t_old, _t_new -> t. The helper
# table is not captured, and the swap is one alter_table of t
# (--online-ddl auto, docs/events.md).
-- @ pass
CREATE TABLE _exec_comment_new (id INT PRIMARY KEY, v INT, w INT)

-- @ alter_table exec_comment id,v,w
RENAME TABLE exec_comment TO _exec_comment_old, _exec_comment_new TO exec_comment

-- @ rename_table a_copy2>{other}.a_copy2 x,id,b
RENAME TABLE IF EXISTS a_copy2 WAIT 2 TO {other}.a_copy2

-- @ rename_table {other}.moved_out>moved_in id,b2,c,d
RENAME TABLES {other}.moved_out TO {cap}.moved_in

##### Tables of a database capture does not capture: passed by whatever
##### they hold.

-- @ pass
CREATE TABLE {other}.orders_archive (id INT PRIMARY KEY, g POINT REF_SYSTEM_ID=4326 NOT NULL, SPATIAL INDEX (g))

-- @ pass
CREATE TABLE {other}.mariadb_types (id UUID PRIMARY KEY, v4 INET4, v6 INET6, z BLOB COMPRESSED, y VARCHAR(100) COMPRESSED)

-- @ pass
CREATE OR REPLACE TABLE {other}.orders_archive (id INT, g GEOMETRY) WITH SYSTEM VERSIONING

-- @ pass
ALTER TABLE {other}.mariadb_types ADD COLUMN u2 UUID, CHANGE v4 v4b INET4, ALGORITHM=NOCOPY

-- @ pass
CREATE TABLE {other}.parted (id INT PRIMARY KEY) PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN (20))

-- @ pass
CREATE TABLE {other}.parted_swap (id INT PRIMARY KEY)

-- @ pass
ALTER TABLE {other}.parted EXCHANGE PARTITION p0 WITH TABLE {other}.parted_swap

-- @ pass
ALTER TABLE {other}.parted CONVERT PARTITION p1 TO TABLE {other}.parted_p1

-- @ pass
DROP TABLE {other}.parted, {other}.parted_swap, {other}.parted_p1

-- @ pass
RENAME TABLE {other}.orders_archive TO {other}.orders_archive2

-- @ pass
TRUNCATE TABLE {other}.mariadb_types

-- @ pass
DROP TABLE {other}.orders_archive2, {other}.mariadb_types

-- @ pass
CREATE TABLE {other}.`a` (id INT PRIMARY KEY)

-- @ pass
ALTER TABLE {other}.a ADD COLUMN x INT

-- @ pass
DROP TABLE {other}.a

##### MariaDB's own types on captured tables: need the types branch.

-- @create_table uuids id,u,v4,v6
CREATE TABLE uuids (id INT PRIMARY KEY, u UUID, v4 INET4, v6 INET6)

-- @alter_table uuids id,u,v4,v6,u2
ALTER TABLE uuids ADD u2 UUID DEFAULT UUID()

-- @drop_table uuids
DROP TABLE uuids

##### Statements that change no table's columns or rows.

-- @ pass
CREATE DEFINER=CURRENT_USER TRIGGER pt_osc_db_a_del AFTER DELETE ON a FOR EACH ROW DELETE IGNORE FROM a_copy_r WHERE a_copy_r.id <=> OLD.id

-- @ pass
CREATE OR REPLACE TRIGGER a_ins BEFORE INSERT ON a FOR EACH ROW BEGIN
  SET NEW.b = COALESCE(NEW.b, 0);
END

-- @ pass
DROP TRIGGER IF EXISTS pt_osc_db_a_del

-- @ pass
DROP TRIGGER a_ins

-- @ pass
CREATE PROCEDURE proc_a(IN x INT) MODIFIES SQL DATA BEGIN UPDATE a SET b = x; ALTER TABLE a ADD COLUMN never INT; END

-- @ pass
DROP PROCEDURE IF EXISTS proc_a

-- @ pass
CREATE FUNCTION fn_a(x INT) RETURNS INT DETERMINISTIC RETURN x + 1

-- @ pass
DROP FUNCTION fn_a

-- @ pass
CREATE EVENT ev_a ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM a WHERE id < 0

-- @ pass
ALTER EVENT ev_a ON SCHEDULE EVERY 2 DAY

-- @ pass
DROP EVENT ev_a

-- @ pass
CREATE ALGORITHM=MERGE SQL SECURITY INVOKER VIEW v_a AS SELECT id, b FROM a

-- @ pass
CREATE OR REPLACE VIEW v_a AS SELECT id FROM a

-- @ pass
ALTER VIEW v_a AS SELECT id, c2 FROM a

-- @ pass
DROP VIEW v_a

-- @ pass
CREATE SEQUENCE seq_a START WITH 10 INCREMENT BY 5

-- @ pass
ALTER SEQUENCE seq_a RESTART WITH 100

-- @ pass
DROP SEQUENCE seq_a

-- @ pass
ANALYZE TABLE a

-- @ pass
OPTIMIZE TABLE a

-- @ pass
REPAIR TABLE myisam

-- @ pass
CHECK TABLE a

-- @ pass
FLUSH TABLES a

-- @ pass
CREATE DATABASE {third}

-- @ pass
ALTER DATABASE {third} CHARACTER SET utf8mb4

-- @ pass
CREATE TABLE {third}.t (id INT PRIMARY KEY)

-- @ pass
DROP DATABASE {third}

# Account statements (the user is named after the test's database).
-- @ pass
CREATE USER {user} IDENTIFIED BY 'corpus-secret'

-- @ pass
ALTER USER {user} IDENTIFIED BY 'corpus-secret-2'

-- @ pass
GRANT SELECT, INSERT ON {cap}.a TO {user}

-- @ pass
REVOKE INSERT ON {cap}.a FROM {user}

-- @ pass
SET PASSWORD FOR {user} = PASSWORD('corpus-secret-3')

-- @ pass
DROP USER {user}

##### TRUNCATE and DROP TABLE.

-- @ truncate_table a_copy_r -
TRUNCATE TABLE a_copy_r

-- @ truncate_table a_copy_r -
TRUNCATE a_copy_r

-- @ drop_table col_attrs
DROP TABLE col_attrs

-- @ drop_table select | drop_table generated
DROP TABLE IF EXISTS `select`, generated

-- @ drop_table never_existed
DROP TABLE IF EXISTS never_existed

-- @ drop_table checks | drop_table geo
DROP TABLE checks, {other}.a_copy2, geo RESTRICT

-- @ drop_table versioned | drop_table versioned_implicit | drop_table versioned_parts | drop_table app_period
DROP TABLE versioned, versioned_implicit, versioned_parts, app_period

##### Statements on captured tables that capture cannot follow: it stops.

-- @ create_table swap id,v
CREATE TABLE swap (id INT PRIMARY KEY, v INT)

-- @ stop by_hash
ALTER TABLE by_hash EXCHANGE PARTITION p0 WITH TABLE swap

-- @ pass
SET SESSION binlog_format = 'STATEMENT'

-- @ stop mem
INSERT INTO mem VALUES (1, 1)

-- @ pass
INSERT INTO {other}.statement_rows VALUES (1)

-- @ pass
SET SESSION binlog_format = 'ROW'
