//! [`Client`]: the whole API the app calls. Captures go to the local store and never need the
//! network; reads lay pending changes over synced state; [`Client::sync_once`] and
//! [`Client::run`] talk to the server.

use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::overlay::{queued_report_view, synced_view};
use crate::preview;
use crate::store::{NewPhoto, Store, meta};
use crate::sync::http::Api;
use crate::views::*;
use crate::{Clock, SystemClock};
use chrono::{DateTime, Utc};
use smartmap_shared::geo::LatLon;
use smartmap_shared::ids::ReportId;
use smartmap_shared::photo::{PhotoLimits, prepare_photo};
use smartmap_shared::sync::{
    CloseTicket, Comment, CreateReport, DEFAULT_PROOF_GEOFENCE_M, Dispute, ExpectedPhoto, Follow, MutationKind,
    check_geofence, sha256_hex,
};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

/// How the client behaves; [`Config::new`] gives the app's defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server's base URL.
    pub server_url: String,
    /// Longest a whole HTTP request may take.
    pub request_timeout: Duration,
    /// Longest connecting may take.
    pub connect_timeout: Duration,
    /// Bytes per tus PATCH. Each chunk carries its own checksum, so a cut connection loses at most
    /// the chunk in flight; 64 KiB (the default) keeps that small for about 1 % of headers.
    pub upload_chunk_size: usize,
    /// How long acknowledged mutations and their photos are kept (to re-push after a server
    /// restore). Default 30 days.
    pub retention: chrono::Duration,
    /// The proof geofence the phone warns with, in metres.
    pub proof_geofence_m: f64,
    /// Photo preparation limits: the server's own by default.
    pub photo_limits: PhotoLimits,
    /// Spacing of retries.
    pub backoff: Backoff,
    /// How often [`Client::run`] syncs when nothing happens.
    pub sync_interval: Duration,
    /// Refresh the access token this long before it expires.
    pub refresh_margin: chrono::Duration,
    /// Changes per pull page.
    pub pull_limit: u32,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// The installation's id, kept by the app outside this database (Android: a file in
    /// `noBackupFilesDir`; iOS: a this-device-only keychain item), so that a database restored
    /// from a backup onto a reinstalled app gets a new device id
    /// ([`Store::adopt_installation`]). `None`: the id minted in the database on first open.
    pub installation_id: Option<uuid::Uuid>,
}

impl Config {
    /// The defaults, for `server_url`.
    pub fn new(server_url: impl Into<String>) -> Config {
        Config {
            server_url: server_url.into(),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
            upload_chunk_size: 64 * 1024,
            retention: chrono::Duration::days(30),
            proof_geofence_m: DEFAULT_PROOF_GEOFENCE_M,
            photo_limits: PhotoLimits::default(),
            backoff: Backoff::default(),
            sync_interval: Duration::from_secs(5 * 60),
            refresh_margin: chrono::Duration::seconds(60),
            pull_limit: smartmap_shared::sync::MAX_PULL_PAGE,
            clock: Arc::new(SystemClock),
            installation_id: None,
        }
    }
}

/// What the client shares between its clones and its background loop.
pub(crate) struct Inner {
    pub(crate) store: Mutex<Store>,
    pub(crate) api: Api,
    pub(crate) config: Config,
    pub(crate) progress: broadcast::Sender<SyncProgress>,
    pub(crate) finished: broadcast::Sender<SyncFinished>,
    pub(crate) wake: Notify,
    /// One sync at a time.
    pub(crate) syncing: tokio::sync::Mutex<()>,
}

impl Inner {
    /// Runs `f` on the store. The lock is never held across an await.
    pub(crate) fn store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        let mut guard = self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.config.clock.now()
    }
}

/// The phone core. Cheap to clone; every clone is the same client.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("server_url", &self.inner.config.server_url).finish_non_exhaustive()
    }
}

