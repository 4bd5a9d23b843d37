//! The change feed (`GET /api/sync/pull`) and the snapshot (`GET /api/sync/snapshot`): what a
//! phone holds, built for the viewer from the current state of each changed entity.
//!
//! The feed's rows are written by database triggers in the transaction of each change; this
//! module only reads them. A report is shown as the viewer's app holds it ([`SyncedReport`]):
//! whether it is theirs, their ticket or one they follow, its public timeline, and never anyone
//! else's identity.

use crate::error::{ApiError, ApiResult};
use crate::reports::views::is_overdue;
use crate::state::AppState;
use crate::storage::{ChangeRow, ReportQuery, ReportRecord, UserRecord};
use serde_json::Value;
use smartmap_shared::geo::LatLon;
use smartmap_shared::ids::ReportId;
use smartmap_shared::sync::{
    Change, Cursor, EntityKind, MAX_PULL_PAGE, PendingPhoto, PullPage, RoutingSnapshot, Snapshot, SyncedEvent,
    SyncedPhoto, SyncedReport,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Changes per page when the phone does not say.
pub const DEFAULT_PULL_PAGE: u32 = 200;

/// The most reports a snapshot carries per relation (own, assigned, followed).
const SNAPSHOT_REPORTS: u32 = 10_000;

/// A cursor the server cannot continue from: another epoch (the database was restored) or a
/// position it never issued.
fn expired() -> ApiError {
    ApiError::CursorExpired
}

/// One page of `user`'s feed after `cursor` (from the start when `None`).
#[tracing::instrument(skip_all, fields(user = %user.id), err(Debug))]
pub async fn pull(
    state: &AppState,
    user: &UserRecord,
    cursor: Option<Cursor>,
    limit: Option<u32>,
) -> ApiResult<PullPage> {
    let epoch = state.storage.sync_epoch().await?;
    let after = match cursor {
        None => 0,
        Some(c) if c.epoch != epoch => return Err(expired()),
        Some(c) => {
            if c.seq > state.storage.change_head().await? {
                return Err(expired());
            }
            c.seq
        }
    };
    let limit = limit.unwrap_or(DEFAULT_PULL_PAGE).clamp(1, MAX_PULL_PAGE);
    let mut rows = state.storage.changes_after(user.id, after, limit + 1).await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let last = rows.last().map_or(after, |r| r.seq);

    // Within a page, an entity appears once: at its last row, with its current state.
    let mut latest: BTreeMap<(String, String), ChangeRow> = BTreeMap::new();
    for row in rows {
        latest.insert((row.entity.clone(), row.entity_id.clone()), row);
    }
    let mut rows: Vec<ChangeRow> = latest.into_values().collect();
    rows.sort_by_key(|r| r.seq);

    let report_ids: Vec<ReportId> = rows
        .iter()
        .filter(|r| r.entity == EntityKind::Report.as_str())
        .filter_map(|r| uuid::Uuid::parse_str(&r.entity_id).ok().map(ReportId))
        .collect();
    let mut records = Vec::with_capacity(report_ids.len());
    for id in &report_ids {
        if let Some(r) = state.storage.report(*id).await? {
            records.push(r);
        }
    }
    let versions: HashMap<ReportId, i64> = records.iter().map(|r| (r.id, r.version)).collect();
    let shown: Vec<ReportRecord> =
        records.into_iter().filter(|r| rows.iter().any(|row| !row.deleted && row.entity_id_is(r.id))).collect();
    let reports: HashMap<ReportId, SyncedReport> =
        synced_reports(state, user, shown).await?.into_iter().map(|r| (r.id, r)).collect();
    let mut reference = ReferenceReader::default();

    let mut changes = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(entity) = EntityKind::parse(&row.entity) else { continue };
        let tombstone =
            |version| Change { seq: row.seq, entity, id: row.entity_id.clone(), version, deleted: true, data: None };
        let change = if entity == EntityKind::Report {
            let Ok(id) = uuid::Uuid::parse_str(&row.entity_id).map(ReportId) else { continue };
            match reports.get(&id) {
                Some(r) if !row.deleted => Change {
                    seq: row.seq,
                    entity,
                    id: id.to_string(),
                    version: r.version,
                    deleted: false,
                    data: Some(serde_json::to_value(r).map_err(|e| ApiError::Internal(e.into()))?),
                },
                _ => Change { id: id.to_string(), ..tombstone(versions.get(&id).copied().unwrap_or(row.seq)) },
            }
        } else {
            match reference.entity(state, entity, &row.entity_id).await? {
                Some(data) if !row.deleted => Change {
                    seq: row.seq,
                    entity,
                    id: row.entity_id.clone(),
                    version: row.seq,
                    deleted: false,
                    data: Some(data),
                },
                _ => tombstone(row.seq),
            }
        };
        changes.push(change);
    }
    Ok(PullPage { changes, cursor: Cursor { epoch, seq: last }, has_more, server_time: state.clock.now() })
}

