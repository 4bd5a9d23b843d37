//! Storage: one trait, [`Storage`], with a SQLite implementation (the default, embedded) and a
//! PostgreSQL + PostGIS one (for a city-scale deployment with several stateless replicas).
//!
//! Only this module knows SQL. Every method that changes several rows does so in one
//! transaction, so a failure leaves nothing half-stored. The backend is picked from the scheme of
//! `DATABASE_URL` by [`connect`].

mod device_tokens;
mod postgres;
mod postgres_sync;
mod sqlite;
mod sqlite_ingest;
mod sqlite_sync;

pub use device_tokens::{DeviceTokenStorage, NewTokens, Refusal, Rotation};
pub use postgres::PgStorage;
pub use sqlite::SqliteStorage;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use smartmap_shared::body::Body;
use smartmap_shared::category::Category;
use smartmap_shared::district::District;
use smartmap_shared::geo::BBox;
use smartmap_shared::i18n::Localized;
use smartmap_shared::ids::{BodyId, CategoryId, DistrictId, ReportId, UserId};
use smartmap_shared::report::ReportStatus;
use smartmap_shared::role::Role;
use smartmap_shared::routing::RoutingRule;
use smartmap_shared::sla::SlaRule;
use std::sync::Arc;

/// Storage failures. Callers map `Conflict` and `Stale` to client errors; everything else is an
/// internal error whose detail is logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness rule was broken (e.g. an e-mail already registered). Carries the field.
    #[error("{field} is already taken")]
    Conflict {
        /// The field whose value clashed.
        field: &'static str,
    },
    /// Someone else changed the record first (optimistic concurrency).
    #[error("the record changed meanwhile; reload and try again")]
    Stale,
    /// Stored data could not be read back as domain values.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A group commit this write was part of failed as a whole.
    #[error("the batch could not be stored: {0}")]
    Batch(String),
    /// Migrations failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// This backend does not do that (e.g. a file backup of PostgreSQL).
    #[error("not supported by this storage backend: {0}")]
    Unsupported(&'static str),
}

/// Storage result.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// An account as stored. `Debug` leaves the password hash out, so it never reaches a log.
#[derive(Clone, PartialEq)]
pub struct UserRecord {
    /// The account id.
    pub id: UserId,
    /// Login e-mail, lowercased.
    pub email: String,
    /// Name shown to staff (never to the public).
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// The account's role.
    pub role: Role,
    /// District staff's district.
    pub district: Option<DistrictId>,
    /// Department staff's and field crews' body.
    pub body: Option<BodyId>,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("district", &self.district)
            .field("body", &self.body)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A canned public response a body sends for a category.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResponseTemplate {
    /// Stable slug.
    pub id: String,
    /// The category it applies to.
    pub category: CategoryId,
    /// A short title for staff.
    pub title: Localized,
    /// The public text.
    pub body: Localized,
}

/// Which kind of photo a report carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    /// Taken by the reporter.
    Report,
    /// Taken by whoever closed the report, as proof of the fix.
    Proof,
}

impl PhotoKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoKind::Report => "report",
            PhotoKind::Proof => "proof",
        }
    }

    /// Parses a stored (or wire) name.
    pub fn parse(s: &str) -> Result<PhotoKind> {
        match s {
            "report" => Ok(PhotoKind::Report),
            "proof" => Ok(PhotoKind::Proof),
            other => Err(StorageError::Corrupt(format!("photo kind {other}"))),
        }
    }
}

/// A photo attached to a report; the pixels live in the blob store under `sha256`.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRecord {
    /// Report or proof.
    pub kind: PhotoKind,
    /// Hex sha256 of the processed JPEG (its blob address).
    pub sha256: String,
    /// Pixel width of the processed image.
    pub width: u32,
    /// Pixel height of the processed image.
    pub height: u32,
    /// When it was attached.
    pub created_at: DateTime<Utc>,
}

/// One entry of a report's timeline: who did what, when, and what they said.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// Who; `None` for the system (routing, overdue detection).
    pub actor: Option<UserId>,
    /// The actor's role at the time; `None` for the system.
    pub actor_role: Option<Role>,
    /// The action's wire name (`route`, `acknowledge`, …, `overdue`).
    pub action: String,
    /// Status before.
    pub from_status: Option<ReportStatus>,
    /// Status after.
    pub to_status: ReportStatus,
    /// A note the public sees.
    pub public_note: Option<String>,
    /// A note only staff see.
    pub internal_note: Option<String>,
    /// Action details (body routed to, crew, original report), as JSON.
    pub data: serde_json::Value,
}

