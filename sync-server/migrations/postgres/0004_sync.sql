-- Sync with the offline phone app (issue #3, docs/sync.md), PostgreSQL. Append-only.
-- Mirrors migrations/sqlite/0004_sync.sql table for table.
--
-- The change feed is written by triggers, in the very transaction that made the change. Every
-- trigger takes one transaction-level advisory lock before it draws a sequence number, so
-- change-log writers are serialised until commit: sequence numbers become visible in commit
-- order, and a pull never skips a lower seq that commits after a higher one.

CREATE TABLE sync_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO sync_meta (key, value) VALUES ('epoch', replace(gen_random_uuid()::text, '-', ''));

-- One row per (change, interested user); audience_user NULL = everyone (reference data).
CREATE TABLE change_log (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity        text NOT NULL,
    entity_id     text NOT NULL,
    audience_user uuid,
    deleted       boolean NOT NULL DEFAULT false
);
CREATE INDEX change_log_audience ON change_log (audience_user, seq);
CREATE INDEX change_log_everyone ON change_log (seq) WHERE audience_user IS NULL;

CREATE TABLE applied_mutations (
    mutation_id    uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id),
    device_id      uuid NOT NULL,
    device_seq     bigint NOT NULL,
    kind           text NOT NULL,
    payload_sha256 text NOT NULL,
    outcome        text NOT NULL CHECK (outcome IN ('applied', 'rejected')),
    result         jsonb,
    rejection      jsonb,
    created_at     timestamptz NOT NULL
);

CREATE TABLE follows (
    user_id    uuid NOT NULL REFERENCES users (id),
    report_id  uuid NOT NULL REFERENCES reports (id),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, report_id)
);
CREATE INDEX follows_report ON follows (report_id);

CREATE TABLE expected_photos (
    report_id     uuid NOT NULL REFERENCES reports (id),
    kind          text NOT NULL CHECK (kind IN ('report', 'proof')),
    upload_sha256 text NOT NULL,
    position      integer NOT NULL,
    size          bigint NOT NULL,
    taken_lat     double precision,
    taken_lon     double precision,
    photo_sha256  text,
    PRIMARY KEY (report_id, kind, upload_sha256)
);

CREATE TABLE staged_photos (
    report_id     uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('report', 'proof')),
    upload_sha256 text NOT NULL,
    uploader      uuid NOT NULL REFERENCES users (id),
    sha256        text NOT NULL,
    width         integer NOT NULL,
    height        integer NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (report_id, kind, upload_sha256)
);

-- The key of the advisory lock every change-log write takes ('sync' in ASCII).
CREATE FUNCTION change_log_lock() RETURNS void LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock(1937337955) $$;

-- A report changed: a row for everyone whose app holds it (reporter, crew, followers).
CREATE FUNCTION change_log_report(rid uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM change_log_lock();
    INSERT INTO change_log (entity, entity_id, audience_user)
        SELECT 'report', rid::text, u FROM (
            SELECT reporter_id AS u FROM reports WHERE id = rid
            UNION SELECT crew_id FROM reports WHERE id = rid AND crew_id IS NOT NULL
            UNION SELECT user_id FROM follows WHERE report_id = rid
        ) audience;
END $$;

CREATE FUNCTION change_log_holds(rid uuid, who uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM reports WHERE id = rid AND (reporter_id = who OR crew_id = who))
        OR EXISTS (SELECT 1 FROM follows WHERE report_id = rid AND user_id = who)
$$;

CREATE FUNCTION change_log_on_report() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM change_log_report(NEW.id);
    -- A crew that lost the ticket gets a tombstone, unless it still holds the report otherwise.
    IF TG_OP = 'UPDATE' AND OLD.crew_id IS NOT NULL AND OLD.crew_id IS DISTINCT FROM NEW.crew_id
       AND NOT change_log_holds(NEW.id, OLD.crew_id) THEN
        INSERT INTO change_log (entity, entity_id, audience_user, deleted)
            VALUES ('report', NEW.id::text, OLD.crew_id, true);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER change_log_report AFTER INSERT OR UPDATE ON reports
    FOR EACH ROW EXECUTE FUNCTION change_log_on_report();

CREATE FUNCTION change_log_on_report_part() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM change_log_report(NEW.report_id);
    RETURN NULL;
END $$;
CREATE TRIGGER change_log_photo AFTER INSERT ON report_photos
    FOR EACH ROW EXECUTE FUNCTION change_log_on_report_part();
CREATE TRIGGER change_log_expected AFTER INSERT OR UPDATE ON expected_photos
    FOR EACH ROW EXECUTE FUNCTION change_log_on_report_part();

CREATE FUNCTION change_log_on_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM change_log_lock();
    IF TG_OP = 'INSERT' THEN
        INSERT INTO change_log (entity, entity_id, audience_user) VALUES ('report', NEW.report_id::text, NEW.user_id);
    ELSIF NOT change_log_holds(OLD.report_id, OLD.user_id) THEN
        INSERT INTO change_log (entity, entity_id, audience_user, deleted)
            VALUES ('report', OLD.report_id::text, OLD.user_id, true);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER change_log_follow AFTER INSERT OR DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION change_log_on_follow();

-- Reference data: one audience-free row per changed row (slug tables) or per statement (whole
-- tables, whose id is `table`). TG_ARGV[0] is the feed's entity name.
CREATE FUNCTION change_log_on_reference_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM change_log_lock();
    IF TG_OP = 'DELETE' THEN
        INSERT INTO change_log (entity, entity_id, deleted) VALUES (TG_ARGV[0], OLD.id, true);
    ELSE
        INSERT INTO change_log (entity, entity_id) VALUES (TG_ARGV[0], NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER change_log_category AFTER INSERT OR UPDATE OR DELETE ON categories
    FOR EACH ROW EXECUTE FUNCTION change_log_on_reference_row('category');
CREATE TRIGGER change_log_body AFTER INSERT OR UPDATE OR DELETE ON bodies
    FOR EACH ROW EXECUTE FUNCTION change_log_on_reference_row('body');
CREATE TRIGGER change_log_district AFTER INSERT OR UPDATE OR DELETE ON districts
    FOR EACH ROW EXECUTE FUNCTION change_log_on_reference_row('district');

CREATE FUNCTION change_log_on_reference_table() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM change_log_lock();
    INSERT INTO change_log (entity, entity_id) VALUES (TG_ARGV[0], 'table');
    RETURN NULL;
END $$;
CREATE TRIGGER change_log_routing AFTER INSERT OR UPDATE OR DELETE ON routing_rules
    FOR EACH STATEMENT EXECUTE FUNCTION change_log_on_reference_table('routing');
CREATE TRIGGER change_log_sla AFTER INSERT OR UPDATE OR DELETE ON sla_overrides
    FOR EACH STATEMENT EXECUTE FUNCTION change_log_on_reference_table('sla_rules');
