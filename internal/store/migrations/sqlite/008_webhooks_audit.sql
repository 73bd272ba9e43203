-- Webhooks of an owner (organization), and their deliveries: the outbox
-- the service writes in the transaction of every change it reports, which
-- the delivery worker sends from and records each attempt in.
-- The audit log is the events table, which now also keeps the token, the
-- client's address and User-Agent, and the request id behind each event.

CREATE TABLE hooks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id     INTEGER  NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL DEFAULT 'web',
    events       TEXT    NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1,
    url          TEXT    NOT NULL,
    content_type TEXT    NOT NULL DEFAULT 'form',
    secret       TEXT    NOT NULL DEFAULT '',
    insecure_ssl TEXT    NOT NULL DEFAULT '0',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX hooks_owner_idx ON hooks (owner_id, id);

CREATE TABLE hook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    hook_id          INTEGER  NOT NULL REFERENCES hooks (id) ON DELETE CASCADE,
    event_id         INTEGER  NOT NULL DEFAULT 0,
    sender_id        INTEGER  NOT NULL DEFAULT 0,
    guid             TEXT    NOT NULL,
    event            TEXT    NOT NULL,
    action           TEXT    NOT NULL DEFAULT '',
    redelivery       INTEGER NOT NULL DEFAULT 0,
    repository_id    INTEGER  NOT NULL DEFAULT 0,
    payload          TEXT    NOT NULL DEFAULT '',
    state            TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    lease_until      TEXT,
    delivered_at     TEXT,
    duration         REAL NOT NULL DEFAULT 0,
    status           TEXT    NOT NULL DEFAULT '',
    status_code      INTEGER NOT NULL DEFAULT 0,
    request_headers  TEXT    NOT NULL DEFAULT '{}',
    response_headers TEXT    NOT NULL DEFAULT '{}',
    response_body    TEXT    NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL
);
CREATE INDEX hook_deliveries_hook_idx ON hook_deliveries (hook_id, id);
CREATE INDEX hook_deliveries_due_idx ON hook_deliveries (next_attempt_at) WHERE state = 'pending';

ALTER TABLE events ADD COLUMN token_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
CREATE INDEX events_created_idx ON events (created_at, id);
CREATE INDEX events_actor_idx ON events (actor_id, id);
CREATE INDEX events_action_idx ON events (action, id);
CREATE INDEX events_token_idx ON events (token_id, action, id);
