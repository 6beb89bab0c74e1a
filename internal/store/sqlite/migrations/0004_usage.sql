-- Usage per (function, tenant, hour), as usage.Counts: rows only grow, by
-- upserting increments. mb_millis is billed ms × MemorySize in MB.
CREATE TABLE usage (
    function_name TEXT    NOT NULL,
    tenant        TEXT    NOT NULL,
    hour          INTEGER NOT NULL, -- Unix seconds of the hour's start
    invocations   INTEGER NOT NULL DEFAULT 0,
    errors        INTEGER NOT NULL DEFAULT 0,
    throttles     INTEGER NOT NULL DEFAULT 0,
    mb_millis     INTEGER NOT NULL DEFAULT 0,
    environments  INTEGER NOT NULL DEFAULT 0,
    cold_starts   INTEGER NOT NULL DEFAULT 0,
    bytes_in      INTEGER NOT NULL DEFAULT 0,
    bytes_out     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (function_name, tenant, hour)
) STRICT, WITHOUT ROWID;

-- A tenant's usage across functions (usage --tenant T).
CREATE INDEX usage_by_tenant ON usage (tenant, hour);
