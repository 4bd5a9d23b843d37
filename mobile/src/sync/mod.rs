//! The sync engine: one [`Client::sync_once`](crate::Client::sync_once) is
//!
//! 1. **token**: a valid access token, refreshed ahead of expiry; a refused refresh means "sign
//!    in again" ([`Error::NeedsLogin`]) — everything stays queued and capture keeps working;
//! 2. **first contact**: without a cursor, a snapshot (reference data, the user's reports);
//! 3. **push**: pending mutations of the signed-in account (and unowned ones, bound to it as they
//!    are taken; another account's wait for it) in capture order, in batches of at most
//!    [`MAX_PUSH_BATCH`], each marked `in_flight` in a transaction first; applied/duplicate →
//!    `acked` with the epoch; rejected → `rejected` (final, never blocking the queue); 401 →
//!    refresh once, then sign-in needed; 429/5xx/network → back to `pending` with backoff;
//! 4. **photos**: tus uploads of the photos promised by the account's acknowledged mutations,
//!    resumed from the server's offset;
//! 5. **pull** until `has_more` is false, each page applied with its cursor in one transaction;
//!    410 → snapshot, which re-queues every mutation acknowledged in another epoch (a restored
//!    server gets back what it lost), then push and upload again.
//!
//! [`Client::run`](crate::Client::run) repeats it with backoff and wakes on new captures.

pub mod http;
mod tus;

use crate::client::Inner;
use crate::error::{Error, Result};
use crate::store::{AccountRef, meta};
use crate::views::{SyncFinished, SyncPhase, SyncProgress, SyncSummary};
use chrono::{DateTime, Utc};
use smartmap_shared::sync::{MAX_PUSH_BATCH, Outcome, PushRequest, RefreshRequest, TokenPair};
use std::future::Future;
use std::time::Duration;

/// Whether an error is the server's "who are you?" (the access token was not accepted).
fn is_unauthorized(e: &Error) -> bool {
    matches!(e, Error::Server { status: 401, .. })
}

fn parse_time(text: Option<String>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.as_deref()?).ok().map(|t| t.with_timezone(&Utc))
}

impl Inner {
    pub(crate) fn store_tokens(&self, pair: &TokenPair) -> Result<()> {
        let account = serde_json::to_string(&pair.user)?;
        let expires = pair.expires_at.to_rfc3339();
        let refresh_expires = pair.refresh_expires_at.to_rfc3339();
        let new_id = pair.user.get("id").and_then(|v| v.as_str()).map(str::to_owned);
        self.store(|s| {
            let previous = s.capturing_account()?;
            if previous.is_some_and(|p| Some(p.id) != new_id) {
                s.forget_synced_reports()?;
            }
            s.set_meta_many(&[
                (meta::ACCESS_TOKEN, Some(&pair.token)),
                (meta::ACCESS_EXPIRES_AT, Some(&expires)),
                (meta::REFRESH_TOKEN, Some(&pair.refresh_token)),
                (meta::REFRESH_EXPIRES_AT, Some(&refresh_expires)),
                (meta::ACCOUNT, Some(&account)),
                (meta::LAST_ACCOUNT, Some(&account)),
                (meta::NEEDS_LOGIN, None),
            ])
        })
    }

    /// The phone's clock moved to the server's (tokens expire in server time).
    fn server_now(&self) -> Result<DateTime<Utc>> {
        let offset: i64 = self.store(|s| s.meta(meta::SERVER_OFFSET_MS))?.and_then(|t| t.parse().ok()).unwrap_or(0);
        Ok(self.now() + chrono::Duration::milliseconds(offset))
    }

    fn require_login(&self) -> Error {
        if let Err(e) = self.store(|s| {
            s.set_meta_many(&[
                (meta::NEEDS_LOGIN, Some("1")),
                (meta::ACCESS_TOKEN, None),
                (meta::ACCESS_EXPIRES_AT, None),
                (meta::REFRESH_TOKEN, None),
                (meta::REFRESH_EXPIRES_AT, None),
            ])
        }) {
            tracing::error!(error = %e, "could not record that a sign-in is needed");
        }
        Error::NeedsLogin
    }

    /// An access token valid for a while yet, refreshing it if it is about to expire.
    pub(crate) async fn access_token(&self) -> Result<String> {
        let (token, expires) =
            self.store(|s| Ok((s.meta(meta::ACCESS_TOKEN)?, parse_time(s.meta(meta::ACCESS_EXPIRES_AT)?))))?;
        match (token, expires) {
            (Some(token), Some(expires)) if expires - self.config.refresh_margin > self.server_now()? => Ok(token),
            _ => self.refresh().await,
        }
    }

