-- Per-body response deadlines (SQLite). Append-only: later changes go in new files.
-- A category's deadline (`categories.sla_amount`, `sla_unit`) is the default for every body; a
-- row here replaces it for reports of that category routed to that body ("cleaning routed to
-- Tbilservice: 2 working days"). Deadlines already computed are stored on the reports and are
-- not touched when a row changes; the rule applies from the next routing on.
CREATE TABLE sla_overrides (
    category_id TEXT NOT NULL REFERENCES categories (id),
    body_id     TEXT NOT NULL REFERENCES bodies (id),
    sla_amount  INTEGER NOT NULL CHECK (sla_amount > 0),
    sla_unit    TEXT NOT NULL CHECK (sla_unit IN ('working_days', 'working_hours')),
    PRIMARY KEY (category_id, body_id)
);