impl Client {
    /// Opens the database at `db_path` (created if missing) for the server at `server_url`, with
    /// the default [`Config`].
    pub async fn open(db_path: impl AsRef<Path>, server_url: &str) -> Result<Client> {
        Client::open_with(db_path, Config::new(server_url)).await
    }

    /// Opens the database at `db_path` with `config`.
    pub async fn open_with(db_path: impl AsRef<Path>, config: Config) -> Result<Client> {
        let mut store = Store::open(db_path.as_ref())?;
        if let Some(installation) = config.installation_id
            && store.adopt_installation(installation)?
        {
            tracing::info!(%installation, "a database from another installation: new device id, sign in again");
        }
        store.set_meta(meta::BASE_URL, &config.server_url)?;
        let api = Api::new(&config.server_url, config.request_timeout, config.connect_timeout)?;
        let (progress, _) = broadcast::channel(256);
        let (finished, _) = broadcast::channel(16);
        Ok(Client {
            inner: Arc::new(Inner {
                store: Mutex::new(store),
                api,
                config,
                progress,
                finished,
                wake: Notify::new(),
                syncing: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// This installation's id.
    pub fn device_id(&self) -> Result<uuid::Uuid> {
        self.inner.store(|s| s.device_id())
    }

    // ---- account ----

    /// Signs in on this device: a device-bound refresh token and an access token are stored.
    pub async fn login(&self, email: &str, password: &str) -> Result<Account> {
        let device_id = self.device_id()?;
        let body =
            smartmap_shared::sync::DeviceLogin { email: email.to_owned(), password: password.to_owned(), device_id };
        let pair = self.inner.api.login(&body).await?;
        self.inner.store_tokens(&pair)?;
        self.inner.wake.notify_one();
        self.account().await?.ok_or_else(|| Error::Corrupt("the account was not stored".into()))
    }

    /// Signs out: the session ends on the server (if reachable) and the tokens are forgotten.
    /// Queued captures stay, bound to their account: they are sent when that account signs in
    /// again, never under another one. The account is remembered as the last one, so what is
    /// captured while signed out is its too.
    pub async fn logout(&self) -> Result<()> {
        let token = self.inner.store(|s| s.meta(meta::ACCESS_TOKEN))?;
        if let Some(token) = token
            && let Err(e) = self.inner.api.logout(&token).await
        {
            tracing::info!(error = %e, "the server did not hear the sign-out; forgetting the tokens anyway");
        }
        self.inner.store(|s| {
            s.set_meta_many(&[
                (meta::ACCESS_TOKEN, None),
                (meta::ACCESS_EXPIRES_AT, None),
                (meta::REFRESH_TOKEN, None),
                (meta::REFRESH_EXPIRES_AT, None),
                (meta::ACCOUNT, None),
                (meta::NEEDS_LOGIN, None),
            ])
        })
    }

    /// The signed-in account, if any (also while [`Account::needs_login`]).
    pub async fn account(&self) -> Result<Option<Account>> {
        self.inner.store(|s| {
            let Some(raw) = s.meta(meta::ACCOUNT)? else { return Ok(None) };
            let raw: serde_json::Value = serde_json::from_str(&raw)?;
            let text = |k: &str| raw.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            Ok(Some(Account {
                email: text("email"),
                display_name: text("display_name"),
                role: text("role"),
                needs_login: s.meta(meta::NEEDS_LOGIN)?.is_some(),
                raw,
            }))
        })
    }

    // ---- reference data and preview ----

    /// The active categories, for the report form. Empty until reference data is synced.
    pub async fn categories(&self) -> Result<Vec<CategoryView>> {
        let reference = self.inner.store(|s| s.reference())?;
        Ok(reference
            .categories
            .into_iter()
            .filter(|c| c.active)
            .map(|c| CategoryView { id: c.id.as_str().to_owned(), name: c.name, sla: c.sla })
            .collect())
    }

    /// District, responsible body and deadline of a report of `category` at `location`, from
    /// synced reference data and the phone's clock; works offline.
    pub async fn preview(&self, category: &str, location: LatLon) -> Result<Preview> {
        let reference = self.inner.store(|s| s.reference())?;
        preview::preview(&reference, category, location, self.inner.now())
    }

    // ---- captures: never need the network or a token ----

    /// Queues a new report. Its photos are prepared here (decoded with the server's limits,
    /// turned upright, resized, re-encoded without any metadata) and stored; the report id is
    /// minted here.
    pub async fn create_report(&self, draft: ReportDraft) -> Result<QueuedReport> {
        let description = draft.description.trim().to_owned();
        if description.is_empty() {
            return Err(Error::InvalidInput("describe the problem".into()));
        }
        let reference = self.inner.store(|s| s.reference())?;
        // Refuse what the server would refuse for sure, when the phone knows; without reference
        // data the report is queued anyway and the server decides.
        let preview = match preview::preview(&reference, &draft.category, draft.location, self.inner.now()) {
            Ok(p) => Some(p),
            Err(Error::NotYetSynced) => None,
            Err(e) => return Err(e),
        };
        let photos = self.prepare(draft.photos.into_iter().map(|b| (b, None)).collect(), "report").await?;
        let report_id = ReportId::new_v7();
        let payload = CreateReport {
            report_id,
            category: draft.category,
            location: draft.location,
            description,
            address: draft.address.filter(|a| !a.trim().is_empty()),
            hide_name: draft.hide_name,
            photos: expected(&photos),
        };
        let queued = self.enqueue(MutationKind::CreateReport, &payload, report_id, photos, vec![])?;
        Ok(QueuedReport { report_id, queued, preview })
    }

    /// Queues a public comment on a report.
    pub async fn comment(&self, report: ReportId, text: &str) -> Result<Queued> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::InvalidInput("a comment cannot be empty".into()));
        }
        self.enqueue(
            MutationKind::Comment,
            &Comment { report_id: report, text: text.to_owned() },
            report,
            vec![],
            vec![],
        )
    }

    /// Queues following (or no longer following) a report.
    pub async fn follow(&self, report: ReportId, follow: bool) -> Result<Queued> {
        self.enqueue(MutationKind::Follow, &Follow { report_id: report, follow }, report, vec![], vec![])
    }

    /// Queues a dispute of a closure of the user's report.
    pub async fn dispute(&self, report: ReportId, reason: &str) -> Result<Queued> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::InvalidInput("say why the problem is not fixed".into()));
        }
        self.enqueue(
            MutationKind::Dispute,
            &Dispute { report_id: report, reason: reason.to_owned() },
            report,
            vec![],
            vec![],
        )
    }

    /// Queues closing a ticket as fixed with proof photos. A proof taken outside the geofence
    /// around the report is still queued (the server decides) but comes back as a warning.
    pub async fn close_ticket(
        &self,
        report: ReportId,
        note: Option<String>,
        proofs: Vec<ProofPhoto>,
    ) -> Result<Queued> {
        if proofs.is_empty() {
            return Err(Error::InvalidInput("closing a ticket needs at least one proof photo".into()));
        }
        let synced = self
            .inner
            .store(|s| s.synced_report(report.0))?
            .ok_or_else(|| Error::ReportNotFound(report.to_string()))?;
        let warnings: Vec<GeofenceWarning> = proofs
            .iter()
            .enumerate()
            .filter_map(|(index, proof)| {
                check_geofence(synced.location, proof.taken_at, self.inner.config.proof_geofence_m).err().map(|e| {
                    GeofenceWarning { index, distance_m: e.distance_m, limit_m: e.limit_m, message: e.to_string() }
                })
            })
            .collect();
        let photos = self.prepare(proofs.into_iter().map(|p| (p.bytes, Some(p.taken_at))).collect(), "proof").await?;
        let payload = CloseTicket {
            report_id: report,
            public_note: note.filter(|n| !n.trim().is_empty()),
            proof: expected(&photos),
        };
        self.enqueue(MutationKind::CloseTicket, &payload, report, photos, warnings)
    }

    fn enqueue<P: serde::Serialize>(
        &self,
        kind: MutationKind,
        payload: &P,
        report: ReportId,
        photos: Vec<NewPhoto>,
        warnings: Vec<GeofenceWarning>,
    ) -> Result<Queued> {
        let now = self.inner.now();
        let mutation = self.inner.store(|s| s.enqueue(kind, payload, Some(report.0), photos, now))?;
        self.inner.wake.notify_one();
        Ok(Queued { mutation_id: mutation.mutation_id, device_seq: mutation.device_seq, warnings })
    }

    /// Runs the photo pipeline on each photo, off the async threads.
    async fn prepare(&self, photos: Vec<(Vec<u8>, Option<LatLon>)>, kind: &'static str) -> Result<Vec<NewPhoto>> {
        let limits = self.inner.config.photo_limits;
        tokio::task::spawn_blocking(move || {
            photos
                .into_iter()
                .enumerate()
                .map(|(index, (bytes, taken_at))| {
                    let prepared = prepare_photo(&bytes, &limits).map_err(|source| Error::Photo { index, source })?;
                    Ok(NewPhoto {
                        kind,
                        sha256: sha256_hex(&prepared.full),
                        jpeg: prepared.full,
                        thumb: prepared.thumb,
                        taken_at,
                    })
                })
                .collect()
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?
    }

    /// The thumbnail of a photo captured on this phone, by its sha256.
    pub async fn local_thumbnail(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        self.inner.store(|s| s.photo_thumb(sha256))
    }

    // ---- reads: synced state with pending changes laid over it ----

    /// The user's reports: synced ones and those still on the phone, newest first.
    pub async fn my_reports(&self) -> Result<Vec<ReportView>> {
        self.inner.store(|s| {
            let reference = s.reference()?;
            let rows = s.outbox_rows()?;
            let mut views = Vec::new();
            // Queued (or refused) new reports the server does not show yet, newest first — the
            // current account's (or nobody's yet); another account's wait out of sight.
            let me = s.capturing_account()?.map(|a| a.id);
            let mine = |r: &&crate::store::OutboxRow| r.account.as_ref().is_none_or(|a| Some(&a.id) == me.as_ref());
            for row in rows.iter().rev().filter(|r| r.mutation.kind == MutationKind::CreateReport).filter(mine) {
                let Some(id) = row.report_id else { continue };
                if s.synced_report(id)?.is_none() {
                    views.push(queued_report_view(s, &reference, row)?);
                }
            }
            for synced in s.my_synced_reports()? {
                views.push(synced_view(s, &reference, synced)?);
            }
            Ok(views)
        })
    }

    /// The user's tickets (reports assigned to them as a field crew), newest first.
    pub async fn my_tickets(&self) -> Result<Vec<ReportView>> {
        self.inner.store(|s| {
            let reference = s.reference()?;
            s.my_synced_tickets()?.into_iter().map(|r| synced_view(s, &reference, r)).collect()
        })
    }

    /// One report, synced or queued.
    pub async fn report(&self, id: ReportId) -> Result<ReportView> {
        self.inner.store(|s| {
            let reference = s.reference()?;
            if let Some(synced) = s.synced_report(id.0)? {
                return synced_view(s, &reference, synced);
            }
            let rows = s.outbox_rows_for(id.0)?;
            match rows.iter().find(|r| r.mutation.kind == MutationKind::CreateReport) {
                Some(row) => queued_report_view(s, &reference, row),
                None => Err(Error::ReportNotFound(id.to_string())),
            }
        })
    }

    /// Every outbox entry, in capture order, with its state, any reason it was refused, and the
    /// account it waits for when that is not the signed-in one.
    pub async fn outbox(&self) -> Result<Vec<OutboxItem>> {
        self.inner.store(|s| {
            let signed_in = s.signed_in_account()?;
            s.outbox_rows()?
                .into_iter()
                .map(|row| {
                    let photos = s.photos_of_mutation(row.mutation.mutation_id)?;
                    let waiting_for = match (&row.account, row.state) {
                        (Some(owner), OutboxState::Pending)
                            if signed_in.as_ref().is_none_or(|current| current.id != owner.id) =>
                        {
                            Some(owner.label().to_owned())
                        }
                        _ => None,
                    };
                    Ok(OutboxItem {
                        mutation_id: row.mutation.mutation_id,
                        device_seq: row.mutation.device_seq,
                        kind: row.mutation.kind.as_str().to_owned(),
                        report_id: row.report_id,
                        state: row.state,
                        client_time: row.mutation.client_time,
                        attempts: row.attempts,
                        next_attempt_at: row.next_attempt_at,
                        last_error: row.last_error,
                        rejection: row.rejection,
                        photos_total: photos.len(),
                        photos_uploaded: photos.iter().filter(|p| p.done).count(),
                        waiting_for,
                    })
                })
                .collect()
        })
    }

    /// Pending work, the last sync, and whether the user must sign in again.
    pub async fn sync_status(&self) -> Result<SyncStatus> {
        self.inner.store(|s| {
            let (pending_items, pending_bytes) = s.pending_totals()?;
            let reference = s.reference()?;
            let signed_in = s.meta(meta::REFRESH_TOKEN)?.is_some();
            Ok(SyncStatus {
                pending_items,
                pending_bytes,
                last_success_at: s
                    .meta(meta::LAST_SUCCESS_AT)?
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&Utc)),
                needs_login: !signed_in || s.meta(meta::NEEDS_LOGIN)?.is_some(),
                signed_in,
                last_error: s.meta(meta::LAST_ERROR)?,
                reference_synced: reference.routing.is_some() && !reference.categories.is_empty(),
                waiting_for_sign_in: s
                    .waiting_for_accounts()?
                    .into_iter()
                    .map(|(account, items)| WaitingAccount { email: account.label().to_owned(), items })
                    .collect(),
            })
        })
    }

    /// Progress events of syncs (items and bytes), for a progress bar.
    pub fn subscribe(&self) -> broadcast::Receiver<SyncProgress> {
        self.inner.progress.subscribe()
    }

    /// How each sync attempt ended (the background loop's and [`Client::sync_now`]'s), for a UI
    /// that refreshes its lists after a sync.
    pub fn subscribe_finished(&self) -> broadcast::Receiver<SyncFinished> {
        self.inner.finished.subscribe()
    }

    /// An access token valid for a while yet (refreshed with the server if it is about to
    /// expire), for calls the app makes to the server directly (the map, staff screens).
    /// [`Error::NeedsLogin`] when nobody is signed in.
    pub async fn access_token(&self) -> Result<String> {
        self.inner.access_token().await
    }

    /// One sync: token → push → photo uploads → pull (see [`crate::sync`]).
    pub async fn sync_once(&self) -> Result<SyncSummary> {
        self.inner.sync_once().await
    }

    /// "Send now": lifts the backoff of held-back mutations, then syncs once.
    pub async fn sync_now(&self) -> Result<SyncSummary> {
        self.inner.store(|s| s.release_holds())?;
        self.inner.sync_once().await
    }

    /// Syncs in the background until `shutdown` completes: after each sync it sleeps for the
    /// configured interval (or, after a failure, a backoff with jitter) and wakes early on a new
    /// capture.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        self.inner.run(shutdown).await
    }

    /// Wakes the background loop (e.g. when the network comes back).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }
}

fn expected(photos: &[NewPhoto]) -> Vec<ExpectedPhoto> {
    photos
        .iter()
        .map(|p| ExpectedPhoto { sha256: p.sha256.clone(), size: p.jpeg.len() as u64, taken_at: p.taken_at })
        .collect()
}