    /// Rotates the token pair. A refused refresh token ends the session on this phone.
    async fn refresh(&self) -> Result<String> {
        let (refresh_token, device_id) = self.store(|s| Ok((s.meta(meta::REFRESH_TOKEN)?, s.device_id()?)))?;
        let Some(refresh_token) = refresh_token else { return Err(Error::NeedsLogin) };
        match self.api.refresh(&RefreshRequest { refresh_token, device_id }).await {
            Ok(pair) => {
                self.store_tokens(&pair)?;
                Ok(pair.token)
            }
            Err(Error::Server { status: 400 | 401 | 403, .. }) => Err(self.require_login()),
            Err(e) => Err(e),
        }
    }

    /// Calls the server with the access token; on 401 refreshes once and calls again; a second
    /// 401 means the user must sign in again.
    async fn authed<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let token = self.access_token().await?;
        match call(token).await {
            Err(e) if is_unauthorized(&e) => {
                let token = self.refresh().await?;
                match call(token).await {
                    Err(e) if is_unauthorized(&e) => Err(self.require_login()),
                    other => other,
                }
            }
            other => other,
        }
    }

    /// [`Inner::authed`] on behalf of `owner`: each call (the first and the one after a refresh)
    /// is made only while `owner` is still the signed-in account, so what belongs to one account
    /// is never sent with another's token, even when someone signs in during a sync. `None`: a
    /// row from before outbox rows had owners, sent as whoever is signed in.
    pub(crate) async fn authed_as<T, F, Fut>(&self, owner: Option<&str>, call: F) -> Result<T>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let call = &call;
        self.authed(|token| async move {
            if let Some(owner) = owner
                && self.store(|s| s.signed_in_account())?.is_none_or(|a| a.id != owner)
            {
                return Err(Error::AccountChanged);
            }
            call(token).await
        })
        .await
    }

    pub(crate) fn emit(&self, phase: SyncPhase, items_done: u64, items_total: u64, bytes_sent: u64, bytes_total: u64) {
        // Nobody listening is fine.
        let _ = self.progress.send(SyncProgress { phase, items_done, items_total, bytes_sent, bytes_total });
    }

    pub(crate) async fn sync_once(&self) -> Result<SyncSummary> {
        let _one_at_a_time = self.syncing.lock().await;
        let outcome = self.sync_steps().await;
        let now = self.now().to_rfc3339();
        self.emit(SyncPhase::Idle, 0, 0, 0, 0);
        let recorded = match &outcome {
            Ok(_) => self.store(|s| s.set_meta_many(&[(meta::LAST_SUCCESS_AT, Some(&now)), (meta::LAST_ERROR, None)])),
            Err(e) => self.store(|s| s.set_meta(meta::LAST_ERROR, &e.to_string())),
        };
        if let Err(e) = recorded {
            tracing::error!(error = %e, "could not record the sync's outcome");
        }
        let finished = match &outcome {
            Ok(summary) => SyncFinished { ok: true, summary: Some(summary.clone()), error: None },
            Err(e) => SyncFinished { ok: false, summary: None, error: Some(e.to_string()) },
        };
        // Nobody listening is fine.
        let _ = self.finished.send(finished);
        outcome
    }

    async fn sync_steps(&self) -> Result<SyncSummary> {
        let mut summary = SyncSummary::default();
        // Refresh up front, so "sign in again" is known before anything is marked in flight.
        self.access_token().await?;
        if self.store(|s| s.cursor())?.is_none() {
            self.snapshot(&mut summary).await?;
        }
        self.push(&mut summary).await?;
        self.upload_photos(&mut summary).await?;
        let requeued_before = summary.requeued;
        self.pull(&mut summary).await?;
        if summary.requeued > requeued_before {
            // A restored server: give it back what it lost, then catch up with what that changed.
            self.push(&mut summary).await?;
            self.upload_photos(&mut summary).await?;
            self.pull(&mut summary).await?;
        }
        let cutoff = self.now() - self.config.retention;
        self.store(|s| s.prune(cutoff))?;
        Ok(summary)
    }

    async fn snapshot(&self, summary: &mut SyncSummary) -> Result<()> {
        let snapshot = self.authed(|token| async move { self.api.snapshot(&token).await }).await?;
        let now = self.now();
        let requeued = self.store(|s| {
            s.record_server_time(snapshot.server_time, now)?;
            s.apply_snapshot(&snapshot)
        })?;
        summary.snapshot = true;
        summary.changes_pulled += snapshot.entities.len();
        summary.requeued += requeued;
        if requeued > 0 {
            tracing::info!(requeued, epoch = %snapshot.cursor.epoch, "new server epoch: re-pushing acknowledged mutations");
        }
        Ok(())
    }

    async fn push(&self, summary: &mut SyncSummary) -> Result<()> {
        let device_id = self.store(|s| s.device_id())?;
        // The account this push is for: its rows and unowned ones go, bound to it; the batch is
        // sent only while it is still the one signed in.
        let Some(account): Option<AccountRef> = self.store(|s| s.signed_in_account())? else {
            return Err(Error::NeedsLogin);
        };
        let total = self.store(|s| s.sendable_count())?;
        let mut done = 0u64;
        loop {
            let now = self.now();
            let batch = self.store(|s| s.take_batch_for(Some(&account), now, MAX_PUSH_BATCH))?;
            if batch.is_empty() {
                return Ok(());
            }
            let ids: Vec<_> = batch.iter().map(|m| m.mutation_id).collect();
            let request = PushRequest { device_id, mutations: batch };
            let request = &request;
            let owner = Some(account.id.as_str());
            match self.authed_as(owner, |token| async move { self.api.push(&token, request).await }).await {
                Ok(response) => {
                    let now = self.now();
                    self.store(|s| {
                        s.record_server_time(response.server_time, now)?;
                        s.record_outcomes(&ids, &response.results, Some(response.epoch.as_str()), now)
                    })?;
                    for r in &response.results {
                        match &r.outcome {
                            Outcome::Applied { .. } | Outcome::Duplicate { .. } => summary.acked += 1,
                            Outcome::Rejected(rejection) => {
                                tracing::info!(mutation = %r.mutation_id, code = %rejection.code, "mutation rejected");
                                summary.rejected += 1;
                            }
                        }
                    }
                    done += ids.len() as u64;
                    self.emit(SyncPhase::Push, done, total.max(0) as u64, 0, 0);
                    if response.results.len() < ids.len() {
                        // The unanswered ones went back to pending; do not loop on them now.
                        return Err(Error::Corrupt(format!(
                            "the server answered {} of {} mutations",
                            response.results.len(),
                            ids.len()
                        )));
                    }
                }
                Err(Error::NeedsLogin) => {
                    self.store(|s| s.release_batch(&ids, None, "signed out"))?;
                    return Err(Error::NeedsLogin);
                }
                Err(Error::AccountChanged) => {
                    // Not sent: no failure of theirs, so no backoff; they wait for their account.
                    self.store(|s| s.release_batch(&ids, None, "waiting for its account to sign in"))?;
                    return Err(Error::AccountChanged);
                }
                Err(e) => {
                    // 429, 5xx, network, or a batch the server could not read: all stay queued.
                    let attempts = ids.first().map(|id| self.store(|s| s.attempts(*id))).transpose()?.unwrap_or(0);
                    let delay = self.config.backoff.delay_now(u32::try_from(attempts + 1).unwrap_or(u32::MAX));
                    let retry_at = self.now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::zero());
                    self.store(|s| s.release_batch(&ids, Some(retry_at), &e.to_string()))?;
                    return Err(e);
                }
            }
        }
    }

    async fn pull(&self, summary: &mut SyncSummary) -> Result<()> {
        let mut pages = 0u64;
        let mut snapshots = 0;
        loop {
            let cursor = self.store(|s| s.cursor())?.ok_or_else(|| Error::Corrupt("no cursor to pull from".into()))?;
            let cursor = &cursor;
            let limit = self.config.pull_limit;
            match self.authed(|token| async move { self.api.pull(&token, cursor, limit).await }).await {
                Ok(page) => {
                    let now = self.now();
                    self.store(|s| {
                        s.record_server_time(page.server_time, now)?;
                        s.apply_page(&page)
                    })?;
                    pages += 1;
                    summary.changes_pulled += page.changes.len();
                    self.emit(SyncPhase::Pull, pages, pages + u64::from(page.has_more), 0, 0);
                    if !page.has_more {
                        return Ok(());
                    }
                }
                Err(Error::Server { status: 410, .. }) if snapshots == 0 => {
                    snapshots += 1;
                    tracing::info!(%cursor, "cursor expired: taking a snapshot");
                    self.snapshot(summary).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut failures: u32 = 0;
        loop {
            let wait = match self.sync_once().await {
                Ok(_) => {
                    failures = 0;
                    self.until_next_due().unwrap_or(self.config.sync_interval)
                }
                // Nothing to retry until the user signs in (login wakes us).
                Err(Error::NeedsLogin) => self.config.sync_interval,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::info!(error = %e, failures, "sync failed; backing off");
                    // Not before the held-back mutations are due: waking earlier would send nothing.
                    let delay = self.config.backoff.delay_now(failures);
                    delay.max(self.until_next_due().unwrap_or(Duration::ZERO)).min(self.config.backoff.max)
                }
            };
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Time until a held-back mutation becomes due, if sooner than the regular interval.
    fn until_next_due(&self) -> Option<Duration> {
        let due = self.store(|s| s.next_due()).ok()??;
        let wait = (due - self.now()).to_std().unwrap_or(Duration::ZERO);
        (wait < self.config.sync_interval).then_some(wait.max(Duration::from_secs(1)))
    }
}
