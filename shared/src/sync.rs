//! The sync protocol, version 1: the wire types a phone and the server exchange.
//!
//! The phone keeps an outbox of intent-named commands ([`Mutation`]s); the server applies each
//! one in its own transaction together with an `applied_mutations` row, and sends server-owned
//! state back through one change feed ([`PullPage`]). No CRDTs, no multi-master: a status change
//! is a command the server validates. `docs/sync.md` describes the whole protocol; this module
//! is its single definition in code, shared by `sync-server` and `mobile`.
//!
//! Everything here is pure: hashing is computation, nothing reads a clock or the network.

use crate::calendar::Calendar;
use crate::geo::{LatLon, haversine_m};
use crate::ids::ReportId;
use crate::report::ReportStatus;
use crate::routing::RoutingRule;
use crate::sla::SlaRule;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// The protocol version this crate speaks (sent as `Smartmap-Sync: 1`).
pub const PROTOCOL_VERSION: u32 = 1;

/// The most mutations one push may carry.
pub const MAX_PUSH_BATCH: usize = 100;

/// The most changes one pull page carries.
pub const MAX_PULL_PAGE: u32 = 500;

/// The distance from a report within which a proof-of-fix photo must be taken, unless the server
/// is configured otherwise.
pub const DEFAULT_PROOF_GEOFENCE_M: f64 = 150.0;

/// A position in the server's change feed: `<epoch>.<seq>`.
///
/// The epoch names one history of the server's database; it changes when the database is
/// restored from a backup (`smartmap restore`), so a cursor from another history is refused with
/// 410 and the phone re-syncs from a snapshot. `seq` is the last change the holder has applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// The database history the position belongs to.
    pub epoch: String,
    /// The last change seen (0: none).
    pub seq: i64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.epoch, self.seq)
    }
}

/// A cursor that is not `<epoch>.<seq>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a cursor is '<epoch>.<seq>', e.g. '0192f0c1a2b3.42'")]
pub struct CursorError;

impl FromStr for Cursor {
    type Err = CursorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (epoch, seq) = s.rsplit_once('.').ok_or(CursorError)?;
        let valid_epoch =
            !epoch.is_empty() && epoch.len() <= 64 && epoch.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let seq: i64 = seq.parse().map_err(|_| CursorError)?;
        if !valid_epoch || seq < 0 {
            return Err(CursorError);
        }
        Ok(Cursor { epoch: epoch.to_owned(), seq })
    }
}

impl Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a mutation asks for. The wire name is `kind`; each has its payload type and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MutationKind {
    /// A new report ([`CreateReport`]).
    #[serde(rename = "report.create")]
    CreateReport,
    /// A public comment on a report ([`Comment`]).
    #[serde(rename = "report.comment")]
    Comment,
    /// Follow or stop following a report ([`Follow`]).
    #[serde(rename = "report.follow")]
    Follow,
    /// The reporter disputes a closure ([`Dispute`]).
    #[serde(rename = "report.dispute")]
    Dispute,
    /// A field crew closes its ticket as fixed, with proof photos ([`CloseTicket`]).
    #[serde(rename = "ticket.close")]
    CloseTicket,
}

impl MutationKind {
    /// Every kind.
    pub const ALL: [MutationKind; 5] = [
        MutationKind::CreateReport,
        MutationKind::Comment,
        MutationKind::Follow,
        MutationKind::Dispute,
        MutationKind::CloseTicket,
    ];

