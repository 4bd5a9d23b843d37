-- Open311 GeoReport v2 (issue #5), SQLite. Append-only: later changes go in new files.
-- Reports that arrive through Open311 are ordinary reports (same tables, same workflow); these
-- tables only hold what the Open311 door itself needs: who may post, and the token and private
-- contact details of each posting.

-- API keys issued by an admin to registered apps. Only the sha256 of a key is stored: a leaked
-- database grants no posting rights. Each key posts through an account of its own (role
-- resident), created together with the key, so the app shows up as the reporter.
CREATE TABLE open311_api_keys (
    id            BLOB PRIMARY KEY,
    key_sha256    TEXT NOT NULL UNIQUE,
    app_name      TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    account_id    BLOB NOT NULL UNIQUE REFERENCES users (id),
    created_at    INTEGER NOT NULL
);

-- One row per service request posted through Open311: the token the POST answered with (for
-- GET tokens/{token}), the key that posted it, and the submitter's contact details as the app
-- sent them. The contact details are never public.
CREATE TABLE open311_submissions (
    token      TEXT PRIMARY KEY,
    report_id  BLOB NOT NULL UNIQUE REFERENCES reports (id),
    key_id     BLOB NOT NULL REFERENCES open311_api_keys (id),
    email      TEXT,
    first_name TEXT,
    last_name  TEXT,
    phone      TEXT,
    device_id  TEXT,
    account_id TEXT,
    created_at INTEGER NOT NULL
);

-- GET requests?updated_after=… and the servicerequestupdates feed read by time.
CREATE INDEX reports_updated ON reports (updated_at);
CREATE INDEX report_events_at ON report_events (at);
