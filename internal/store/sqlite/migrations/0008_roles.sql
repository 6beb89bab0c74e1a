-- Roles: named IAM identity policies that functions' environments and STS
-- sessions act under (issue 8).
CREATE TABLE roles (
    name        TEXT    PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL,
    policy      TEXT    NOT NULL, -- the identity policy document, JSON
    max_session INTEGER NOT NULL, -- seconds
    created     INTEGER NOT NULL, -- Unix milliseconds
    updated     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
