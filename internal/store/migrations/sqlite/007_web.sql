-- web_sessions are the signed-in browsers of the web pages. Each is made
-- from a personal access token and ends with it (ON DELETE CASCADE, and the
-- service refuses a session whose token is revoked or expired). Only the
-- SHA-256 hash of the cookie's secret is kept.

CREATE TABLE web_sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    hash         TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    token_id     INTEGER NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    created_at   TEXT    NOT NULL,
    last_seen_at TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL
);
CREATE INDEX web_sessions_token_idx ON web_sessions (token_id);
CREATE INDEX web_sessions_expires_idx ON web_sessions (expires_at);

-- A package's deleted versions, for the web pages' (and the REST API's
-- state=deleted) list of what can still be restored, without walking the
-- active ones.
CREATE INDEX versions_package_deleted_idx ON versions (package_id, id) WHERE deleted_at IS NOT NULL;
