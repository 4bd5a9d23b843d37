//! The migrations, applied in order; the file's `PRAGMA user_version` is how many have run.
//! Append-only: a released migration is never edited.

/// Every migration, oldest first.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    -- Device id, sequence counter, cursor, tokens, last sync: small values by key.
    CREATE TABLE sync_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    -- The outbox: every command the user gave, in capture order (device_seq). Rows outlive their
    -- acknowledgement for the retention period so a server restored from a backup can be given
    -- again what it lost.
    CREATE TABLE outbox (
        mutation_id          TEXT PRIMARY KEY,
        device_seq           INTEGER NOT NULL UNIQUE,
        kind                 TEXT NOT NULL,
        v                    INTEGER NOT NULL,
        payload              TEXT NOT NULL,            -- JSON, hashed into payload_sha256
        payload_sha256       TEXT NOT NULL,
        report_id            TEXT,                     -- the report it concerns, for overlays
        client_time          TEXT NOT NULL,            -- RFC 3339, as sent
        state                TEXT NOT NULL DEFAULT 'pending'
                             CHECK (state IN ('pending', 'in_flight', 'acked', 'rejected')),
        attempts             INTEGER NOT NULL DEFAULT 0,
        next_attempt_at      INTEGER NOT NULL DEFAULT 0,  -- ms since epoch
        last_error           TEXT,
        rejection_code       TEXT,
        rejection_message    TEXT,
        rejection_message_ka TEXT,
        rejection_field      TEXT,
        acked_epoch          TEXT,                     -- the server history that acknowledged it
        settled_at           INTEGER,                  -- ms; when acked or rejected (retention)
        result               TEXT                      -- JSON result of an applied mutation
    ) STRICT;
    CREATE INDEX outbox_by_state ON outbox (state, device_seq);
    CREATE INDEX outbox_by_report ON outbox (report_id);

    -- Photos prepared on the phone (metadata stripped, resized), uploaded with tus after their
    -- mutation is acknowledged.
    CREATE TABLE photos (
        id            INTEGER PRIMARY KEY,
        mutation_id   TEXT NOT NULL REFERENCES outbox (mutation_id) ON DELETE CASCADE,
        position      INTEGER NOT NULL,
        report_id     TEXT NOT NULL,
        kind          TEXT NOT NULL CHECK (kind IN ('report', 'proof')),
        sha256        TEXT NOT NULL,
        size          INTEGER NOT NULL,
        jpeg          BLOB NOT NULL,
        thumb         BLOB NOT NULL,
        taken_at      TEXT,                            -- JSON LatLon
        upload_url    TEXT,                            -- tus upload, once created
        upload_offset INTEGER NOT NULL DEFAULT 0,      -- last offset the server acknowledged
        done          INTEGER NOT NULL DEFAULT 0,
        UNIQUE (mutation_id, position)
    ) STRICT;

    -- Reports synced from the server (SyncedReport JSON), with the relation flags as columns for
    -- the lists.
    CREATE TABLE reports (
        id             TEXT PRIMARY KEY,
        version        INTEGER NOT NULL,
        data           TEXT NOT NULL,
        mine           INTEGER NOT NULL,
        assigned_to_me INTEGER NOT NULL,
        following      INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL                 -- ms, for the lists' order
    ) STRICT;

    -- Reference data synced from the server: categories, bodies, districts, the routing table,
    -- SLA overrides, the calendar. `entity` is the feed's EntityKind name.
    CREATE TABLE reference (
        entity  TEXT NOT NULL,
        id      TEXT NOT NULL,
        version INTEGER NOT NULL,
        data    TEXT NOT NULL,
        PRIMARY KEY (entity, id)
    ) STRICT;
    "#,
    // 2: every outbox row belongs to the account it was captured under, so a queue never leaves
    // the phone under another account's token. NULL: captured before anyone signed in on this
    // phone; such a row goes to whoever signs in first and is bound to that account when it is
    // sent. Rows already queued are given to the account signed in at the upgrade (the one the
    // old version would have sent them as), and that account is remembered as the last one.
    r#"
    ALTER TABLE outbox ADD COLUMN account_id TEXT;      -- the account's id (its e-mail if it had none)
    ALTER TABLE outbox ADD COLUMN account_email TEXT;   -- for "waiting for … to sign in"

    UPDATE outbox SET
        account_id = (SELECT CAST(COALESCE(json_extract(value, '$.id'), json_extract(value, '$.email')) AS TEXT)
                      FROM sync_meta WHERE key = 'account'),
        account_email = (SELECT CAST(json_extract(value, '$.email') AS TEXT)
                         FROM sync_meta WHERE key = 'account');

    INSERT INTO sync_meta (key, value) SELECT 'last_account', value FROM sync_meta WHERE key = 'account';

    CREATE INDEX outbox_by_account ON outbox (account_id, state, device_seq);
    "#,
];
