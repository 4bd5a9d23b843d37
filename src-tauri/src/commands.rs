//! The commands the UI invokes (`invoke('create_report', { draft })`), each a thin call into
//! [`Client`]: parse what the webview sent (base64 photos, ids, coordinates), call the core,
//! return its `views` value unchanged. The table is fixed with the UI (issue 4's contract):
//! snake_case command names, camelCase arguments on the JS side (Tauri's default), snake_case
//! fields in what comes back.
//!
//! A failing command rejects with [`CommandError`] `{ code, message }`: the UI turns `code` into
//! Georgian or English text and may show `message` (English) as a detail.

use crate::AppState;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use smartmap_mobile::{
    Account, CategoryView, Client, Error, OutboxItem, Preview, ProofPhoto, Queued, QueuedReport, ReportDraft,
    ReportView, SyncStatus, SyncSummary,
};
use smartmap_shared::geo::LatLon;
use smartmap_shared::ids::ReportId;
use tauri::State;

/// Why a command failed, as the UI receives it.
///
/// Codes: `invalid_input` (the user's input cannot be queued: empty description, unknown
/// category, a location outside Tbilisi, a photo the pipeline refuses, a malformed id or
/// base64), `not_ready` (reference data not synced yet: no preview), `not_found`,
/// `needs_login` (no valid session), `invalid_credentials` (wrong e-mail or password),
/// `network` (the server cannot be reached), `server` (it answered with an error), `internal`
/// (the local database or a bug).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandError {
    /// Stable machine code.
    pub code: String,
    /// What happened, in English.
    pub message: String,
}

impl CommandError {
    fn invalid_input(message: impl Into<String>) -> CommandError {
        CommandError { code: "invalid_input".into(), message: message.into() }
    }
}

impl From<Error> for CommandError {
    fn from(e: Error) -> CommandError {
        let code = match &e {
            Error::InvalidInput(_) | Error::UnknownCategory(_) | Error::OutsideTbilisi(_) | Error::Photo { .. } => {
                "invalid_input"
            }
            Error::NotYetSynced => "not_ready",
            Error::ReportNotFound(_) => "not_found",
            Error::NeedsLogin | Error::AccountChanged => "needs_login",
            Error::InvalidCredentials => "invalid_credentials",
            Error::Network(_) => "network",
            Error::Server { .. } => "server",
            Error::Store(_) | Error::SchemaTooNew { .. } | Error::Corrupt(_) | Error::Task(_) => "internal",
        };
        if code == "internal" {
            tracing::error!(error = %e, "a command failed");
        }
        CommandError { code: code.into(), message: e.to_string() }
    }
}

/// What a command returns.
pub type CommandResult<T> = Result<T, CommandError>;

/// What the app is and where it syncs, for an "about" line.
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    /// The server's base URL (the UI calls it directly for the map and staff screens).
    pub server_url: String,
    /// This installation's device id.
    pub device_id: uuid::Uuid,
    /// The app's version.
    pub version: String,
}

/// A new report as the form sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftInput {
    /// Category slug.
    pub category: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// What is wrong.
    pub description: String,
    /// Street address, if known.
    #[serde(default)]
    pub address: Option<String>,
    /// Hide the reporter's name from staff too.
    #[serde(default)]
    pub hide_name: bool,
    /// The photos: base64 of the files' bytes as chosen or taken.
    #[serde(default)]
    pub photos: Vec<String>,
}

/// A proof photo as the crew's form sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofInput {
    /// Base64 of the file's bytes.
    pub photo: String,
    /// Where it was taken: latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

fn location(lat: f64, lon: f64) -> CommandResult<LatLon> {
    LatLon::new(lat, lon).map_err(|e| CommandError::invalid_input(e.to_string()))
}

fn report_id(text: &str) -> CommandResult<ReportId> {
    uuid::Uuid::parse_str(text.trim())
        .map(ReportId)
        .map_err(|_| CommandError::invalid_input(format!("'{text}' is not a report id")))
}

