-- The data API's tables and items, in the schema bulkhead_data, which the
-- owner role (the one that runs migrations) owns.
--
-- An item row is addressed by (table_id, pk, sk), the primary key: every
-- read and write goes through its index, so a Query is a range scan of it.
-- pk and sk are the front end's order-preserving encodings; bytea compares
-- with memcmp and then by length, which is bytes.Compare. sk is the empty
-- string in tables without a sort key. owner is a column, not part of the
-- key. Times are Unix milliseconds, UTC.

CREATE TABLE bulkhead_data.tables (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- COLLATE "C": names list in bytewise order, whatever the database's
    -- collation.
    name       text COLLATE "C" NOT NULL UNIQUE,
    definition bytea  NOT NULL,
    created_at bigint NOT NULL
);

CREATE TABLE bulkhead_data.items (
    -- The cascade deletes a table's items with it, and the foreign key
    -- stops a write that raced DeleteTable from leaving an orphan.
    table_id bigint NOT NULL REFERENCES bulkhead_data.tables (id) ON DELETE CASCADE,
    pk       bytea  NOT NULL CHECK (length(pk) > 0),
    sk       bytea  NOT NULL,
    owner    text   NOT NULL,
    data     bytea  NOT NULL,
    PRIMARY KEY (table_id, pk, sk)
);

-- The tenant wall. A transaction that set bulkhead.tenant (set_config(...,
-- true), so only for itself) sees and writes only rows of that owner; one
-- that did not sees nothing and can write nothing: the setting is then
-- NULL, or '' once a transaction-local value has come and gone on the
-- connection, and NULLIF makes both NULL, which equals no owner. FORCE
-- subjects the table's owner too; only BYPASSRLS roles (the service role)
-- and superusers pass.
ALTER TABLE bulkhead_data.items ENABLE ROW LEVEL SECURITY;
ALTER TABLE bulkhead_data.items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON bulkhead_data.items
    USING (owner = NULLIF(current_setting('bulkhead.tenant', true), ''))
    WITH CHECK (owner = NULLIF(current_setting('bulkhead.tenant', true), ''));