impl ChangeRow {
    fn entity_id_is(&self, id: ReportId) -> bool {
        self.entity == EntityKind::Report.as_str() && uuid::Uuid::parse_str(&self.entity_id).is_ok_and(|u| u == id.0)
    }
}

/// Everything `user`'s app holds, and the cursor to pull from afterwards — taken before reading,
/// so a change made meanwhile is pulled again rather than missed.
#[tracing::instrument(skip_all, fields(user = %user.id), err(Debug))]
pub async fn snapshot(state: &AppState, user: &UserRecord) -> ApiResult<Snapshot> {
    let epoch = state.storage.sync_epoch().await?;
    let head = state.storage.change_head().await?;
    let mut entities = Vec::new();
    let mut reference = ReferenceReader::default();
    for (entity, id) in reference.all_ids(state).await? {
        if let Some(data) = reference.entity(state, entity, &id).await? {
            entities.push(Change { seq: head, entity, id, version: head, deleted: false, data: Some(data) });
        }
    }
    let calendar = serde_json::to_value(&state.reference().calendar).map_err(|e| ApiError::Internal(e.into()))?;
    entities.push(Change {
        seq: head,
        entity: EntityKind::Calendar,
        id: "georgia".into(),
        version: 1,
        deleted: false,
        data: Some(calendar),
    });
    for report in synced_reports(state, user, held_reports(state, user).await?).await? {
        entities.push(Change {
            seq: head,
            entity: EntityKind::Report,
            id: report.id.to_string(),
            version: report.version,
            deleted: false,
            data: Some(serde_json::to_value(&report).map_err(|e| ApiError::Internal(e.into()))?),
        });
    }
    Ok(Snapshot { entities, cursor: Cursor { epoch, seq: head }, server_time: state.clock.now() })
}

/// The reports `user` holds: their own, their tickets, the ones they follow.
async fn held_reports(state: &AppState, user: &UserRecord) -> ApiResult<Vec<ReportRecord>> {
    let mine = ReportQuery { reporter: Some(user.id), limit: SNAPSHOT_REPORTS, ..ReportQuery::default() };
    let tickets = ReportQuery { crew: Some(user.id), limit: SNAPSHOT_REPORTS, ..ReportQuery::default() };
    let mut held = state.storage.query_reports(&mine).await?;
    held.extend(state.storage.query_reports(&tickets).await?);
    for id in state.storage.followed_reports(user.id).await? {
        held.extend(state.storage.report(id).await?);
    }
    let mut seen = HashSet::new();
    held.retain(|r| seen.insert(r.id));
    Ok(held)
}

