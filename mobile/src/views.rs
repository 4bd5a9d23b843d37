//! What the API takes and returns: plain serde values, so the Tauri shell can pass them to the
//! UI as JSON unchanged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use smartmap_shared::geo::LatLon;
use smartmap_shared::i18n::Localized;
use smartmap_shared::ids::ReportId;
use smartmap_shared::routing::RouteMatch;
use smartmap_shared::sla::Sla;
use smartmap_shared::sync::SyncedPhoto;
use uuid::Uuid;

pub use crate::store::{OutboxState, RejectionView};

/// The signed-in account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Login e-mail.
    pub email: Option<String>,
    /// Name shown to staff.
    pub display_name: Option<String>,
    /// Role (`resident`, `field_crew`, …).
    pub role: Option<String>,
    /// The account as the server described it.
    pub raw: serde_json::Value,
    /// The session ended (refresh refused): sign in again to send queued changes.
    pub needs_login: bool,
}

/// A category the user can report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryView {
    /// Slug.
    pub id: String,
    /// Name in Georgian and English.
    pub name: Localized,
    /// Default response deadline.
    pub sla: Sla,
}

/// What will happen to a report, computed offline from synced reference data: "Gldani district
/// administration, due in 3 working days".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    /// District slug.
    pub district: String,
    /// District name.
    pub district_name: Localized,
    /// The responsible body's slug.
    pub body: String,
    /// Its name (the slug in both languages if the body is unknown to the phone).
    pub body_name: Localized,
    /// Why that body.
    pub matched: RouteMatch,
    /// The deadline rule.
    pub sla: Sla,
    /// The deadline if the report arrived at `from` (the phone's clock).
    pub deadline: DateTime<Utc>,
    /// The instant the deadline was computed from.
    pub from: DateTime<Utc>,
}

/// A new report as the user entered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportDraft {
    /// Category slug.
    pub category: String,
    /// Where the problem is (explicit: photos carry no location).
    pub location: LatLon,
    /// What is wrong.
    pub description: String,
    /// Street address, if known.
    #[serde(default)]
    pub address: Option<String>,
    /// Hide the reporter's name from staff too.
    #[serde(default)]
    pub hide_name: bool,
    /// Photos as taken (JPEG, PNG or WebP bytes); prepared on the phone before queuing.
    #[serde(default)]
    pub photos: Vec<Vec<u8>>,
}

/// A proof-of-fix photo and where it was taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofPhoto {
    /// The photo as taken.
    pub bytes: Vec<u8>,
    /// Where it was taken (from the phone's location, never from EXIF).
    pub taken_at: LatLon,
}

/// A proof photo taken farther from the report than the geofence: queued anyway (the server
/// decides), but the crew should know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeofenceWarning {
    /// Which proof photo (0-based).
    pub index: usize,
    /// Its distance from the report, in metres.
    pub distance_m: f64,
    /// The geofence, in metres.
    pub limit_m: f64,
    /// For the user, English.
    pub message: String,
}

/// A queued command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queued {
    /// The mutation's id.
    pub mutation_id: Uuid,
    /// Its place in the capture order.
    pub device_seq: i64,
    /// Warnings the user should see (proof photos outside the geofence).
    pub warnings: Vec<GeofenceWarning>,
}

/// A report queued on the phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedReport {
    /// The report's id, minted on the phone.
    pub report_id: ReportId,
    /// The queued mutation.
    pub queued: Queued,
    /// Where it will go and when it is due, if reference data is synced.
    pub preview: Option<Preview>,
}

/// A photo captured on this phone, with its upload progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalPhoto {
    /// `report` or `proof`.
    pub kind: String,
    /// Hex sha256 of the prepared JPEG.
    pub sha256: String,
    /// Its size.
    pub size: i64,
    /// Bytes the server has acknowledged.
    pub uploaded: i64,
    /// Uploaded completely.
    pub done: bool,
}

/// One entry of a report's timeline, synced or still on the phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When (the phone's clock for a pending entry).
    pub at: DateTime<Utc>,
    /// What (`submitted`, `comment`, `dispute`, `close`, …).
    pub action: String,
    /// Status after (`None` for a pending entry: the server decides).
    pub status: Option<String>,
    /// The public note or comment.
    pub note: Option<String>,
    /// Who, by role.
    pub by_role: Option<String>,
    /// Written by the user.
    pub by_me: bool,
    /// Still on the phone (queued or being sent).
    pub pending: bool,
    /// Refused by the server, with the reason.
    pub rejection: Option<RejectionView>,
}