/// A report as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRecord {
    /// Client- or server-minted UUIDv7.
    pub id: ReportId,
    /// Short public number (#1234), assigned by the database.
    pub number: i64,
    /// Category.
    pub category: CategoryId,
    /// District the location lies in.
    pub district: DistrictId,
    /// The body it is routed to.
    pub body: Option<BodyId>,
    /// Current status.
    pub status: ReportStatus,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// What the reporter wrote.
    pub description: String,
    /// Street address, when the reporter or a geocoder gave one.
    pub address: Option<String>,
    /// The reporter (never public).
    pub reporter: UserId,
    /// The reporter asked staff not to see their name.
    pub hide_reporter_name: bool,
    /// The assigned field crew.
    pub crew: Option<UserId>,
    /// The original, when this is a duplicate.
    pub duplicate_of: Option<ReportId>,
    /// When it was received.
    pub created_at: DateTime<Utc>,
    /// When its current deadline clock started (routing or re-routing or reopening).
    pub routed_at: Option<DateTime<Utc>>,
    /// Response deadline.
    pub deadline: Option<DateTime<Utc>>,
    /// When it was closed (fixed, duplicate, no action).
    pub closed_at: Option<DateTime<Utc>>,
    /// When overdue detection flagged it (cleared when the clock restarts).
    pub overdue_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Incremented on every change; the guard of optimistic concurrency.
    pub version: i64,
    /// sha256 of the submitted payload, to recognise a retried submission.
    pub payload_sha256: String,
    /// Hidden by a moderator: kept, but off the public map.
    pub hidden: bool,
}

/// A new report with everything that must be stored with it, atomically.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// The report row (number and version are assigned by storage).
    pub report: ReportRecord,
    /// Its photos (blobs already in the blob store).
    pub photos: Vec<PhotoRecord>,
    /// Its first timeline entries (submitted, routed).
    pub events: Vec<EventRecord>,
    /// When the report came through Open311: the app's token and the submitter's private contact
    /// details, stored in the same transaction so an answered request always has its token.
    pub open311: Option<Open311SubmissionRecord>,
    /// When the report came from a phone's outbox: the mutation and the photos it promised.
    pub sync: SyncEffects,
}

/// A change to a report: the new row, the timeline entry that explains it, proof photos and
/// notifications, all stored in one transaction if the report is still at `expected_version`.
#[derive(Debug, Clone)]
pub struct ReportChange {
    /// The report as it must be after the change (its `version` is the expected old version).
    pub report: ReportRecord,
    /// The timeline entry.
    pub event: EventRecord,
    /// Photos added by this change (proof photos).
    pub photos: Vec<PhotoRecord>,
    /// Notifications to queue with the change.
    pub notifications: Vec<Notification>,
    /// When the change came from a phone's outbox: the mutation and the photos it promised.
    pub sync: SyncEffects,
}

/// What a change pushed from a phone stores besides the report itself, in the same transaction:
/// the `applied_mutations` row (so the mutation is applied at most once) and the photos it
/// promised. Empty for changes made through the web API.
#[derive(Debug, Clone, Default)]
pub struct SyncEffects {
    /// The mutation; `Conflict { field: "mutation_id" }` if its id is already stored.
    pub mutation: Option<AppliedMutationRecord>,
    /// Photos promised by the mutation, awaited by upload.
    pub expected_photos: Vec<ExpectedPhotoRecord>,
}

/// A mutation as stored: applied (with its result) or rejected (with the reason), so a resend
/// is answered the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedMutationRecord {
    /// The phone-minted id.
    pub mutation_id: uuid::Uuid,
    /// Who pushed it.
    pub user: UserId,
    /// The installation that captured it.
    pub device_id: uuid::Uuid,
    /// Capture order on that device.
    pub device_seq: i64,
    /// The kind's wire name.
    pub kind: String,
    /// The payload hash it was pushed with.
    pub payload_sha256: String,
    /// What became of it.
    pub outcome: StoredOutcome,
    /// When it was received.
    pub created_at: DateTime<Utc>,
}