/// Reports as `viewer`'s app holds them: public timeline, photos, promised photos not arrived,
/// and how the report relates to the viewer.
pub async fn synced_reports(
    state: &AppState,
    viewer: &UserRecord,
    records: Vec<ReportRecord>,
) -> ApiResult<Vec<SyncedReport>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<ReportId> = records.iter().map(|r| r.id).collect();
    let mut photos: HashMap<ReportId, Vec<SyncedPhoto>> = HashMap::new();
    for (id, p) in state.storage.photos_of_reports(&ids).await? {
        photos.entry(id).or_default().push(SyncedPhoto {
            kind: p.kind.as_str().into(),
            url: format!("/media/{}.jpg", p.sha256),
            thumb_url: format!("/media/{}.thumb.jpg", p.sha256),
            sha256: p.sha256,
        });
    }
    let mut pending: HashMap<ReportId, Vec<PendingPhoto>> = HashMap::new();
    for (id, e) in state.storage.expected_photos_of_reports(&ids).await? {
        if e.photo_sha256.is_none() {
            pending.entry(id).or_default().push(PendingPhoto { kind: e.kind.as_str().into(), sha256: e.upload_sha256 });
        }
    }
    let mut timelines: HashMap<ReportId, Vec<SyncedEvent>> = HashMap::new();
    for (id, e) in state.storage.events_of_reports(&ids).await? {
        if matches!(e.action.as_str(), "hide" | "unhide") {
            continue;
        }
        timelines.entry(id).or_default().push(SyncedEvent {
            at: e.at,
            action: e.action,
            status: e.to_status,
            note: e.public_note,
            by_role: e.actor_role.map(|r| r.as_str().to_owned()),
            by_me: e.actor == Some(viewer.id),
        });
    }
    let following: HashSet<ReportId> = state.storage.followed_reports(viewer.id).await?.into_iter().collect();
    records
        .into_iter()
        .map(|r| {
            let location = LatLon::new(r.lat, r.lon).map_err(|e| ApiError::Internal(e.into()))?;
            Ok(SyncedReport {
                id: r.id,
                number: r.number,
                category: r.category.as_str().to_owned(),
                district: r.district.as_str().to_owned(),
                body: r.body.as_ref().map(|b| b.as_str().to_owned()),
                status: r.status,
                location,
                overdue: is_overdue(&r),
                description: r.description.clone(),
                address: r.address.clone(),
                created_at: r.created_at,
                deadline: r.deadline,
                closed_at: r.closed_at,
                photos: photos.remove(&r.id).unwrap_or_default(),
                pending_photos: pending.remove(&r.id).unwrap_or_default(),
                timeline: timelines.remove(&r.id).unwrap_or_default(),
                mine: r.reporter == viewer.id,
                assigned_to_me: r.crew == Some(viewer.id),
                following: following.contains(&r.id),
                updated_at: r.updated_at,
                version: r.version,
            })
        })
        .collect()
}

/// Reference data read from storage (not the process cache, which another replica's edit does
/// not refresh), at most once per request.
#[derive(Default)]
struct ReferenceReader {
    categories: Option<Vec<smartmap_shared::category::Category>>,
    bodies: Option<Vec<smartmap_shared::body::Body>>,
    districts: Option<Vec<smartmap_shared::district::District>>,
}

impl ReferenceReader {
    async fn all_ids(&mut self, state: &AppState) -> ApiResult<Vec<(EntityKind, String)>> {
        let mut ids = Vec::new();
        self.load(state, EntityKind::Category).await?;
        self.load(state, EntityKind::Body).await?;
        self.load(state, EntityKind::District).await?;
        ids.extend(self.categories.iter().flatten().map(|c| (EntityKind::Category, c.id.as_str().to_owned())));
        ids.extend(self.bodies.iter().flatten().map(|b| (EntityKind::Body, b.id.as_str().to_owned())));
        ids.extend(self.districts.iter().flatten().map(|d| (EntityKind::District, d.id.as_str().to_owned())));
        ids.push((EntityKind::Routing, "table".into()));
        ids.push((EntityKind::SlaRules, "table".into()));
        Ok(ids)
    }

    async fn load(&mut self, state: &AppState, entity: EntityKind) -> ApiResult<()> {
        match entity {
            EntityKind::Category if self.categories.is_none() => {
                self.categories = Some(state.storage.categories().await?)
            }
            EntityKind::Body if self.bodies.is_none() => self.bodies = Some(state.storage.bodies().await?),
            EntityKind::District if self.districts.is_none() => self.districts = Some(state.storage.districts().await?),
            _ => {}
        }
        Ok(())
    }

    /// The entity's current state, `None` if it is gone.
    async fn entity(&mut self, state: &AppState, entity: EntityKind, id: &str) -> ApiResult<Option<Value>> {
        self.load(state, entity).await?;
        let value = match entity {
            EntityKind::Category => {
                self.categories.iter().flatten().find(|c| c.id.as_str() == id).map(serde_json::to_value)
            }
            EntityKind::Body => self.bodies.iter().flatten().find(|b| b.id.as_str() == id).map(serde_json::to_value),
            EntityKind::District => {
                self.districts.iter().flatten().find(|d| d.id.as_str() == id).map(serde_json::to_value)
            }
            EntityKind::Routing => {
                let rules = state.storage.routing_rules().await?;
                Some(serde_json::to_value(RoutingSnapshot { rules, fallback: state.settings.fallback_body.clone() }))
            }
            EntityKind::SlaRules => Some(serde_json::to_value(state.storage.sla_overrides().await?)),
            EntityKind::Calendar => Some(serde_json::to_value(&state.reference().calendar)),
            EntityKind::Report => None,
        };
        value.transpose().map_err(|e| ApiError::Internal(e.into()))
    }
}
