-- packages.revision counts changes to what a package's registry documents
-- show: its versions (not their download counts) and its tags. A front that
-- caches a rendered document per package checks it with the package row
-- alone, which every request reads anyway.

ALTER TABLE packages ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

-- Inserts and deletes bump once per package per statement (a package purge
-- deletes many rows at once); updates bump per row.
CREATE FUNCTION packages_revision_new_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE packages p SET revision = p.revision + 1
    WHERE p.id IN (SELECT DISTINCT package_id FROM new_rows);
    RETURN NULL;
END
$$;
CREATE FUNCTION packages_revision_old_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE packages p SET revision = p.revision + 1
    WHERE p.id IN (SELECT DISTINCT package_id FROM old_rows);
    RETURN NULL;
END
$$;
CREATE FUNCTION packages_revision_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE packages SET revision = revision + 1 WHERE id IN (OLD.package_id, NEW.package_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER versions_revision_insert AFTER INSERT ON versions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION packages_revision_new_rows();
CREATE TRIGGER versions_revision_delete AFTER DELETE ON versions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION packages_revision_old_rows();
CREATE TRIGGER versions_revision_update
    AFTER UPDATE OF package_id, name, metadata, description, license, subject, created_at, updated_at, deleted_at, deleted_by ON versions
    FOR EACH ROW EXECUTE FUNCTION packages_revision_row();

CREATE TRIGGER tags_revision_insert AFTER INSERT ON tags
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION packages_revision_new_rows();
CREATE TRIGGER tags_revision_delete AFTER DELETE ON tags
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION packages_revision_old_rows();
CREATE TRIGGER tags_revision_update AFTER UPDATE ON tags
    FOR EACH ROW EXECUTE FUNCTION packages_revision_row();
