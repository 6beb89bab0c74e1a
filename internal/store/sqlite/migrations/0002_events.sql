-- Accepted Event invocations: pending until run, running while claimed,
-- then succeeded or failed (the outcome is kept, the payload dropped).
CREATE TABLE event_invocations (
    id             TEXT    PRIMARY KEY,
    function_name  TEXT    NOT NULL,
    qualifier      TEXT    NOT NULL,
    tenant         TEXT,
    client_context TEXT    NOT NULL,
    payload        BLOB,
    attempts       INTEGER NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed')),
    not_before     INTEGER NOT NULL,
    enqueued_at    INTEGER NOT NULL,
    finished_at    INTEGER,
    error_type     TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX event_invocations_due ON event_invocations (state, not_before);