/// The stored outcome of a mutation.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredOutcome {
    /// Applied; what it produced.
    Applied(serde_json::Value),
    /// Refused for good.
    Rejected(smartmap_shared::sync::Rejection),
}

/// A photo a mutation promised. `photo_sha256` is the processed photo once it has arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedPhotoRecord {
    /// Report or proof.
    pub kind: PhotoKind,
    /// The sha256 of the file the phone uploads.
    pub upload_sha256: String,
    /// Order among the mutation's photos.
    pub position: i64,
    /// The file's size in bytes.
    pub size: i64,
    /// Where it was taken (latitude, longitude), if said.
    pub taken_at: Option<(f64, f64)>,
    /// The processed photo's sha256, once arrived.
    pub photo_sha256: Option<String>,
}

/// A completed upload nobody had promised yet, kept until its mutation lands.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedPhotoRecord {
    /// The report it says it belongs to.
    pub report: ReportId,
    /// The sha256 of the uploaded file.
    pub upload_sha256: String,
    /// Who uploaded it.
    pub uploader: UserId,
    /// The processed photo (its blob is stored).
    pub photo: PhotoRecord,
}

/// What [`Storage::attach_expected_photo`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachOutcome {
    /// Attached; this many promised photos of the report are still awaited.
    Attached {
        /// Promised photos (any kind) not arrived yet.
        still_pending: usize,
    },
    /// That promised photo had arrived before: nothing changed.
    AlreadyAttached,
    /// No mutation promised a photo with that sha256 and kind for the report.
    NotExpected,
}

/// One row of the change feed, for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    /// Position in the feed.
    pub seq: i64,
    /// The entity kind's wire name (`report`, `category`, …).
    pub entity: String,
    /// Which one: a report's UUID, a slug, or `table`.
    pub entity_id: String,
    /// The user lost it (or it is gone).
    pub deleted: bool,
}

/// A message waiting in the outbox for the mailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// What it is about, e.g. `overdue_escalation`.
    pub kind: String,
    /// Destination address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// The report it concerns.
    pub report: Option<ReportId>,
    /// When queued.
    pub created_at: DateTime<Utc>,
}

/// A filter over reports, used by the map, staff queues and crews' ticket lists.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    /// Only inside this box.
    pub bbox: Option<BBox>,
    /// Only these categories (empty: all).
    pub categories: Vec<CategoryId>,
    /// Only these statuses (empty: all).
    pub statuses: Vec<ReportStatus>,
    /// Received at or after.
    pub from: Option<DateTime<Utc>>,
    /// Received before.
    pub to: Option<DateTime<Utc>>,
    /// Only in this district.
    pub district: Option<DistrictId>,
    /// Only routed to this body.
    pub body: Option<BodyId>,
    /// Only assigned to this crew member.
    pub crew: Option<UserId>,
    /// Only by this reporter.
    pub reporter: Option<UserId>,
    /// Only flagged overdue and still open.
    pub overdue_only: bool,
    /// Leave out reports hidden by moderators (the public map).
    pub public_only: bool,
    /// Page size.
    pub limit: u32,
    /// Rows to skip.
    pub offset: u64,
    /// Oldest deadline first (queues) instead of newest first (map, history).
    pub order_by_deadline: bool,
}

/// A cluster of reports in one grid cell, for the map at low zoom.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Mean latitude of the reports in the cell.
    pub lat: f64,
    /// Mean longitude.
    pub lon: f64,
    /// How many reports.
    pub count: u64,
}

/// What statistics are computed from: one row per report that has been routed.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsRow {
    /// Routed to.
    pub body: BodyId,
    /// Category.
    pub category: CategoryId,
    /// Current status.
    pub status: ReportStatus,
    /// Received.
    pub created_at: DateTime<Utc>,
    /// Deadline.
    pub deadline: Option<DateTime<Utc>>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
}