    /// The wire name, e.g. `report.create`.
    pub fn as_str(self) -> &'static str {
        match self {
            MutationKind::CreateReport => "report.create",
            MutationKind::Comment => "report.comment",
            MutationKind::Follow => "report.follow",
            MutationKind::Dispute => "report.dispute",
            MutationKind::CloseTicket => "ticket.close",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<MutationKind> {
        MutationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The payload version this build writes (and the newest it reads).
    pub fn current_version(self) -> u32 {
        1
    }
}

/// One command from a phone's outbox.
///
/// `mutation_id` is minted on the phone (UUIDv7) and identifies the command forever: the server
/// applies it at most once. The same id with the same `payload_sha256` gets the stored result
/// again; the same id with another hash is refused as an id conflict. `device_id` and
/// `device_seq` say where and in which order it was captured (a reinstalled app has a new device
/// id; its restored outbox keeps the old mutation ids, so nothing is applied twice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// Client-minted UUIDv7.
    pub mutation_id: Uuid,
    /// The installation that captured it.
    pub device_id: Uuid,
    /// Capture order on that device, from 1.
    pub device_seq: i64,
    /// What it asks for.
    pub kind: MutationKind,
    /// The payload's version.
    pub v: u32,
    /// The payload ([`CreateReport`], [`Comment`], …) as JSON.
    pub payload: serde_json::Value,
    /// [`payload_sha256`] of `kind`, `v` and `payload`.
    pub payload_sha256: String,
    /// The phone's wall clock when captured (informational: the server never trusts it).
    pub client_time: DateTime<Utc>,
}

impl Mutation {
    /// Builds a mutation from a typed payload, hashing it.
    pub fn new<P: Serialize>(
        mutation_id: Uuid,
        device_id: Uuid,
        device_seq: i64,
        kind: MutationKind,
        payload: &P,
        client_time: DateTime<Utc>,
    ) -> Mutation {
        let payload = serde_json::to_value(payload).expect("payloads serialize");
        let v = kind.current_version();
        let payload_sha256 = payload_sha256(kind, v, &payload);
        Mutation { mutation_id, device_id, device_seq, kind, v, payload, payload_sha256, client_time }
    }

    /// Whether `payload_sha256` matches the payload (a corrupted or hand-edited mutation does not).
    pub fn hash_matches(&self) -> bool {
        payload_sha256(self.kind, self.v, &self.payload) == self.payload_sha256
    }
}

/// The hex sha256 identifying a mutation's content: `kind`, a newline, `v`, a newline, and the
/// payload as compact JSON (serde_json's object key order, so both sides agree).
pub fn payload_sha256(kind: MutationKind, v: u32, payload: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_str().as_bytes());
    h.update(b"\n");
    h.update(v.to_string().as_bytes());
    h.update(b"\n");
    h.update(serde_json::to_vec(payload).expect("JSON values serialize"));
    hex_lower(&h.finalize())
}

/// Hex sha256 of bytes (photo files, uploads).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_lower(&Sha256::digest(bytes))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A photo a mutation promises: its bytes follow through a resumable upload whose `sha256`
/// metadata is this `sha256`. Until every promised photo has arrived the report (or closure)
/// shows "photos pending" / "proof pending".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedPhoto {
    /// Hex sha256 of the file the phone will upload (after its own photo preparation).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Where the photo was taken (the phone strips EXIF, so the location is explicit). Required
    /// for proof photos: the server checks it against the proof geofence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<LatLon>,
}

/// `report.create` v1: the fields of `POST /api/reports`, with the report id minted on the phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateReport {
    /// The report's id (UUIDv7, minted on the phone).
    pub report_id: ReportId,
    /// Category slug.
    pub category: String,
    /// Where the problem is.
    pub location: LatLon,
    /// What is wrong.
    pub description: String,
    /// Street address, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Hide the reporter's name from staff too.
    #[serde(default)]
    pub hide_name: bool,
    /// Photos that will follow by upload, in order.
    #[serde(default)]
    pub photos: Vec<ExpectedPhoto>,
}

/// `report.comment` v1: a public comment on the timeline; the status does not change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    /// The report.
    pub report_id: ReportId,
    /// The comment (public).
    pub text: String,
}

/// `report.follow` v1: get a report's changes in one's feed (or stop).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Follow {
    /// The report.
    pub report_id: ReportId,
    /// `true` to follow, `false` to stop.
    pub follow: bool,
}

/// `report.dispute` v1: the reporter disagrees with a closure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dispute {
    /// The report.
    pub report_id: ReportId,
    /// Why (public).
    pub reason: String,
}

/// `ticket.close` v1: the assigned crew closes the report as fixed. Proof photos follow by
/// upload; each must be taken within the proof geofence of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseTicket {
    /// The report.
    pub report_id: ReportId,
    /// A public note (what was done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_note: Option<String>,
    /// At least one proof photo, each with `taken_at`.
    pub proof: Vec<ExpectedPhoto>,
}

/// How far a proof photo was taken from the report, when too far.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("the photo was taken {distance_m:.0} m from the report; proof must be taken within {limit_m:.0} m")]
pub struct OutsideGeofence {
    /// The distance, in metres.
    pub distance_m: f64,
    /// The limit, in metres.
    pub limit_m: f64,
}

