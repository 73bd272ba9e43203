-- Blobs pushed to a name that has no package yet (OCI layers pushed before
-- the first manifest). A package exists only once a version is published;
-- until then its blobs are the pusher's, kept here under the name (lower
-- case, as package names are unique) and the pushing user. Publishing the
-- first version moves them to package_blobs. They count as references for
-- garbage collection until the purge job expires them.

CREATE TABLE pending_blobs (
    owner_id   INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    type       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    digest     TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (owner_id, type, name, user_id, digest)
);
CREATE INDEX pending_blobs_digest_idx ON pending_blobs (digest);
CREATE INDEX pending_blobs_created_idx ON pending_blobs (created_at);