/// Everything the server stores. Both backends pass the same conformance suite.
#[async_trait]
pub trait Storage: DeviceTokenStorage + SyncStorage + Send + Sync + 'static {
    /// Brings the schema up to date.
    async fn migrate(&self) -> Result<()>;

    /// Inserts or updates a category.
    async fn upsert_category(&self, category: &Category) -> Result<()>;
    /// Every category, active or not, in display order.
    async fn categories(&self) -> Result<Vec<Category>>;
    /// Inserts or updates a body.
    async fn upsert_body(&self, body: &Body) -> Result<()>;
    /// Every body.
    async fn bodies(&self) -> Result<Vec<Body>>;
    /// Inserts or replaces districts by id (an import of official boundaries).
    async fn upsert_districts(&self, districts: &[District]) -> Result<()>;
    /// Every district with its polygon.
    async fn districts(&self) -> Result<Vec<District>>;
    /// Replaces the whole routing table.
    async fn replace_routing_rules(&self, rules: &[RoutingRule]) -> Result<()>;
    /// The routing table.
    async fn routing_rules(&self) -> Result<Vec<RoutingRule>>;
    /// Inserts or updates a response template.
    async fn upsert_template(&self, template: &ResponseTemplate) -> Result<()>;
    /// Templates, optionally of one category.
    async fn templates(&self, category: Option<&CategoryId>) -> Result<Vec<ResponseTemplate>>;

    /// Creates an account; `Conflict { field: "email" }` if the e-mail is taken.
    async fn create_user(&self, user: &UserRecord) -> Result<()>;
    /// An account by login e-mail (lowercased).
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>>;
    /// An account by id.
    async fn user(&self, id: UserId) -> Result<Option<UserRecord>>;
    /// Field crews, optionally of one body.
    async fn crews(&self, body: Option<&BodyId>) -> Result<Vec<UserRecord>>;
    /// Stores a session under the sha256 of its token.
    async fn create_session(&self, token_sha256: &str, user: UserId, expires_at: DateTime<Utc>) -> Result<()>;
    /// The account a live session belongs to.
    async fn session_user(&self, token_sha256: &str, now: DateTime<Utc>) -> Result<Option<UserRecord>>;
    /// Ends a session.
    async fn delete_session(&self, token_sha256: &str) -> Result<()>;

    /// Stores a report with its photos and first events, atomically. `Conflict { field: "id" }`
    /// if a report with that id exists.
    async fn insert_report(&self, new: &NewReport) -> Result<ReportRecord>;
    /// A report by id.
    async fn report(&self, id: ReportId) -> Result<Option<ReportRecord>>;
    /// A report's photos, oldest first.
    async fn report_photos(&self, id: ReportId) -> Result<Vec<PhotoRecord>>;
    /// A report's timeline, oldest first.
    async fn report_events(&self, id: ReportId) -> Result<Vec<EventRecord>>;
    /// Applies a change if the report is still at the change's version, else `Stale`.
    async fn apply_change(&self, change: &ReportChange) -> Result<ReportRecord>;
    /// Reports matching a filter.
    async fn query_reports(&self, query: &ReportQuery) -> Result<Vec<ReportRecord>>;
    /// How many reports match a filter (ignoring limit/offset).
    async fn count_reports(&self, query: &ReportQuery) -> Result<u64>;
    /// Reports matching a filter grouped into a grid of `cell_deg` degrees.
    async fn cluster_reports(&self, query: &ReportQuery, cell_deg: f64) -> Result<Vec<Cluster>>;
    /// Open reports past their deadline that are not yet flagged overdue.
    async fn overdue_candidates(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<ReportRecord>>;
    /// Every routed report's statistics row.
    async fn stats_rows(&self) -> Result<Vec<StatsRow>>;
    /// Notifications not yet sent, oldest first.
    async fn pending_notifications(&self) -> Result<Vec<Notification>>;

    // ---- Open311 GeoReport v2 (issue #5) --------------------------------------------------
    /// Stores an Open311 API key together with the account its reports are posted through, in
    /// one transaction.
    async fn create_open311_key(&self, key: &Open311KeyRecord, account: &UserRecord) -> Result<()>;
    /// Every issued Open311 key, oldest first.
    async fn open311_keys(&self) -> Result<Vec<Open311KeyRecord>>;
    /// The Open311 key stored under the sha256 of its text.
    async fn open311_key(&self, key_sha256: &str) -> Result<Option<Open311KeyRecord>>;
    /// The Open311 submission a token was answered with.
    async fn open311_submission(&self, token: &str) -> Result<Option<Open311SubmissionRecord>>;
    /// A report by its short public number.
    async fn report_by_number(&self, number: i64) -> Result<Option<ReportRecord>>;
    /// [`Storage::query_reports`] narrowed further to reports last changed (`updated_at`) after
    /// `changed_after` and before `changed_before`, both exclusive.
    async fn query_reports_changed(
        &self,
        query: &ReportQuery,
        changed_after: Option<DateTime<Utc>>,
        changed_before: Option<DateTime<Utc>>,
    ) -> Result<Vec<ReportRecord>>;
    /// The timelines of several reports at once, each oldest first.
    async fn events_of_reports(&self, ids: &[ReportId]) -> Result<Vec<(ReportId, EventRecord)>>;
    /// The photos of several reports at once, each report's in order.
    async fn photos_of_reports(&self, ids: &[ReportId]) -> Result<Vec<(ReportId, PhotoRecord)>>;
    /// Timeline entries of all reports inside a time window, oldest first.
    async fn events_between(&self, window: &EventWindow) -> Result<Vec<TimelineEntry>>;

    // ---- Per-body response deadlines ------------------------------------------------------
    /// Every per-body deadline override, ordered by category then body.
    async fn sla_overrides(&self) -> Result<Vec<SlaRule>>;
    /// Sets the deadline for reports of `rule.category` routed to `rule.body`, replacing any
    /// earlier override of that pair. The category and body must exist.
    async fn upsert_sla_override(&self, rule: &SlaRule) -> Result<()>;
    /// Removes the override of a category and body; `false` if there was none.
    async fn delete_sla_override(&self, category: &CategoryId, body: &BodyId) -> Result<bool>;
}

