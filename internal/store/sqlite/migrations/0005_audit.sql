-- The audit log: every control-plane change, and every refused attempt at
-- one, with who, what, when and from where. Append-only: the triggers refuse
-- any change to a row, so not even a bug in the server can rewrite history.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time       INTEGER NOT NULL, -- Unix nanoseconds
    request_id TEXT    NOT NULL,
    principal  TEXT    NOT NULL, -- the access key id that signed the request
    source     TEXT    NOT NULL, -- the client's address
    operation  TEXT    NOT NULL, -- CreateFunction, DeleteAlias, ...
    resource   TEXT    NOT NULL, -- the request's path and query
    outcome    TEXT    NOT NULL  -- "ok", or the error's exception name
) STRICT;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
