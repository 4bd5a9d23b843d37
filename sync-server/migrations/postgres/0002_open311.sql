-- Open311 GeoReport v2 (issue #5), PostgreSQL. Append-only: later changes go in new files.
-- Mirrors migrations/sqlite/0002_open311.sql table for table and column for column.
-- Reports that arrive through Open311 are ordinary reports (same tables, same workflow); these
-- tables only hold what the Open311 door itself needs: who may post, and the token and private
-- contact details of each posting.

-- API keys issued by an admin to registered apps. Only the sha256 of a key is stored: a leaked
-- database grants no posting rights. Each key posts through an account of its own (role
-- resident), created together with the key, so the app shows up as the reporter.
CREATE TABLE open311_api_keys (
    id            uuid PRIMARY KEY,
    key_sha256    text NOT NULL CONSTRAINT open311_api_keys_key_sha256_key UNIQUE,
    app_name      text NOT NULL,
    contact_email text NOT NULL,
    account_id    uuid NOT NULL CONSTRAINT open311_api_keys_account_key UNIQUE REFERENCES users (id),
    created_at    timestamptz NOT NULL
);

-- One row per service request posted through Open311: the token the POST answered with (for
-- GET tokens/{token}), the key that posted it, and the submitter's contact details as the app
-- sent them. The contact details are never public.
CREATE TABLE open311_submissions (
    token      text PRIMARY KEY,
    report_id  uuid NOT NULL CONSTRAINT open311_submissions_report_key UNIQUE REFERENCES reports (id),
    key_id     uuid NOT NULL REFERENCES open311_api_keys (id),
    email      text,
    first_name text,
    last_name  text,
    phone      text,
    device_id  text,
    account_id text,
    created_at timestamptz NOT NULL
);

-- GET requests?updated_after=… and the servicerequestupdates feed read by time.
CREATE INDEX reports_updated ON reports (updated_at);
CREATE INDEX report_events_at ON report_events (at);
