-- Every blob's md5, sha1, sha256 and sha512 in lower-case hex, computed by
-- the blob store in the pass that stored the blob: Maven serves them as
-- .md5/.sha1/.sha256/.sha512 files, NuGet wants the SHA-512. They are set
-- all four at once; NULL means not known yet (blobs recorded before this
-- migration), filled in on first read or by the purge job.

ALTER TABLE blobs ADD COLUMN md5 TEXT;
ALTER TABLE blobs ADD COLUMN sha1 TEXT;
ALTER TABLE blobs ADD COLUMN sha256 TEXT;
ALTER TABLE blobs ADD COLUMN sha512 TEXT;

CREATE INDEX blobs_no_checksums_idx ON blobs (digest) WHERE sha512 IS NULL;
