-- Webhooks of repositories beside those of organizations: repository_id
-- is the repository whose packages a hook reports, 0 for an
-- organization's hook.
ALTER TABLE hooks ADD COLUMN repository_id BIGINT NOT NULL DEFAULT 0;
DROP INDEX hooks_owner_idx;
CREATE INDEX hooks_owner_idx ON hooks (owner_id, repository_id, id);
