-- Retention policies: rules an owner (or the site's administrator) sets on
-- its packages of one type, optionally only those whose name matches a
-- pattern, which the retention job applies by soft-deleting versions (and,
-- for builds, deleting files). Patterns are kept as written; the service
-- parses them. older_than is in seconds, 0 for none.

CREATE TABLE retention_policies (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id       INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    package_type   TEXT    NOT NULL,
    name_pattern   TEXT    NOT NULL DEFAULT '',
    keep_newest    INTEGER NOT NULL DEFAULT 0,
    older_than     INTEGER NOT NULL DEFAULT 0,
    untagged       INTEGER NOT NULL DEFAULT 0,
    keep_pattern   TEXT    NOT NULL DEFAULT '',
    remove_pattern TEXT    NOT NULL DEFAULT '',
    keep_builds    INTEGER NOT NULL DEFAULT 0,
    created_by     INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL
);
CREATE INDEX retention_policies_owner_idx ON retention_policies (owner_id, id);
