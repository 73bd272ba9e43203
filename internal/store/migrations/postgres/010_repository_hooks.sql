-- Webhooks of repositories beside those of organizations: repository_id
-- is the repository whose packages a hook reports, 0 for an
-- organization's hook. Deliveries get an index by age, for the purge
-- job's pruning of finished ones.
ALTER TABLE hooks ADD COLUMN repository_id BIGINT NOT NULL DEFAULT 0;
DROP INDEX hooks_owner_idx;
CREATE INDEX hooks_owner_idx ON hooks (owner_id, repository_id, id);
CREATE INDEX hook_deliveries_created_idx ON hook_deliveries (created_at);
