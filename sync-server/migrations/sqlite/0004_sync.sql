-- Sync with the offline phone app (issue #3, docs/sync.md), SQLite. Append-only.
--
-- The change feed is written by triggers, so every change lands in `change_log` in the very
-- transaction that made it: no code path can change a report (or reference data) and forget the
-- feed, and a rolled-back change leaves no feed row behind. SQLite has one writer at a time, so
-- sequence numbers are committed in order and a pull never skips a late-committing lower seq.

-- The database's epoch: one history of this database. Replaced after a restore from a backup
-- (`smartmap restore`, `smartmap new-epoch`), so cursors of the old history are refused (410).
CREATE TABLE sync_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO sync_meta (key, value) VALUES ('epoch', lower(hex(randomblob(12))));

-- One row per (change, interested user); audience_user NULL = everyone (reference data).
-- entity_id: a report's id as 32 lowercase hex digits, a slug, or `table` for whole tables.
CREATE TABLE change_log (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    entity        TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    audience_user BLOB,
    deleted       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX change_log_audience ON change_log (audience_user, seq);
CREATE INDEX change_log_everyone ON change_log (seq) WHERE audience_user IS NULL;

-- Every mutation a phone pushed, applied or rejected, so a resend gets the same answer.
CREATE TABLE applied_mutations (
    mutation_id    BLOB PRIMARY KEY,
    user_id        BLOB NOT NULL REFERENCES users (id),
    device_id      BLOB NOT NULL,
    device_seq     INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('applied', 'rejected')),
    result         TEXT,
    rejection      TEXT,
    created_at     INTEGER NOT NULL
);

-- Who follows which report (their feed carries its changes).
CREATE TABLE follows (
    user_id    BLOB NOT NULL REFERENCES users (id),
    report_id  BLOB NOT NULL REFERENCES reports (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, report_id)
);
CREATE INDEX follows_report ON follows (report_id);

-- Photos a mutation promised; photo_sha256 (the processed photo) is NULL until it arrives.
CREATE TABLE expected_photos (
    report_id     BLOB NOT NULL REFERENCES reports (id),
    kind          TEXT NOT NULL CHECK (kind IN ('report', 'proof')),
    upload_sha256 TEXT NOT NULL,
    position      INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    taken_lat     REAL,
    taken_lon     REAL,
    photo_sha256  TEXT,
    PRIMARY KEY (report_id, kind, upload_sha256)
);

-- Photos whose upload completed before the mutation that promises them; claimed when it lands.
CREATE TABLE staged_photos (
    report_id     BLOB NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('report', 'proof')),
    upload_sha256 TEXT NOT NULL,
    uploader      BLOB NOT NULL REFERENCES users (id),
    sha256        TEXT NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (report_id, kind, upload_sha256)
);

-- Everyone whose app holds a report: its reporter, its crew, its followers.
CREATE VIEW report_audience (report_id, user_id) AS
    SELECT id, reporter_id FROM reports
    UNION SELECT id, crew_id FROM reports WHERE crew_id IS NOT NULL
    UNION SELECT report_id, user_id FROM follows;

CREATE TRIGGER change_log_report_insert AFTER INSERT ON reports BEGIN
    INSERT INTO change_log (entity, entity_id, audience_user)
        SELECT 'report', lower(hex(NEW.id)), user_id FROM report_audience WHERE report_id = NEW.id;
END;
CREATE TRIGGER change_log_report_update AFTER UPDATE ON reports BEGIN
    INSERT INTO change_log (entity, entity_id, audience_user)
        SELECT 'report', lower(hex(NEW.id)), user_id FROM report_audience WHERE report_id = NEW.id;
    -- A crew that lost the ticket (reassigned, re-routed, reopened) gets a tombstone, unless it
    -- still holds the report another way.
    INSERT INTO change_log (entity, entity_id, audience_user, deleted)
        SELECT 'report', lower(hex(NEW.id)), OLD.crew_id, 1
        WHERE OLD.crew_id IS NOT NULL AND OLD.crew_id IS NOT NEW.crew_id
          AND NOT EXISTS (SELECT 1 FROM report_audience WHERE report_id = NEW.id AND user_id = OLD.crew_id);
END;
CREATE TRIGGER change_log_photo_insert AFTER INSERT ON report_photos BEGIN
    INSERT INTO change_log (entity, entity_id, audience_user)
        SELECT 'report', lower(hex(NEW.report_id)), user_id FROM report_audience WHERE report_id = NEW.report_id;