/// What the sync protocol stores (issue #3): the epoch, the change log written by triggers,
/// applied mutations, follows, promised and staged photos. Implemented for each backend in its
/// `*_sync.rs` file.
#[async_trait]
pub trait SyncStorage: Send + Sync {
    /// The database's epoch (its history's name, part of every cursor).
    async fn sync_epoch(&self) -> Result<String>;
    /// Replaces the epoch (after a restore): every cursor of the old history becomes invalid.
    async fn replace_sync_epoch(&self, epoch: &str) -> Result<()>;
    /// The highest change-feed seq issued so far (0: none).
    async fn change_head(&self) -> Result<i64>;
    /// Up to `limit` feed rows after `after` that concern `user` (theirs or everyone's), by seq.
    async fn changes_after(&self, user: UserId, after: i64, limit: u32) -> Result<Vec<ChangeRow>>;
    /// A stored mutation by id.
    async fn applied_mutation(&self, id: uuid::Uuid) -> Result<Option<AppliedMutationRecord>>;
    /// Stores a mutation on its own (a rejection); `Conflict { field: "mutation_id" }` if stored.
    async fn record_mutation(&self, mutation: &AppliedMutationRecord) -> Result<()>;
    /// Follows (`true`) or stops following a report as of `at`, with the mutation that asked for
    /// it (a phone's; `None` from the browser) in the same transaction. Idempotent;
    /// `Conflict { field: "mutation_id" }` if the mutation is already stored.
    async fn set_follow(
        &self,
        user: UserId,
        report: ReportId,
        follow: bool,
        at: DateTime<Utc>,
        mutation: Option<&AppliedMutationRecord>,
    ) -> Result<()>;
    /// The reports a user follows.
    async fn followed_reports(&self, user: UserId) -> Result<Vec<ReportId>>;
    /// The promised photos of several reports, each report's in kind and position order.
    async fn expected_photos_of_reports(&self, ids: &[ReportId]) -> Result<Vec<(ReportId, ExpectedPhotoRecord)>>;
    /// Attaches an arrived photo to the report's promised photo of the same kind and upload
    /// sha256, in one transaction with the report's version bump (so it reaches the feed).
    async fn attach_expected_photo(
        &self,
        report: ReportId,
        upload_sha256: &str,
        photo: &PhotoRecord,
    ) -> Result<AttachOutcome>;
    /// Keeps a photo nobody promised yet; `false` if that upload was already staged.
    async fn stage_photo(&self, staged: &StagedPhotoRecord) -> Result<bool>;
    /// Attaches every staged photo of `report` and `kind` uploaded by `uploader` that the report
    /// now expects, in one transaction (with a version bump if any); returns how many.
    async fn claim_staged_photos(&self, report: ReportId, kind: PhotoKind, uploader: UserId) -> Result<usize>;
    /// Whether the photo uploaded with `upload_sha256` for `report` is in the database: attached
    /// to the report, or staged for it.
    async fn photo_received(&self, report: ReportId, upload_sha256: &str) -> Result<bool>;
    /// Writes a consistent copy of the database to `file` (SQLite: `VACUUM INTO`). PostgreSQL
    /// is backed up with its own tools (`pg_dump`).
    async fn backup_into(&self, file: &std::path::Path) -> Result<()>;
}