/// A report as the app shows it: synced state with the phone's pending changes laid over it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportView {
    /// Its id.
    pub id: ReportId,
    /// Public number (`None` until the server has it).
    pub number: Option<i64>,
    /// Category slug.
    pub category: String,
    /// Category name, if known.
    pub category_name: Option<Localized>,
    /// District slug (previewed for a queued report).
    pub district: Option<String>,
    /// Responsible body's slug (previewed for a queued report).
    pub body: Option<String>,
    /// Its name, if known.
    pub body_name: Option<Localized>,
    /// `queued`, `sending`, `rejected` for a report not on the server yet; otherwise the
    /// server's status (`routed`, `fixed`, …).
    pub status: String,
    /// Where.
    pub location: smartmap_shared::geo::LatLon,
    /// The description.
    pub description: String,
    /// Street address.
    pub address: Option<String>,
    /// Received by the server, or captured (queued).
    pub created_at: DateTime<Utc>,
    /// Response deadline (previewed from the phone's clock for a queued report).
    pub deadline: Option<DateTime<Utc>>,
    /// Flagged overdue by the server.
    pub overdue: bool,
    /// Photos on the server.
    pub photos: Vec<SyncedPhoto>,
    /// Photos the server still waits for ("photos pending", "proof pending").
    pub server_pending_photos: usize,
    /// Photos captured on this phone, with upload progress.
    pub local_photos: Vec<LocalPhoto>,
    /// The timeline, oldest first, pending entries last.
    pub timeline: Vec<TimelineEntry>,
    /// The user's own report.
    pub mine: bool,
    /// Assigned to the user.
    pub assigned_to_me: bool,
    /// Followed (a queued follow/unfollow already counts).
    pub following: bool,
    /// Changes to it are still on the phone.
    pub pending: bool,
    /// The report itself was refused (for a queued report).
    pub rejection: Option<RejectionView>,
}

/// An outbox entry as the app shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// The mutation id.
    pub mutation_id: Uuid,
    /// Capture order.
    pub device_seq: i64,
    /// `report.create`, `report.comment`, …
    pub kind: String,
    /// The report it concerns.
    pub report_id: Option<Uuid>,
    /// Its state.
    pub state: OutboxState,
    /// When it was captured.
    pub client_time: DateTime<Utc>,
    /// Sends that failed.
    pub attempts: i64,
    /// Held back until (backoff).
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Why the server refused it.
    pub rejection: Option<RejectionView>,
    /// Photos it carries.
    pub photos_total: usize,
    /// Of which uploaded.
    pub photos_uploaded: usize,
    /// Queued under another account than the signed-in one (or, signed out, under the account
    /// signed in last): the e-mail of the account it waits for. It is sent only once that
    /// account signs in on this phone, never under someone else's. `None`: it goes with the next
    /// sync of whoever is signed in (its own account, or nobody's yet: captured before anyone
    /// signed in on this phone).
    pub waiting_for: Option<String>,
}

/// Queued changes waiting for an account other than the signed-in one to sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingAccount {
    /// The account's e-mail (its id if the phone never learnt the e-mail).
    pub email: String,
    /// How many queued changes wait for it.
    pub items: i64,
}

/// The sync state for a status line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// Mutations not yet answered (including those in `waiting_for_sign_in`).
    pub pending_items: i64,
    /// Bytes still to send (payloads and photos).
    pub pending_bytes: i64,
    /// When a sync last completed.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Nothing can be sent until the user signs in (never signed in, or the session ended).
    pub needs_login: bool,
    /// Signed in at all.
    pub signed_in: bool,
    /// What the last failed sync said.
    pub last_error: Option<String>,
    /// Reference data has arrived (previews work).
    pub reference_synced: bool,
    /// Queued changes of other accounts than the signed-in one ("2 waiting for nino@… to sign
    /// in"), in the order they were captured; they are not sent until that account signs in.
    pub waiting_for_sign_in: Vec<WaitingAccount>,
}

/// What the sync engine is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    /// Sending mutations.
    Push,
    /// Uploading photos.
    Upload,
    /// Receiving changes.
    Pull,
    /// Finished (successfully or not).
    Idle,
}

/// A progress event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// The phase.
    pub phase: SyncPhase,
    /// Items (mutations, photos, pages) done in this phase.
    pub items_done: u64,
    /// Items in this phase, if known.
    pub items_total: u64,
    /// Bytes sent in this phase.
    pub bytes_sent: u64,
    /// Bytes to send in this phase.
    pub bytes_total: u64,
}

/// How a sync attempt ended: sent after every sync of the background loop and of
/// [`Client::sync_now`](crate::Client::sync_now), so a UI knows when to refresh its lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncFinished {
    /// It completed.
    pub ok: bool,
    /// What it did, if it completed.
    pub summary: Option<SyncSummary>,
    /// Why it failed, if it did (English, for a log or a status line).
    pub error: Option<String>,
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSummary {
    /// Mutations acknowledged.
    pub acked: usize,
    /// Mutations refused.
    pub rejected: usize,
    /// Photos uploaded completely.
    pub photos_uploaded: usize,
    /// Changes applied from the feed.
    pub changes_pulled: usize,
    /// A snapshot replaced the synced state (new epoch or first sync).
    pub snapshot: bool,
    /// Mutations re-queued after a server restore.
    pub requeued: usize,
}
