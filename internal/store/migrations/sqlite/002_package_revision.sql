-- packages.revision counts changes to what a package's registry documents
-- show: its versions (not their download counts) and its tags. A front that
-- caches a rendered document per package checks it with the package row
-- alone, which every request reads anyway.

ALTER TABLE packages ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER versions_revision_insert AFTER INSERT ON versions
BEGIN
    UPDATE packages SET revision = revision + 1 WHERE id = NEW.package_id;
END;
CREATE TRIGGER versions_revision_delete AFTER DELETE ON versions
BEGIN
    UPDATE packages SET revision = revision + 1 WHERE id = OLD.package_id;
END;
CREATE TRIGGER versions_revision_update
AFTER UPDATE OF package_id, name, metadata, description, license, subject, created_at, updated_at, deleted_at, deleted_by ON versions
BEGIN
    UPDATE packages SET revision = revision + 1 WHERE id IN (OLD.package_id, NEW.package_id);
END;

CREATE TRIGGER tags_revision_insert AFTER INSERT ON tags
BEGIN
    UPDATE packages SET revision = revision + 1 WHERE id = NEW.package_id;
END;
CREATE TRIGGER tags_revision_delete AFTER DELETE ON tags
BEGIN
    UPDATE packages SET revision = revision + 1 WHERE id = OLD.package_id;
END;
CREATE TRIGGER tags_revision_update AFTER UPDATE ON tags
BEGIN
    UPDATE packages SET revision = revision + 1 WHERE id IN (OLD.package_id, NEW.package_id);
END;
