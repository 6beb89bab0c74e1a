-- The front door: registered tenants, and the gateway's catalog (usage
-- plans, API keys, authorizers, routes), plus durable quota counters.
CREATE TABLE tenants (
    id           TEXT    PRIMARY KEY,
    display_name TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('active', 'suspended')),
    plan         TEXT    NOT NULL,
    concurrency  INTEGER NOT NULL,
    metadata     TEXT    NOT NULL, -- JSON object
    created      INTEGER NOT NULL, -- Unix milliseconds
    updated      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE usage_plans (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL -- JSON, as plan.Plan
) STRICT, WITHOUT ROWID;

-- API keys: only the SHA-256 of a value is stored.
CREATE TABLE api_keys (
    id      TEXT    PRIMARY KEY,
    hash    BLOB    NOT NULL UNIQUE,
    name    TEXT    NOT NULL,
    tenant  TEXT    NOT NULL,
    plan    TEXT    NOT NULL,
    prefix  TEXT    NOT NULL,
    created INTEGER NOT NULL, -- Unix milliseconds
    revoked INTEGER           -- Unix milliseconds, or NULL while valid
) STRICT, WITHOUT ROWID;
CREATE INDEX api_keys_by_tenant ON api_keys (tenant);

CREATE TABLE authorizers (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL -- JSON, as catalog.Authorizer
) STRICT, WITHOUT ROWID;

CREATE TABLE routes (
    id     TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    path   TEXT NOT NULL,
    spec   TEXT NOT NULL, -- JSON, as catalog.Route
    UNIQUE (method, path)
) STRICT, WITHOUT ROWID;

-- Requests counted against quotas, per (key, window start).
CREATE TABLE quota_counters (
    key    TEXT    NOT NULL,
    window INTEGER NOT NULL, -- Unix seconds of the window's start
    used   INTEGER NOT NULL,
    PRIMARY KEY (key, window)
) STRICT, WITHOUT ROWID;
