-- Device sign-in (docs/sync.md, "Accounts on a device"): a phone signs in with its device id and
-- gets a short-lived access token (an ordinary row in `sessions`) plus a refresh token bound to
-- the device. Every refresh spends the presented token and issues a successor; all tokens
-- descended from one sign-in share a `chain_id`, so a stolen (reused) token revokes them all.
-- Only the sha256 of a token is stored, like sessions.
CREATE TABLE device_refresh_tokens (
    token_sha256     text PRIMARY KEY,
    chain_id         uuid NOT NULL,
    user_id          uuid NOT NULL REFERENCES users (id),
    device_id        uuid NOT NULL,
    -- The access session issued together with this token (ended when the chain is revoked).
    session_sha256   text NOT NULL,
    issued_at        timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    -- Set when the token is exchanged; a retry within the grace gets a fresh pair.
    spent_at         timestamptz,
    -- The token issued in exchange for this one (revoked if a retry within the grace replaces it).
    successor_sha256 text,
    revoked_at       timestamptz
);

CREATE INDEX device_refresh_tokens_chain ON device_refresh_tokens (chain_id);
CREATE INDEX device_refresh_tokens_session ON device_refresh_tokens (session_sha256);
