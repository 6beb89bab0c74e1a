-- Function logs (internal/logs): one row per record, appended in batches by
-- the log pipeline and removed only by Prune, oldest first.
--
-- AUTOINCREMENT because a record's id is a follower's position: without it
-- SQLite hands out max(id)+1, which reuses the ids of the newest records
-- once Prune has removed them all, and a follower would skip new records.
-- time is Unix nanoseconds, UTC.
CREATE TABLE logs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    time          INTEGER NOT NULL,
    tenant        TEXT    NOT NULL, -- '' for a function without tenancy
    function_name TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    request_id    TEXT    NOT NULL, -- '' for an environment's init
    env_id        TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    stream        TEXT    NOT NULL,
    message       TEXT    NOT NULL
) STRICT;

-- Query for one tenant, the common case (a function without tenancy has the
-- tenant ''): the equality on both columns and the range on id (AfterID)
-- are one index range, already in the answer's order, so a page costs its
-- LIMIT however many records other tenants have.
CREATE INDEX logs_by_tenant ON logs (function_name, tenant, id);

-- Query for every tenant (an operator, or a follower of the whole function):
-- without it, such a page would read and sort every record of the function,
-- since the other indexes order a function's records by tenant or request
-- first.
CREATE INDEX logs_by_function ON logs (function_name, id);

-- Query by request (LogType: Tail, a request's records across tenants for
-- the operator): a request has a handful of records among millions.
CREATE INDEX logs_by_request ON logs (function_name, request_id);

-- Prune by age: the records older than a bound are a range of this index.
CREATE INDEX logs_by_time ON logs (time);