/// Decodes a photo sent as base64; a `data:…;base64,` prefix (what `FileReader.readAsDataURL`
/// gives) is accepted too.
fn photo_bytes(index: usize, text: &str) -> CommandResult<Vec<u8>> {
    let payload = match text.split_once(";base64,") {
        Some((prefix, rest)) if prefix.starts_with("data:") => rest,
        _ => text,
    };
    let bytes = BASE64
        .decode(payload.trim())
        .map_err(|e| CommandError::invalid_input(format!("photo {index} is not base64: {e}")))?;
    if bytes.is_empty() {
        return Err(CommandError::invalid_input(format!("photo {index} is empty")));
    }
    Ok(bytes)
}

fn client<'a>(state: &'a State<'_, AppState>) -> &'a Client {
    &state.client
}

/// `app_info`: the server URL, the device id and the app's version.
#[tauri::command]
pub async fn app_info(state: State<'_, AppState>) -> CommandResult<AppInfo> {
    Ok(AppInfo {
        server_url: state.server_url.clone(),
        device_id: client(&state).device_id()?,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// `account`: the signed-in account, or `null`.
#[tauri::command]
pub async fn account(state: State<'_, AppState>) -> CommandResult<Option<Account>> {
    Ok(client(&state).account().await?)
}

/// `login { email, password }`: signs in on this device (needs the network).
#[tauri::command]
pub async fn login(state: State<'_, AppState>, email: String, password: String) -> CommandResult<Account> {
    Ok(client(&state).login(email.trim(), &password).await?)
}

/// `logout`: signs out; queued captures stay with their account.
#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> CommandResult<()> {
    Ok(client(&state).logout().await?)
}

/// `access_token`: a valid access token for direct calls to the server, or `null` when signed
/// out, or when the token needs a refresh and the server cannot be reached.
#[tauri::command]
pub async fn access_token(state: State<'_, AppState>) -> CommandResult<Option<String>> {
    match client(&state).access_token().await {
        Ok(token) => Ok(Some(token)),
        Err(Error::NeedsLogin) => Ok(None),
        Err(e) if e.is_transient() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `categories`: the active categories (empty until reference data is synced).
#[tauri::command]
pub async fn categories(state: State<'_, AppState>) -> CommandResult<Vec<CategoryView>> {
    Ok(client(&state).categories().await?)
}

/// `preview { category, lat, lon }`: district, body and deadline, offline.
#[tauri::command]
pub async fn preview(state: State<'_, AppState>, category: String, lat: f64, lon: f64) -> CommandResult<Preview> {
    Ok(client(&state).preview(&category, location(lat, lon)?).await?)
}

/// `create_report { draft }`: queues a report (photos prepared on the phone) and wakes the sync.
#[tauri::command]
pub async fn create_report(state: State<'_, AppState>, draft: DraftInput) -> CommandResult<QueuedReport> {
    let photos = draft.photos.iter().enumerate().map(|(i, p)| photo_bytes(i, p)).collect::<CommandResult<_>>()?;
    let draft = ReportDraft {
        category: draft.category,
        location: location(draft.lat, draft.lon)?,
        description: draft.description,
        address: draft.address,
        hide_name: draft.hide_name,
        photos,
    };
    let queued = client(&state).create_report(draft).await?;
    // The core already wakes its loop on a capture; waking again is harmless and keeps the
    // shell's promise ("wake after every capture") independent of that detail.
    client(&state).wake();
    Ok(queued)
}

/// `comment { reportId, text }`: queues a public comment.
#[tauri::command]
pub async fn comment(state: State<'_, AppState>, report_id: String, text: String) -> CommandResult<Queued> {
    let queued = client(&state).comment(self::report_id(&report_id)?, &text).await?;
    client(&state).wake();
    Ok(queued)
}

/// `follow { reportId, follow }`: queues following or unfollowing a report.
#[tauri::command]
pub async fn follow(state: State<'_, AppState>, report_id: String, follow: bool) -> CommandResult<Queued> {
    let queued = client(&state).follow(self::report_id(&report_id)?, follow).await?;
    client(&state).wake();
    Ok(queued)
}

/// `dispute { reportId, reason }`: queues a dispute of a closure.
#[tauri::command]
pub async fn dispute(state: State<'_, AppState>, report_id: String, reason: String) -> CommandResult<Queued> {
    let queued = client(&state).dispute(self::report_id(&report_id)?, &reason).await?;
    client(&state).wake();
    Ok(queued)
}

/// `close_ticket { reportId, note?, proofs }`: queues closing a ticket with proof photos; a
/// proof outside the geofence comes back in `warnings`.
#[tauri::command]
pub async fn close_ticket(
    state: State<'_, AppState>,
    report_id: String,
    note: Option<String>,
    proofs: Vec<ProofInput>,
) -> CommandResult<Queued> {
    let proofs = proofs
        .iter()
        .enumerate()
        .map(|(i, p)| Ok(ProofPhoto { bytes: photo_bytes(i, &p.photo)?, taken_at: location(p.lat, p.lon)? }))
        .collect::<CommandResult<Vec<_>>>()?;
    let queued = client(&state).close_ticket(self::report_id(&report_id)?, note, proofs).await?;
    client(&state).wake();
    Ok(queued)
}

/// `my_reports`: the user's reports, synced and queued, newest first.
#[tauri::command]
pub async fn my_reports(state: State<'_, AppState>) -> CommandResult<Vec<ReportView>> {
    Ok(client(&state).my_reports().await?)
}

/// `my_tickets`: the reports assigned to the user as a field crew.
#[tauri::command]
pub async fn my_tickets(state: State<'_, AppState>) -> CommandResult<Vec<ReportView>> {
    Ok(client(&state).my_tickets().await?)
}

/// `report { id }`: one report, synced or queued.
#[tauri::command]
pub async fn report(state: State<'_, AppState>, id: String) -> CommandResult<ReportView> {
    Ok(client(&state).report(report_id(&id)?).await?)
}

/// `local_thumbnail { sha256 }`: a photo taken on this phone as a `data:image/jpeg;base64,…`
/// URL, or `null`.
#[tauri::command]
pub async fn local_thumbnail(state: State<'_, AppState>, sha256: String) -> CommandResult<Option<String>> {
    let thumb = client(&state).local_thumbnail(&sha256).await?;
    Ok(thumb.map(|jpeg| format!("data:image/jpeg;base64,{}", BASE64.encode(jpeg))))
}

/// `outbox`: every queued change with its state.
#[tauri::command]
pub async fn outbox(state: State<'_, AppState>) -> CommandResult<Vec<OutboxItem>> {
    Ok(client(&state).outbox().await?)
}

/// `sync_status`: pending work, the last sync, whether a sign-in is needed.
#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> CommandResult<SyncStatus> {
    Ok(client(&state).sync_status().await?)
}

/// `sync_now`: lifts backoff holds and syncs once (fails when offline); `sync-finished` follows.
#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> CommandResult<SyncSummary> {
    Ok(client(&state).sync_now().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_arrive_as_base64_with_or_without_a_data_url_prefix() {
        assert_eq!(photo_bytes(0, "AQID").unwrap(), vec![1, 2, 3]);
        assert_eq!(photo_bytes(0, "data:image/jpeg;base64,AQID").unwrap(), vec![1, 2, 3]);
        assert_eq!(photo_bytes(1, "not base64!").unwrap_err().code, "invalid_input");
        assert_eq!(photo_bytes(2, "").unwrap_err().code, "invalid_input");
    }

    #[test]
    fn core_errors_become_stable_codes() {
        let code = |e: Error| CommandError::from(e).code;
        assert_eq!(code(Error::NotYetSynced), "not_ready");
        assert_eq!(code(Error::NeedsLogin), "needs_login");
        assert_eq!(code(Error::UnknownCategory("x".into())), "invalid_input");
        assert_eq!(code(Error::ReportNotFound("x".into())), "not_found");
        assert_eq!(code(Error::Server { status: 503, body: String::new() }), "server");
        assert_eq!(code(Error::Corrupt("x".into())), "internal");
    }

    #[test]
    fn a_draft_reads_the_forms_camel_case() {
        let draft: DraftInput = serde_json::from_value(serde_json::json!({
            "category": "pothole", "lat": 41.7, "lon": 44.8, "description": "a hole",
            "hideName": true, "photos": ["AQID"]
        }))
        .unwrap();
        assert!(draft.hide_name);
        assert_eq!(draft.address, None);
        assert!(report_id("not-a-uuid").is_err());
    }
}
