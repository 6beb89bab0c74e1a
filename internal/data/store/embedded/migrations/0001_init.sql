-- The data API's tables and items.
--
-- An item row is addressed by (table_id, pk, sk): the unique index is the
-- one every read and write goes through, so a Query is a range scan of it.
-- pk and sk are the front end's order-preserving encodings; BLOB compares
-- with memcmp and then by length, which is bytes.Compare. sk is the empty
-- blob in tables without a sort key. owner is a column, not part of the key.
-- Times are Unix milliseconds, UTC.

CREATE TABLE data_tables (
    -- AUTOINCREMENT: a table created again under a deleted table's name
    -- never gets the old id.
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    definition BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE data_items (
    table_id INTEGER NOT NULL REFERENCES data_tables (id) ON DELETE CASCADE,
    pk       BLOB    NOT NULL CHECK (length(pk) > 0),
    sk       BLOB    NOT NULL,
    owner    TEXT    NOT NULL,
    data     BLOB    NOT NULL
) STRICT;

CREATE UNIQUE INDEX data_items_by_key ON data_items (table_id, pk, sk);
