-- Per-body response deadlines (PostgreSQL). Append-only: later changes go in new files.
-- Mirrors migrations/sqlite/0003_sla_overrides.sql column for column.
-- A category's deadline (`categories.sla_amount`, `sla_unit`) is the default for every body; a
-- row here replaces it for reports of that category routed to that body ("cleaning routed to
-- Tbilservice: 2 working days"). Deadlines already computed are stored on the reports and are
-- not touched when a row changes; the rule applies from the next routing on.
CREATE TABLE sla_overrides (
    category_id text COLLATE "C" NOT NULL REFERENCES categories (id),
    body_id     text COLLATE "C" NOT NULL REFERENCES bodies (id),
    sla_amount  integer NOT NULL CHECK (sla_amount > 0),
    sla_unit    text NOT NULL CHECK (sla_unit IN ('working_days', 'working_hours')),
    PRIMARY KEY (category_id, body_id)
);