/// The proof-of-fix geofence: the phone warns with it, the server decides with it.
pub fn check_geofence(report: LatLon, photo: LatLon, limit_m: f64) -> Result<(), OutsideGeofence> {
    let distance_m = haversine_m(report, photo);
    if distance_m <= limit_m { Ok(()) } else { Err(OutsideGeofence { distance_m, limit_m }) }
}

/// `POST /api/sync/push` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// The pushing installation.
    pub device_id: Uuid,
    /// At most [`MAX_PUSH_BATCH`] mutations, in capture order.
    pub mutations: Vec<Mutation>,
}

/// `POST /api/sync/push` answer: one result per mutation, in the request's order. Business
/// rejections are results, not HTTP errors; only 401/429/5xx leave a batch queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    /// Per-mutation outcomes.
    pub results: Vec<PushResult>,
    /// The epoch of the database that holds these outcomes: the phone records each
    /// acknowledgement under it, so after a restore it re-pushes exactly what the older
    /// history acknowledged.
    pub epoch: String,
    /// The server's clock when it answered.
    pub server_time: DateTime<Utc>,
}

/// What became of one mutation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResult {
    /// Which mutation.
    pub mutation_id: Uuid,
    /// Applied now, applied before, or refused.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The outcome of a mutation. The stored outcome is returned again for a resend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Applied by this push.
    Applied {
        /// What it produced (e.g. `{"report_id": …, "number": 12, "status": "routed"}`).
        result: serde_json::Value,
    },
    /// Applied by an earlier delivery of the same mutation; nothing changed now.
    Duplicate {
        /// The earlier result.
        result: serde_json::Value,
    },
    /// Refused, for good: resending it will not help. The reason is for the user.
    Rejected(Rejection),
}

/// Why a mutation was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// Stable machine code (`id_conflict`, `unknown_category`, `proof_too_far`, …).
    pub code: String,
    /// English message.
    pub message: String,
    /// Georgian message.
    pub message_ka: String,
    /// The payload field at fault, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The kinds of entity the change feed carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A category ([`crate::category::Category`]); id = slug.
    Category,
    /// A body ([`crate::body::Body`]); id = slug.
    Body,
    /// A district ([`crate::district::District`], with its polygon); id = slug.
    District,
    /// The whole routing table ([`RoutingSnapshot`]); id = `table`.
    Routing,
    /// Every per-body deadline override (`Vec<SlaRule>`); id = `table`.
    SlaRules,
    /// The working-day calendar ([`Calendar`]); id = `georgia`.
    Calendar,
    /// A report the user sees in their app ([`SyncedReport`]): their own, their tickets, the
    /// ones they follow; id = report UUID.
    Report,
}

impl EntityKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Category => "category",
            EntityKind::Body => "body",
            EntityKind::District => "district",
            EntityKind::Routing => "routing",
            EntityKind::SlaRules => "sla_rules",
            EntityKind::Calendar => "calendar",
            EntityKind::Report => "report",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<EntityKind> {
        use EntityKind::*;
        [Category, Body, District, Routing, SlaRules, Calendar, Report].into_iter().find(|k| k.as_str() == s)
    }
}

/// One entry of the change feed: the entity's current state (an upsert, guarded by `version`)
/// or a tombstone (`data: null`, `deleted: true`) when it is gone or no longer the user's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Position in the feed.
    pub seq: i64,
    /// What kind of entity.
    pub entity: EntityKind,
    /// Which one.
    pub id: String,
    /// The entity's version; an upsert never replaces a newer version.
    pub version: i64,
    /// A tombstone.
    #[serde(default)]
    pub deleted: bool,
    /// The entity (absent for a tombstone).
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

/// `GET /api/sync/pull?cursor=…&limit=…` answer. Apply `changes` and store `cursor` in one
/// transaction; pull again while `has_more`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullPage {
    /// Changes after the request's cursor, in feed order.
    pub changes: Vec<Change>,
    /// Where to continue from.
    pub cursor: Cursor,
    /// More changes are waiting.
    pub has_more: bool,
    /// The server's clock.
    pub server_time: DateTime<Utc>,
}

