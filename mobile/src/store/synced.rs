//! State synced from the server: reports and reference data, written only by applying pull
//! pages and snapshots.
//!
//! A page is applied together with its cursor in ONE transaction: either the phone has the page
//! and knows it, or neither. Upserts never replace a newer `version` (re-applying a page, or a
//! snapshot overlapping the feed, is harmless); tombstones delete.

use super::{Store, meta, set_meta, to_ms};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Deserialize;
use smartmap_shared::body::Body;
use smartmap_shared::calendar::Calendar;
use smartmap_shared::category::Category;
use smartmap_shared::district::District;
use smartmap_shared::sla::SlaRule;
use smartmap_shared::sync::{Change, Cursor, EntityKind, PullPage, RoutingSnapshot, Snapshot, SyncedReport};
use uuid::Uuid;

/// The reference data the phone holds, typed.
#[derive(Debug, Clone, Default)]
pub struct ReferenceData {
    /// Every category (active or not).
    pub categories: Vec<Category>,
    /// Every body.
    pub bodies: Vec<Body>,
    /// Every district, with its polygon.
    pub districts: Vec<District>,
    /// The routing table, once synced.
    pub routing: Option<RoutingSnapshot>,
    /// Per-body deadline overrides.
    pub sla_rules: Vec<SlaRule>,
    /// The working-day calendar, once synced.
    pub calendar: Option<Calendar>,
}

/// Checks that a change's data is what its entity kind says, so a malformed page is refused
/// whole instead of half-stored.
fn validate(entity: EntityKind, data: &serde_json::Value) -> Result<()> {
    fn check<T: serde::de::DeserializeOwned>(entity: EntityKind, data: &serde_json::Value) -> Result<()> {
        T::deserialize(data).map(|_| ()).map_err(|e| Error::Corrupt(format!("a {} change: {e}", entity.as_str())))
    }
    match entity {
        EntityKind::Category => check::<Category>(entity, data),
        EntityKind::Body => check::<Body>(entity, data),
        EntityKind::District => check::<District>(entity, data),
        EntityKind::Routing => check::<RoutingSnapshot>(entity, data),
        EntityKind::SlaRules => check::<Vec<SlaRule>>(entity, data),
        EntityKind::Calendar => check::<Calendar>(entity, data),
        EntityKind::Report => check::<SyncedReport>(entity, data),
    }
}

fn apply_change(tx: &Transaction<'_>, change: &Change) -> Result<()> {
    if change.deleted {
        match change.entity {
            EntityKind::Report => tx.execute("DELETE FROM reports WHERE id = ?1", [&change.id])?,
            other => tx.execute("DELETE FROM reference WHERE entity = ?1 AND id = ?2", [other.as_str(), &change.id])?,
        };
        return Ok(());
    }
    let data = change.data.as_ref().ok_or_else(|| {
        Error::Corrupt(format!("{} {} has neither data nor a tombstone", change.entity.as_str(), change.id))
    })?;
    validate(change.entity, data)?;
    let text = serde_json::to_string(data)?;
    match change.entity {
        EntityKind::Report => {
            let report = SyncedReport::deserialize(data)?;
            tx.execute(
                "INSERT INTO reports (id, version, data, mine, assigned_to_me, following, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data,
                    mine = excluded.mine, assigned_to_me = excluded.assigned_to_me,
                    following = excluded.following, updated_at = excluded.updated_at
                 WHERE excluded.version >= reports.version",
                params![
                    change.id,
                    change.version,
                    text,
                    report.mine,
                    report.assigned_to_me,
                    report.following,
                    to_ms(report.updated_at)
                ],
            )?;
        }
        other => {
            tx.execute(
                "INSERT INTO reference (entity, id, version, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (entity, id) DO UPDATE SET version = excluded.version, data = excluded.data
                 WHERE excluded.version >= reference.version",
                params![other.as_str(), change.id, change.version, text],
            )?;
        }
    }
    Ok(())
}

