-- tokens.revoked_at is when an administrator revoked a personal access
-- token; a revoked token (and every registry bearer token minted from it)
-- is refused. The row stays, so that the token list shows the revocation.

ALTER TABLE tokens ADD COLUMN revoked_at TIMESTAMPTZ;