/// `GET /api/sync/snapshot` answer: the whole state the user's app holds, and the cursor to pull
/// from afterwards (taken before the state was read, so nothing between is missed; re-applying
/// is harmless).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every entity, as upserts (`seq` is the snapshot's cursor seq).
    pub entities: Vec<Change>,
    /// Pull from here.
    pub cursor: Cursor,
    /// The server's clock.
    pub server_time: DateTime<Utc>,
}

/// The routing table as the feed carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingSnapshot {
    /// Category × district → body rules.
    pub rules: Vec<RoutingRule>,
    /// Where a report goes when no rule and no district administration matches.
    pub fallback: String,
}

/// The per-body deadline overrides as the feed carries them.
pub type SlaRulesSnapshot = Vec<SlaRule>;

/// The calendar as the feed carries it.
pub type CalendarSnapshot = Calendar;

/// A report as the user's app holds it. Never carries other people's identities or internal
/// notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncedReport {
    /// The report id.
    pub id: ReportId,
    /// Short public number.
    pub number: i64,
    /// Category slug.
    pub category: String,
    /// District slug.
    pub district: String,
    /// The responsible body's slug.
    pub body: Option<String>,
    /// Current status.
    pub status: ReportStatus,
    /// Where.
    pub location: LatLon,
    /// The reporter's description.
    pub description: String,
    /// Street address.
    pub address: Option<String>,
    /// Received.
    pub created_at: DateTime<Utc>,
    /// Response deadline.
    pub deadline: Option<DateTime<Utc>>,
    /// Closed at.
    pub closed_at: Option<DateTime<Utc>>,
    /// Flagged overdue.
    pub overdue: bool,
    /// Photos that have arrived (report and proof).
    pub photos: Vec<SyncedPhoto>,
    /// Photos promised by a mutation and not arrived yet ("photos pending", "proof pending").
    pub pending_photos: Vec<PendingPhoto>,
    /// The public timeline, oldest first.
    pub timeline: Vec<SyncedEvent>,
    /// The user's own report.
    pub mine: bool,
    /// Assigned to the user (a field crew's ticket).
    pub assigned_to_me: bool,
    /// The user follows it.
    pub following: bool,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Version (optimistic concurrency on the server; upsert guard on the phone).
    pub version: i64,
}

/// A photo of a report as stored on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncedPhoto {
    /// `report` or `proof`.
    pub kind: String,
    /// The processed photo's sha256 (its blob address).
    pub sha256: String,
    /// Full-size URL (path on the server).
    pub url: String,
    /// Thumbnail URL.
    pub thumb_url: String,
}

/// A promised photo that has not arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingPhoto {
    /// `report` or `proof`.
    pub kind: String,
    /// The sha256 the upload must have.
    pub sha256: String,
}

/// One public timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncedEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// What (`submitted`, `route`, `acknowledge`, `comment`, …).
    pub action: String,
    /// Status after.
    pub status: ReportStatus,
    /// The public note.
    pub note: Option<String>,
    /// Who, by role (`resident`, `district_staff`, …); `None` for the system.
    pub by_role: Option<String>,
    /// Written by the user themselves.
    #[serde(default)]
    pub by_me: bool,
}

/// `POST /api/auth/login` body when a phone signs in: the device the refresh token is bound to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceLogin {
    /// Login e-mail.
    pub email: String,
    /// Password.
    pub password: String,
    /// The installation.
    pub device_id: Uuid,
}

/// `POST /api/auth/refresh` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token last received.
    pub refresh_token: String,
    /// The installation it was issued to.
    pub device_id: Uuid,
}

/// Tokens a device holds: a short-lived access token (`Authorization: Bearer`) and a refresh
/// token bound to the device, rotated on every refresh. Answer of a device login and of refresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenPair {
    /// Bearer token for API calls.
    pub token: String,
    /// When `token` stops working.
    pub expires_at: DateTime<Utc>,
    /// Single-use token for `POST /api/auth/refresh`.
    pub refresh_token: String,
    /// When `refresh_token` stops working if unused.
    pub refresh_expires_at: DateTime<Utc>,
    /// The account (`id`, `email`, `display_name`, `role`, …).
    pub user: serde_json::Value,
}

