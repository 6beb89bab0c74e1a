-- Functions, their versions and aliases.
--
-- What the store looks up or checks by (names, version numbers, code digests,
-- the versions an alias points to) is a column with an index; a version's
-- configuration is one JSON document (see config.go), so a new field needs no
-- migration. Times are Unix milliseconds, UTC.

CREATE TABLE functions (
    name         TEXT    NOT NULL PRIMARY KEY,
    per_tenant   INTEGER NOT NULL CHECK (per_tenant IN (0, 1)),
    tags         TEXT    NOT NULL CHECK (json_valid(tags)),
    created_at   INTEGER NOT NULL,
    -- The number the next published version takes. It only grows, so a
    -- deleted version's number is never reused.
    next_version INTEGER NOT NULL CHECK (next_version >= 1)
) STRICT;

CREATE TABLE versions (
    function_name TEXT    NOT NULL REFERENCES functions (name),
    number        INTEGER NOT NULL CHECK (number >= 0), -- 0 is $LATEST
    config        TEXT    NOT NULL CHECK (json_valid(config)),
    code_sha256   TEXT    NOT NULL,
    code_size     INTEGER NOT NULL,
    revision_id   TEXT    NOT NULL,
    last_modified INTEGER NOT NULL,
    PRIMARY KEY (function_name, number)
) STRICT;

-- CodeInUse.
CREATE INDEX versions_by_code ON versions (code_sha256);

CREATE TABLE aliases (
    function_name TEXT    NOT NULL REFERENCES functions (name),
    name          TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    description   TEXT    NOT NULL,
    revision_id   TEXT    NOT NULL,
    PRIMARY KEY (function_name, name),
    FOREIGN KEY (function_name, version) REFERENCES versions (function_name, number)
) STRICT;

-- DeleteVersion's check for aliases that point at a version.
CREATE INDEX aliases_by_version ON aliases (function_name, version);

-- An alias's additional versions (RoutingConfig.AdditionalVersionWeights).
CREATE TABLE alias_weights (
    function_name TEXT    NOT NULL,
    alias_name    TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    weight        REAL    NOT NULL,
    PRIMARY KEY (function_name, alias_name, version),
    FOREIGN KEY (function_name, alias_name) REFERENCES aliases (function_name, name),
    FOREIGN KEY (function_name, version) REFERENCES versions (function_name, number)
) STRICT;

CREATE INDEX alias_weights_by_version ON alias_weights (function_name, version);