/// Opens the storage named by `url`: `sqlite://…` or `postgres://…`.
pub async fn connect(url: &str) -> anyhow::Result<Arc<dyn Storage>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStorage::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PgStorage::connect(url).await?))
    } else {
        anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://")
    }
}

/// Statuses in which a report still counts against its deadline.
pub const OPEN_STATUSES: [ReportStatus; 4] =
    [ReportStatus::Routed, ReportStatus::Acknowledged, ReportStatus::InProgress, ReportStatus::Reopened];

/// Parses stored text back into a slug id.
fn slug<T: TryFrom<String>>(s: String, what: &str) -> Result<T> {
    T::try_from(s.clone()).map_err(|_| StorageError::Corrupt(format!("{what} {s}")))
}

fn status(s: &str) -> Result<ReportStatus> {
    ReportStatus::parse(s).ok_or_else(|| StorageError::Corrupt(format!("status {s}")))
}

fn role(s: &str) -> Result<Role> {
    Role::parse(s).ok_or_else(|| StorageError::Corrupt(format!("role {s}")))
}

/// An app allowed to post Open311 service requests. The key itself is shown once, when issued;
/// only its sha256 is stored (and `Debug` leaves even that out).
#[derive(Clone, PartialEq)]
pub struct Open311KeyRecord {
    /// The key's id.
    pub id: uuid::Uuid,
    /// Hex sha256 of the key's text.
    pub key_sha256: String,
    /// The app's name, as registered.
    pub app_name: String,
    /// Whom to contact about the app.
    pub contact_email: String,
    /// The resident account the app's reports are submitted through.
    pub account: UserId,
    /// When the key was issued.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Open311KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Open311KeyRecord")
            .field("id", &self.id)
            .field("app_name", &self.app_name)
            .field("account", &self.account)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A report posted through Open311: the token its POST answered with and the person behind it
/// as the app described them. The contact details are personal data: never public, and left out
/// of `Debug`.
#[derive(Clone, PartialEq)]
pub struct Open311SubmissionRecord {
    /// The token (`GET tokens/{token}`).
    pub token: String,
    /// The report it created.
    pub report: ReportId,
    /// The key that posted it.
    pub key: uuid::Uuid,
    /// The submitter's e-mail.
    pub email: Option<String>,
    /// The submitter's given name.
    pub first_name: Option<String>,
    /// The submitter's family name.
    pub last_name: Option<String>,
    /// The submitter's phone number.
    pub phone: Option<String>,
    /// The submitting device's id.
    pub device_id: Option<String>,
    /// The submitter's account id in the app.
    pub account_id: Option<String>,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Open311SubmissionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Open311SubmissionRecord")
            .field("token", &self.token)
            .field("report", &self.report)
            .field("key", &self.key)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Which timeline entries [`Storage::events_between`] reads.
#[derive(Debug, Clone, Default)]
pub struct EventWindow {
    /// Entries at or after.
    pub from: Option<DateTime<Utc>>,
    /// Entries before.
    pub to: Option<DateTime<Utc>>,
    /// Leave out entries of these actions (e.g. `hide`).
    pub skip_actions: Vec<String>,
    /// Leave out entries of reports hidden by moderators.
    pub public_only: bool,
    /// Page size.
    pub limit: u32,
    /// Entries to skip.
    pub offset: u64,
}

/// One timeline entry with the report it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// The entry's stable sequence number (increasing in insertion order).
    pub seq: i64,
    /// The report.
    pub report: ReportId,
    /// The report's public number.
    pub number: i64,
    /// The entry.
    pub event: EventRecord,
}