/// The tus 1.0 resumable upload protocol as the server speaks it at `/api/uploads`.
pub mod tus {
    /// `Tus-Resumable` / `Tus-Version`.
    pub const VERSION: &str = "1.0.0";
    /// `Tus-Extension`.
    pub const EXTENSIONS: &str = "creation,checksum,expiration";
    /// `Tus-Checksum-Algorithm`.
    pub const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";
    /// `Content-Type` of a PATCH body.
    pub const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";
    /// Upload-Metadata key: hex sha256 of the whole file (required; verified at the end).
    pub const META_SHA256: &str = "sha256";
    /// Upload-Metadata key: the report the photo belongs to (required).
    pub const META_REPORT: &str = "report";
    /// Upload-Metadata key: `report` or `proof` (required).
    pub const META_KIND: &str = "kind";
    /// Upload-Metadata key: original file name (optional, informational).
    pub const META_FILENAME: &str = "filename";
    /// Status of a chunk whose `Upload-Checksum` does not match (tus checksum extension).
    pub const CHECKSUM_MISMATCH: u16 = 460;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_garbage() {
        let c: Cursor = "0192f0c1-a2b3.42".parse().unwrap();
        assert_eq!(c, Cursor { epoch: "0192f0c1-a2b3".into(), seq: 42 });
        assert_eq!(c.to_string(), "0192f0c1-a2b3.42");
        assert_eq!(serde_json::to_value(&c).unwrap(), serde_json::json!("0192f0c1-a2b3.42"));
        for bad in ["", "42", ".42", "abc.", "abc.-1", "abc.x", "a b.1", "abc.1.2x"] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn payload_hash_depends_on_kind_version_and_payload() {
        let p = serde_json::json!({"report_id": "0192f0c1-0000-7000-8000-000000000000", "text": "hi"});
        let h = payload_sha256(MutationKind::Comment, 1, &p);
        assert_eq!(h.len(), 64);
        assert_eq!(h, payload_sha256(MutationKind::Comment, 1, &p.clone()));
        assert_ne!(h, payload_sha256(MutationKind::Dispute, 1, &p));
        assert_ne!(h, payload_sha256(MutationKind::Comment, 2, &p));
        let other = serde_json::json!({"report_id": "0192f0c1-0000-7000-8000-000000000000", "text": "hi!"});
        assert_ne!(h, payload_sha256(MutationKind::Comment, 1, &other));
    }

    #[test]
    fn a_mutation_survives_the_wire_with_its_hash() {
        let payload = Comment {
            report_id: ReportId(Uuid::now_v7()), text: "ნაგავი ისევ აქ არის".into()
        };
        let m = Mutation::new(Uuid::now_v7(), Uuid::now_v7(), 7, MutationKind::Comment, &payload, Utc::now());
        let wire = serde_json::to_string(&m).unwrap();
        let back: Mutation = serde_json::from_str(&wire).unwrap();
        assert!(back.hash_matches());
        assert_eq!(back.kind.as_str(), "report.comment");
        let mut tampered = back.clone();
        tampered.payload["text"] = "something else".into();
        assert!(!tampered.hash_matches());
    }

    #[test]
    fn outcomes_are_tagged() {
        let r = PushResult {
            mutation_id: Uuid::nil(),
            outcome: Outcome::Rejected(Rejection {
                code: "proof_too_far".into(),
                message: "too far".into(),
                message_ka: "შორს".into(),
                field: Some("proof[0].taken_at".into()),
            }),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["outcome"], "rejected");
        assert_eq!(v["code"], "proof_too_far");
        assert_eq!(serde_json::from_value::<PushResult>(v).unwrap(), r);
        let applied =
            PushResult { mutation_id: Uuid::nil(), outcome: Outcome::Applied { result: serde_json::json!({"n": 1}) } };
        let v = serde_json::to_value(&applied).unwrap();
        assert_eq!(v["outcome"], "applied");
        assert_eq!(v["result"]["n"], 1);
    }

    #[test]
    fn geofence_allows_near_and_refuses_far() {
        let report = LatLon::new(41.7151, 44.8271).unwrap();
        let near = LatLon::new(41.7160, 44.8271).unwrap(); // ~100 m north
        let far = LatLon::new(41.7171, 44.8271).unwrap(); // ~222 m north
        assert!(check_geofence(report, near, DEFAULT_PROOF_GEOFENCE_M).is_ok());
        let err = check_geofence(report, far, DEFAULT_PROOF_GEOFENCE_M).unwrap_err();
        assert!((err.distance_m - 222.4).abs() < 2.0, "{}", err.distance_m);
        assert!(err.to_string().contains("150 m"));
    }
}
