-- Packhub metadata schema, SQLite dialect.
-- Times are TEXT in the fixed-width UTC layout 2006-01-02T15:04:05.000000Z,
-- so they sort and compare as strings.

CREATE TABLE owners (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    login      TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    name       TEXT    NOT NULL DEFAULT '',
    email      TEXT    NOT NULL DEFAULT '',
    site_admin INTEGER NOT NULL DEFAULT 0,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
CREATE UNIQUE INDEX owners_login_key ON owners (lower(login));

CREATE TABLE org_members (
    org_id  INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    role    TEXT    NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user_idx ON org_members (user_id);

CREATE TABLE repositories (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id    INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    visibility  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE UNIQUE INDEX repositories_name_key ON repositories (owner_id, lower(name));
CREATE INDEX repositories_visibility_idx ON repositories (visibility, owner_id);

CREATE TABLE repo_collaborators (
    repo_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    role    TEXT    NOT NULL,
    PRIMARY KEY (repo_id, user_id)
);
CREATE INDEX repo_collaborators_user_idx ON repo_collaborators (user_id);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    hash         TEXT    NOT NULL UNIQUE,
    scopes       TEXT    NOT NULL DEFAULT '[]',
    note         TEXT    NOT NULL DEFAULT '',
    expires_at   TEXT,
    last_used_at TEXT,
    created_at   TEXT    NOT NULL
);
CREATE INDEX tokens_user_idx ON tokens (user_id);

CREATE TABLE packages (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id       INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    type           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    visibility     TEXT    NOT NULL,
    repository_id  INTEGER REFERENCES repositories (id) ON DELETE SET NULL,
    download_count INTEGER NOT NULL DEFAULT 0,
    -- Active versions, kept by the versions_count triggers so a version list
    -- need not count 100k index entries per page.
    version_count  INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    deleted_at     TEXT,
    deleted_by     INTEGER
);
CREATE UNIQUE INDEX packages_name_key ON packages (owner_id, type, lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX packages_owner_idx ON packages (owner_id, type, id);
CREATE INDEX packages_repository_idx ON packages (repository_id);
CREATE INDEX packages_deleted_idx ON packages (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE package_access (
    package_id INTEGER NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL,
    PRIMARY KEY (package_id, user_id)
);
CREATE INDEX package_access_user_idx ON package_access (user_id);

CREATE TABLE versions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    package_id     INTEGER NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    metadata       TEXT,
    description    TEXT    NOT NULL DEFAULT '',
    license        TEXT    NOT NULL DEFAULT '',
    subject        TEXT    NOT NULL DEFAULT '',
    download_count INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    deleted_at     TEXT,
    deleted_by     INTEGER
);
CREATE UNIQUE INDEX versions_name_key ON versions (package_id, name) WHERE deleted_at IS NULL;
CREATE INDEX versions_package_idx ON versions (package_id, id);
CREATE INDEX versions_active_idx ON versions (package_id, id) WHERE deleted_at IS NULL;
CREATE INDEX versions_subject_idx ON versions (package_id, subject) WHERE subject <> '';
CREATE INDEX versions_deleted_idx ON versions (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TRIGGER versions_count_insert AFTER INSERT ON versions
WHEN NEW.deleted_at IS NULL
BEGIN
    UPDATE packages SET version_count = version_count + 1 WHERE id = NEW.package_id;
END;
CREATE TRIGGER versions_count_delete AFTER DELETE ON versions
WHEN OLD.deleted_at IS NULL
BEGIN
    UPDATE packages SET version_count = version_count - 1 WHERE id = OLD.package_id;
END;
CREATE TRIGGER versions_count_update AFTER UPDATE OF deleted_at, package_id ON versions
WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) OR OLD.package_id <> NEW.package_id
BEGIN
    UPDATE packages SET version_count = version_count - 1 WHERE id = OLD.package_id AND OLD.deleted_at IS NULL;
    UPDATE packages SET version_count = version_count + 1 WHERE id = NEW.package_id AND NEW.deleted_at IS NULL;
END;

CREATE TABLE files (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    size       INTEGER NOT NULL DEFAULT 0,
    media_type TEXT    NOT NULL DEFAULT '',
    created_at TEXT    NOT NULL,
    UNIQUE (version_id, name)
);
CREATE INDEX files_digest_idx ON files (digest);

CREATE TABLE tags (
    package_id INTEGER NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (package_id, name)
);
CREATE INDEX tags_version_idx ON tags (version_id);

CREATE TABLE blobs (
    digest     TEXT    PRIMARY KEY,
    size       INTEGER NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE INDEX blobs_created_idx ON blobs (created_at);

CREATE TABLE package_blobs (
    package_id INTEGER NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    digest     TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (package_id, digest)
);
CREATE INDEX package_blobs_digest_idx ON package_blobs (digest);

-- Events keep the ids of packages and versions that may since be gone, so
-- they carry no foreign keys.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id   INTEGER NOT NULL DEFAULT 0,
    action     TEXT    NOT NULL,
    package_id INTEGER NOT NULL DEFAULT 0,
    version_id INTEGER NOT NULL DEFAULT 0,
    detail     TEXT    NOT NULL DEFAULT '',
    created_at TEXT    NOT NULL
);
CREATE INDEX events_package_idx ON events (package_id, id);