END;
CREATE TRIGGER change_log_expected_insert AFTER INSERT ON expected_photos BEGIN
    INSERT INTO change_log (entity, entity_id, audience_user)
        SELECT 'report', lower(hex(NEW.report_id)), user_id FROM report_audience WHERE report_id = NEW.report_id;
END;
CREATE TRIGGER change_log_expected_update AFTER UPDATE ON expected_photos BEGIN
    INSERT INTO change_log (entity, entity_id, audience_user)
        SELECT 'report', lower(hex(NEW.report_id)), user_id FROM report_audience WHERE report_id = NEW.report_id;
END;
CREATE TRIGGER change_log_follow_insert AFTER INSERT ON follows BEGIN
    INSERT INTO change_log (entity, entity_id, audience_user) VALUES ('report', lower(hex(NEW.report_id)), NEW.user_id);
END;
CREATE TRIGGER change_log_follow_delete AFTER DELETE ON follows BEGIN
    INSERT INTO change_log (entity, entity_id, audience_user, deleted)
        SELECT 'report', lower(hex(OLD.report_id)), OLD.user_id, 1
        WHERE NOT EXISTS (SELECT 1 FROM report_audience WHERE report_id = OLD.report_id AND user_id = OLD.user_id);
END;

-- Reference data: one audience-free row per change.
CREATE TRIGGER change_log_category_insert AFTER INSERT ON categories BEGIN
    INSERT INTO change_log (entity, entity_id) VALUES ('category', NEW.id);
END;
CREATE TRIGGER change_log_category_update AFTER UPDATE ON categories BEGIN
    INSERT INTO change_log (entity, entity_id) VALUES ('category', NEW.id);
END;
CREATE TRIGGER change_log_category_delete AFTER DELETE ON categories BEGIN
    INSERT INTO change_log (entity, entity_id, deleted) VALUES ('category', OLD.id, 1);
END;
CREATE TRIGGER change_log_body_insert AFTER INSERT ON bodies BEGIN
    INSERT INTO change_log (entity, entity_id) VALUES ('body', NEW.id);
END;
CREATE TRIGGER change_log_body_update AFTER UPDATE ON bodies BEGIN
    INSERT INTO change_log (entity, entity_id) VALUES ('body', NEW.id);
END;
CREATE TRIGGER change_log_body_delete AFTER DELETE ON bodies BEGIN
    INSERT INTO change_log (entity, entity_id, deleted) VALUES ('body', OLD.id, 1);
END;
CREATE TRIGGER change_log_district_insert AFTER INSERT ON districts BEGIN
    INSERT INTO change_log (entity, entity_id) VALUES ('district', NEW.id);
END;
CREATE TRIGGER change_log_district_update AFTER UPDATE ON districts BEGIN
    INSERT INTO change_log (entity, entity_id) VALUES ('district', NEW.id);
END;
CREATE TRIGGER change_log_district_delete AFTER DELETE ON districts BEGIN
    INSERT INTO change_log (entity, entity_id, deleted) VALUES ('district', OLD.id, 1);
END;
CREATE TRIGGER change_log_routing_insert AFTER INSERT ON routing_rules BEGIN
    INSERT INTO change_log (entity, entity_id) VALUES ('routing', 'table');
END;
CREATE TRIGGER change_log_routing_update AFTER UPDATE ON routing_rules BEGIN
    INSERT INTO change_log (entity, entity_id) VALUES ('routing', 'table');
END;
CREATE TRIGGER change_log_routing_delete AFTER DELETE ON routing_rules BEGIN
    INSERT INTO change_log (entity, entity_id) VALUES ('routing', 'table');
END;
CREATE TRIGGER change_log_sla_insert AFTER INSERT ON sla_overrides BEGIN
    INSERT INTO change_log (entity, entity_id) VALUES ('sla_rules', 'table');
END;
CREATE TRIGGER change_log_sla_update AFTER UPDATE ON sla_overrides BEGIN
    INSERT INTO change_log (entity, entity_id) VALUES ('sla_rules', 'table');
END;
CREATE TRIGGER change_log_sla_delete AFTER DELETE ON sla_overrides BEGIN
    INSERT INTO change_log (entity, entity_id) VALUES ('sla_rules', 'table');
END;