impl Store {
    /// Applies a pull page and stores its cursor, in one transaction.
    pub fn apply_page(&mut self, page: &PullPage) -> Result<()> {
        let tx = self.conn.transaction()?;
        for change in &page.changes {
            apply_change(&tx, change)?;
        }
        set_meta(&tx, meta::CURSOR, &page.cursor.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces all synced state with a snapshot and stores its cursor, in one transaction; in
    /// the same transaction, every mutation acknowledged in another epoch than the snapshot's
    /// goes back to `pending` (its photo uploads reset), so what a restored server lost is pushed
    /// again — the server answers `duplicate` for what it still has. Returns how many were
    /// re-queued.
    pub fn apply_snapshot(&mut self, snapshot: &Snapshot) -> Result<usize> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM reports", [])?;
        tx.execute("DELETE FROM reference", [])?;
        for change in &snapshot.entities {
            apply_change(&tx, change)?;
        }
        set_meta(&tx, meta::CURSOR, &snapshot.cursor.to_string())?;
        let epoch = &snapshot.cursor.epoch;
        let foreign =
            "SELECT mutation_id FROM outbox WHERE state = 'acked' AND (acked_epoch IS NULL OR acked_epoch <> ?1)";
        tx.execute(
            &format!(
                "UPDATE photos SET upload_url = NULL, upload_offset = 0, done = 0 WHERE mutation_id IN ({foreign})"
            ),
            [epoch],
        )?;
        let requeued = tx.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = 0, attempts = 0, acked_epoch = NULL,
                    settled_at = NULL, result = NULL
             WHERE state = 'acked' AND (acked_epoch IS NULL OR acked_epoch <> ?1)",
            [epoch],
        )?;
        tx.commit()?;
        Ok(requeued)
    }

    /// The reference data held, typed.
    pub fn reference(&self) -> Result<ReferenceData> {
        let mut stmt = self.conn.prepare("SELECT entity, data FROM reference ORDER BY entity, id")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = ReferenceData::default();
        for (entity, data) in rows {
            match EntityKind::parse(&entity) {
                Some(EntityKind::Category) => out.categories.push(serde_json::from_str(&data)?),
                Some(EntityKind::Body) => out.bodies.push(serde_json::from_str(&data)?),
                Some(EntityKind::District) => out.districts.push(serde_json::from_str(&data)?),
                Some(EntityKind::Routing) => out.routing = Some(serde_json::from_str(&data)?),
                Some(EntityKind::SlaRules) => out.sla_rules = serde_json::from_str(&data)?,
                Some(EntityKind::Calendar) => out.calendar = Some(serde_json::from_str(&data)?),
                Some(EntityKind::Report) | None => return Err(Error::Corrupt(format!("reference entity '{entity}'"))),
            }
        }
        Ok(out)
    }

    /// The stored version of an entity, if held.
    pub fn version_of(&self, entity: EntityKind, id: &str) -> Result<Option<i64>> {
        Ok(match entity {
            EntityKind::Report => {
                self.conn.query_row("SELECT version FROM reports WHERE id = ?1", [id], |r| r.get(0)).optional()?
            }
            other => self
                .conn
                .query_row("SELECT version FROM reference WHERE entity = ?1 AND id = ?2", [other.as_str(), id], |r| {
                    r.get(0)
                })
                .optional()?,
        })
    }

    fn reports_where(&self, filter: &str, args: impl rusqlite::Params) -> Result<Vec<SyncedReport>> {
        let mut stmt = self.conn.prepare(&format!("SELECT data FROM reports {filter}"))?;
        let rows = stmt.query_map(args, |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.iter().map(|text| Ok(serde_json::from_str(text)?)).collect()
    }

    /// The user's own reports, newest first.
    pub fn my_synced_reports(&self) -> Result<Vec<SyncedReport>> {
        self.reports_where("WHERE mine = 1 ORDER BY updated_at DESC", [])
    }

    /// Reports assigned to the user (a field crew's tickets), newest first.
    pub fn my_synced_tickets(&self) -> Result<Vec<SyncedReport>> {
        self.reports_where("WHERE assigned_to_me = 1 ORDER BY updated_at DESC", [])
    }

    /// One synced report.
    pub fn synced_report(&self, id: Uuid) -> Result<Option<SyncedReport>> {
        Ok(self.reports_where("WHERE id = ?1", [id.to_string()])?.pop())
    }

    /// Records the server's clock relative to the phone's.
    pub fn record_server_time(&mut self, server_time: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
        self.set_meta(meta::SERVER_OFFSET_MS, &(to_ms(server_time) - to_ms(now)).to_string())
    }

    /// Whether a cursor is stored (the phone has pulled at least once).
    pub fn has_cursor(&self) -> Result<bool> {
        Ok(self.cursor()?.is_some())
    }

    /// The epoch of the stored cursor.
    pub fn epoch(&self) -> Result<Option<String>> {
        Ok(self.cursor()?.map(|c: Cursor| c.epoch))
    }
}
