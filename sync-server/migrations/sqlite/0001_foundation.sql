-- Foundation schema (SQLite). Append-only: later changes go in new files.
-- Times are INTEGER milliseconds since the Unix epoch (UTC); ids of run-time records are
-- UUIDs stored as 16-byte BLOBs; slugs are TEXT.

-- Reference data: what can be reported, who answers, where.
CREATE TABLE categories (
    id          TEXT PRIMARY KEY,
    name_ka     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    sla_amount  INTEGER NOT NULL CHECK (sla_amount > 0),
    sla_unit    TEXT NOT NULL CHECK (sla_unit IN ('working_days', 'working_hours')),
    active      INTEGER NOT NULL DEFAULT 1,
    position    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE districts (
    id          TEXT PRIMARY KEY,
    name_ka     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    -- GeoJSON geometry (Polygon or MultiPolygon); point-in-polygon runs in Rust.
    geometry    TEXT NOT NULL
);

CREATE TABLE bodies (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    name_ka     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    district_id TEXT REFERENCES districts (id),
    head_email  TEXT
);

-- category × district → body; district NULL means every district.
CREATE TABLE routing_rules (
    category_id TEXT NOT NULL REFERENCES categories (id),
    district_id TEXT REFERENCES districts (id),
    body_id     TEXT NOT NULL REFERENCES bodies (id)
);
CREATE UNIQUE INDEX routing_rules_key ON routing_rules (category_id, COALESCE(district_id, ''));

CREATE TABLE response_templates (
    id          TEXT PRIMARY KEY,
    category_id TEXT NOT NULL REFERENCES categories (id),
    title_ka    TEXT NOT NULL,
    title_en    TEXT NOT NULL,
    body_ka     TEXT NOT NULL,
    body_en     TEXT NOT NULL
);

-- Accounts.
CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    district_id   TEXT REFERENCES districts (id),
    body_id       TEXT REFERENCES bodies (id),
    created_at    INTEGER NOT NULL
);

-- Only the sha256 of a session token is stored: a leaked database grants no sessions.
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id      BLOB NOT NULL REFERENCES users (id),
    expires_at   INTEGER NOT NULL
);

-- Reports. `number` is the short public reference (#1234) and the R*Tree key.
CREATE TABLE reports (
    number             INTEGER PRIMARY KEY AUTOINCREMENT,
    id                 BLOB NOT NULL UNIQUE,
    category_id        TEXT NOT NULL REFERENCES categories (id),
    district_id        TEXT NOT NULL REFERENCES districts (id),
    body_id            TEXT REFERENCES bodies (id),
    status             TEXT NOT NULL,
    lat                REAL NOT NULL,
    lon                REAL NOT NULL,
    description        TEXT NOT NULL,
    address            TEXT,
    reporter_id        BLOB NOT NULL REFERENCES users (id),
    hide_reporter_name INTEGER NOT NULL DEFAULT 0,
    crew_id            BLOB REFERENCES users (id),
    duplicate_of       BLOB,
    created_at         INTEGER NOT NULL,
    routed_at          INTEGER,
    deadline           INTEGER,
    closed_at          INTEGER,
    overdue_at         INTEGER,
    updated_at         INTEGER NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1,
    payload_sha256     TEXT NOT NULL,
    hidden             INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX reports_created ON reports (created_at);
CREATE INDEX reports_body_status ON reports (body_id, status, deadline);
CREATE INDEX reports_district_status ON reports (district_id, status, deadline);
CREATE INDEX reports_crew ON reports (crew_id) WHERE crew_id IS NOT NULL;
CREATE INDEX reports_reporter ON reports (reporter_id);
CREATE INDEX reports_open_deadline ON reports (deadline)
    WHERE overdue_at IS NULL AND status IN ('routed', 'acknowledged', 'in_progress', 'reopened');

-- Spatial index over report points, kept in step by triggers.
CREATE VIRTUAL TABLE reports_rtree USING rtree (number, min_lat, max_lat, min_lon, max_lon);
CREATE TRIGGER reports_rtree_insert AFTER INSERT ON reports BEGIN
    INSERT INTO reports_rtree VALUES (NEW.number, NEW.lat, NEW.lat, NEW.lon, NEW.lon);
END;
CREATE TRIGGER reports_rtree_move AFTER UPDATE OF lat, lon ON reports BEGIN
    UPDATE reports_rtree SET min_lat = NEW.lat, max_lat = NEW.lat, min_lon = NEW.lon, max_lon = NEW.lon
    WHERE number = NEW.number;
END;
CREATE TRIGGER reports_rtree_delete AFTER DELETE ON reports BEGIN
    DELETE FROM reports_rtree WHERE number = OLD.number;
END;

-- Report photos and proof photos, kept apart by `kind`; pixels live in the blob store.
CREATE TABLE report_photos (
    report_id  BLOB NOT NULL REFERENCES reports (id),
    position   INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('report', 'proof')),
    sha256     TEXT NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (report_id, position)
);

-- The timeline: every transition with who, when, a public and an internal note.
CREATE TABLE report_events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id     BLOB NOT NULL REFERENCES reports (id),
    at            INTEGER NOT NULL,
    actor_id      BLOB REFERENCES users (id),
    actor_role    TEXT,
    action        TEXT NOT NULL,
    from_status   TEXT,
    to_status     TEXT NOT NULL,
    public_note   TEXT,
    internal_note TEXT,
    data          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX report_events_report ON report_events (report_id, seq);

-- Outbox: messages queued in the same transaction as the change that caused them.
CREATE TABLE notifications (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    report_id  BLOB,
    created_at INTEGER NOT NULL,
    sent_at    INTEGER
);
