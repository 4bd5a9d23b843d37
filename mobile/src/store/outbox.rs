//! The outbox: mutations from capture to their final answer.
//!
//! pending → in_flight (marked in a transaction before the batch is sent) → acked (applied or
//! duplicate, with the epoch that acknowledged it) | rejected (final; shown to the user, never
//! blocking the queue). A batch that did not get an answer goes back to pending with a later
//! `next_attempt_at`.
//!
//! Every row belongs to the account it was captured under (`account_id`; NULL when nobody had
//! signed in on this phone yet). A batch holds only rows of the signed-in account and unowned
//! ones, and the unowned ones are bound to that account as the batch is taken: a row once sent
//! under an account stays that account's. Rows of another account wait for it to sign in.

use super::{Store, capturing_account, from_ms, get_meta, meta, parse_uuid, set_meta, signed_in_account, to_ms};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Row, params};
use serde::{Deserialize, Serialize};
use smartmap_shared::geo::LatLon;
use smartmap_shared::sync::{Mutation, MutationKind, Outcome, PushResult, Rejection};
use uuid::Uuid;

/// Where a mutation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be sent.
    Pending,
    /// Sent; the answer has not been recorded yet.
    InFlight,
    /// The server applied it (now or before).
    Acked,
    /// The server refused it, for good.
    Rejected,
}

impl OutboxState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::InFlight => "in_flight",
            OutboxState::Acked => "acked",
            OutboxState::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<OutboxState> {
        Ok(match s {
            "pending" => OutboxState::Pending,
            "in_flight" => OutboxState::InFlight,
            "acked" => OutboxState::Acked,
            "rejected" => OutboxState::Rejected,
            other => return Err(Error::Corrupt(format!("outbox state '{other}'"))),
        })
    }
}

/// Why the server refused a mutation, for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionView {
    /// Stable machine code (`unknown_category`, `proof_too_far`, …).
    pub code: String,
    /// English message.
    pub message: String,
    /// Georgian message.
    pub message_ka: String,
    /// The payload field at fault.
    pub field: Option<String>,
}

/// The account an outbox row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRef {
    /// The account's id (its e-mail if the server gave none).
    pub id: String,
    /// Its e-mail, to tell the user whose sign-in a row waits for.
    pub email: Option<String>,
}

impl AccountRef {
    /// How to name the account to the user: its e-mail, else its id.
    pub fn label(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.id)
    }
}

/// A prepared photo to store with its mutation.
#[derive(Debug, Clone)]
pub struct NewPhoto {
    /// `report` or `proof`.
    pub kind: &'static str,
    /// The prepared JPEG (what will be uploaded).
    pub jpeg: Vec<u8>,
    /// Its thumbnail, for the app's own lists.
    pub thumb: Vec<u8>,
    /// Hex sha256 of `jpeg`.
    pub sha256: String,
    /// Where it was taken.
    pub taken_at: Option<LatLon>,
}

/// One outbox row as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// The mutation, exactly as sent.
    pub mutation: Mutation,
    /// The report it concerns.
    pub report_id: Option<Uuid>,
    /// Its state.
    pub state: OutboxState,
    /// Sends that got no answer.
    pub attempts: i64,
    /// Not to be sent before.
    pub next_attempt_at: DateTime<Utc>,
    /// What the last failed send said.
    pub last_error: Option<String>,
    /// Why it was refused.
    pub rejection: Option<RejectionView>,
    /// The epoch that acknowledged it.
    pub acked_epoch: Option<String>,
    /// The server's result for an applied mutation.
    pub result: Option<serde_json::Value>,
    /// The account it belongs to (`None`: captured before anyone signed in, not sent yet).
    pub account: Option<AccountRef>,
}

const ROW_COLUMNS: &str = "mutation_id, device_seq, kind, v, payload, payload_sha256, report_id, client_time, state, \
     attempts, next_attempt_at, last_error, rejection_code, rejection_message, rejection_message_ka, rejection_field, \
     acked_epoch, result, account_id, account_email";

fn read_row(row: &Row<'_>) -> rusqlite::Result<Result<OutboxRow>> {
    let mutation_id: String = row.get(0)?;
    let device_seq: i64 = row.get(1)?;
    let kind: String = row.get(2)?;
    let v: i64 = row.get(3)?;
    let payload: String = row.get(4)?;
    let payload_sha256: String = row.get(5)?;
    let report_id: Option<String> = row.get(6)?;
    let client_time: String = row.get(7)?;
    let state: String = row.get(8)?;
    let attempts: i64 = row.get(9)?;
    let next_attempt_at: i64 = row.get(10)?;
    let last_error: Option<String> = row.get(11)?;
    let code: Option<String> = row.get(12)?;
    let message: Option<String> = row.get(13)?;
    let message_ka: Option<String> = row.get(14)?;
    let field: Option<String> = row.get(15)?;
    let acked_epoch: Option<String> = row.get(16)?;
    let result: Option<String> = row.get(17)?;
    let account_id: Option<String> = row.get(18)?;
    let account_email: Option<String> = row.get(19)?;
    Ok((|| {
        let kind = MutationKind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("mutation kind '{kind}'")))?;
        let client_time = DateTime::parse_from_rfc3339(&client_time)
            .map_err(|e| Error::Corrupt(format!("client time: {e}")))?
            .with_timezone(&Utc);
        let mutation = Mutation {
            mutation_id: parse_uuid(&mutation_id)?,
            device_id: Uuid::nil(), // filled by the caller from sync_meta
            device_seq,
            kind,
            v: u32::try_from(v).map_err(|_| Error::Corrupt(format!("payload version {v}")))?,
            payload: serde_json::from_str(&payload)?,
            payload_sha256,
            client_time,
        };
        Ok(OutboxRow {
            mutation,
            report_id: report_id.as_deref().map(parse_uuid).transpose()?,
            state: OutboxState::parse(&state)?,
            attempts,
            next_attempt_at: from_ms(next_attempt_at),
            last_error,
            rejection: code.map(|code| RejectionView {
                code,
                message: message.unwrap_or_default(),
                message_ka: message_ka.unwrap_or_default(),
                field,
            }),
            acked_epoch,
            result: result.as_deref().map(serde_json::from_str).transpose()?,
            account: account_id.map(|id| AccountRef { id, email: account_email }),
        })
    })())
}

impl Store {
    /// Queues a mutation with its prepared photos, in one transaction: mints its id and the next
    /// `device_seq`, hashes the payload, and records the account it is captured under (the
    /// signed-in one, else the one signed in last, else none yet). Needs no token and no network.
    pub fn enqueue<P: Serialize>(
        &mut self,
        kind: MutationKind,
        payload: &P,
        report_id: Option<Uuid>,
        photos: Vec<NewPhoto>,
        now: DateTime<Utc>,
    ) -> Result<Mutation> {
        let tx = self.conn.transaction()?;
        let device_id =
            parse_uuid(&get_meta(&tx, meta::DEVICE_ID)?.ok_or_else(|| Error::Corrupt("no device id".into()))?)?;
        let seq: i64 = get_meta(&tx, meta::NEXT_DEVICE_SEQ)?
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::Corrupt("no device sequence".into()))?;
        set_meta(&tx, meta::NEXT_DEVICE_SEQ, &(seq + 1).to_string())?;
        let account = capturing_account(&tx)?;
        let payload = serde_json::to_value(payload)?;
        let mutation = Mutation::new(Uuid::now_v7(), device_id, seq, kind, &payload, now);
        tx.execute(
            "INSERT INTO outbox (mutation_id, device_seq, kind, v, payload, payload_sha256, report_id, client_time,
                                 account_id, account_email)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                mutation.mutation_id.to_string(),
                seq,
                kind.as_str(),
                mutation.v,
                serde_json::to_string(&mutation.payload)?,
                mutation.payload_sha256,
                report_id.map(|id| id.to_string()),
                // Nanoseconds: the row reads back as exactly the mutation returned here.
                mutation.client_time.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                account.as_ref().map(|a| a.id.as_str()),
                account.as_ref().and_then(|a| a.email.as_deref()),
            ],
        )?;
        for (position, photo) in photos.into_iter().enumerate() {
            tx.execute(
                "INSERT INTO photos (mutation_id, position, report_id, kind, sha256, size, jpeg, thumb, taken_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    mutation.mutation_id.to_string(),
                    position as i64,
                    report_id.map(|id| id.to_string()).unwrap_or_default(),
                    photo.kind,
                    photo.sha256,
                    photo.jpeg.len() as i64,
                    photo.jpeg,
                    photo.thumb,
                    photo.taken_at.map(|p| serde_json::to_string(&p)).transpose()?,
                ],
            )?;
        }
        tx.commit()?;
        Ok(mutation)
    }

    fn rows(&self, filter: &str, args: impl rusqlite::Params) -> Result<Vec<OutboxRow>> {
        let device_id = self.device_id()?;
        let sql = format!("SELECT {ROW_COLUMNS} FROM outbox {filter}");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(args, read_row)?;
        let mut out = Vec::new();
        for row in rows {
            let mut row = row??;
            row.mutation.device_id = device_id;
            out.push(row);
        }
        Ok(out)
    }

    /// Every outbox row, in capture order.
    pub fn outbox_rows(&self) -> Result<Vec<OutboxRow>> {
        self.rows("ORDER BY device_seq", [])
    }

    /// The rows concerning one report, in capture order.
    pub fn outbox_rows_for(&self, report_id: Uuid) -> Result<Vec<OutboxRow>> {
        self.rows("WHERE report_id = ?1 ORDER BY device_seq", [report_id.to_string()])
    }

    /// One row.
    pub fn outbox_row(&self, mutation_id: Uuid) -> Result<Option<OutboxRow>> {
        Ok(self.rows("WHERE mutation_id = ?1", [mutation_id.to_string()])?.pop())
    }

    /// [`Store::take_batch_for`] the signed-in account (only unowned rows when nobody is).
    pub fn take_batch(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Mutation>> {
        let account = self.signed_in_account()?;
        self.take_batch_for(account.as_ref(), now, limit)
    }

    /// Takes the next batch to send as `account`: up to `limit` pending mutations of that account
    /// or of no account yet, in capture order, stopping at the first one still held back by its
    /// backoff — a later mutation never overtakes an earlier one (a comment must not reach the
    /// server before the report it is about). Rows of other accounts are skipped: they wait for
    /// their account. In the same transaction the batch is marked `in_flight` and its unowned
    /// rows are bound to `account`.
    pub fn take_batch_for(
        &mut self,
        account: Option<&AccountRef>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Mutation>> {
        let id = account.map(|a| a.id.as_str());
        let email = account.and_then(|a| a.email.as_deref());
        let batch: Vec<Mutation> = self
            .rows(
                "WHERE state = 'pending' AND (account_id IS NULL OR account_id = ?2) ORDER BY device_seq LIMIT ?1",
                params![limit as i64, id],
            )?
            .into_iter()
            .take_while(|row| row.next_attempt_at <= now)
            .map(|row| row.mutation)
            .collect();
        let tx = self.conn.transaction()?;
        for m in &batch {
            tx.execute(
                "UPDATE outbox SET state = 'in_flight',
                        account_email = CASE WHEN account_id IS NULL THEN ?3 ELSE account_email END,
                        account_id = COALESCE(account_id, ?2)
                 WHERE mutation_id = ?1",
                params![m.mutation_id.to_string(), id, email],
            )?;
        }
        tx.commit()?;
        Ok(batch)
    }

    /// Records the server's answer to a batch in one transaction. Applied and duplicate become
    /// `acked` in `epoch`; rejected becomes `rejected` with its reason. Mutations of the batch the
    /// answer does not mention go back to `pending`.
    pub fn record_outcomes(
        &mut self,
        batch: &[Uuid],
        results: &[PushResult],
        epoch: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        for result in results {
            let id = result.mutation_id.to_string();
            match &result.outcome {
                Outcome::Applied { result } | Outcome::Duplicate { result } => {
                    tx.execute(
                        "UPDATE outbox SET state = 'acked', acked_epoch = ?2, settled_at = ?3, result = ?4,
                                last_error = NULL WHERE mutation_id = ?1",
                        params![id, epoch, to_ms(now), serde_json::to_string(result)?],
                    )?;
                }
                Outcome::Rejected(Rejection { code, message, message_ka, field }) => {
                    tx.execute(
                        "UPDATE outbox SET state = 'rejected', settled_at = ?2, rejection_code = ?3,
                                rejection_message = ?4, rejection_message_ka = ?5, rejection_field = ?6,
                                last_error = NULL WHERE mutation_id = ?1",
                        params![id, to_ms(now), code, message, message_ka, field],
                    )?;
                }
            }
        }
        for id in batch {
            tx.execute(
                "UPDATE outbox SET state = 'pending' WHERE mutation_id = ?1 AND state = 'in_flight'",
                [id.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Puts a batch that got no answer back to `pending`. With `retry_at`, counts an attempt and
    /// holds the rows until then (backoff); without, they are due at once (e.g. waiting for a
    /// sign-in is no failure of theirs).
    pub fn release_batch(&mut self, batch: &[Uuid], retry_at: Option<DateTime<Utc>>, error: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        for id in batch {
            match retry_at {
                Some(at) => tx.execute(
                    "UPDATE outbox SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?2,
                            last_error = ?3 WHERE mutation_id = ?1 AND state = 'in_flight'",
                    params![id.to_string(), to_ms(at), error],
                )?,
                None => tx.execute(
                    "UPDATE outbox SET state = 'pending', last_error = ?2 WHERE mutation_id = ?1 AND state = 'in_flight'",
                    params![id.to_string(), error],
                )?,
            };
        }
        tx.commit()?;
        Ok(())
    }

    /// The attempts so far of a mutation (for its backoff).
    pub fn attempts(&self, mutation_id: Uuid) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT attempts FROM outbox WHERE mutation_id = ?1",
            [mutation_id.to_string()],
            |r| r.get(0),
        )?)
    }

    /// On start: whatever was in flight when the app died is pending again.
    pub(super) fn recover_in_flight(&mut self) -> Result<usize> {
        Ok(self.conn.execute("UPDATE outbox SET state = 'pending' WHERE state = 'in_flight'", [])?)
    }

    /// Lifts every backoff hold (the user asked to send now); attempts are kept.
    pub fn release_holds(&mut self) -> Result<usize> {
        Ok(self
            .conn
            .execute("UPDATE outbox SET next_attempt_at = 0 WHERE state = 'pending' AND next_attempt_at > 0", [])?)
    }

    /// When the next pending mutation the signed-in account can send becomes due, if any is
    /// pending (rows waiting for another account do not count: they cannot be sent now).
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        let account = signed_in_account(&self.conn)?;
        let ms: Option<i64> = self.conn.query_row(
            "SELECT MIN(next_attempt_at) FROM outbox
             WHERE state = 'pending' AND (account_id IS NULL OR account_id = ?1)",
            [account.as_ref().map(|a| a.id.as_str())],
            |r| r.get(0),
        )?;
        Ok(ms.map(from_ms))
    }

    /// Pending mutations the signed-in account can send (its own and unowned ones).
    pub fn sendable_count(&self) -> Result<i64> {
        let account = signed_in_account(&self.conn)?;
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight')
               AND (account_id IS NULL OR account_id = ?1)",
            [account.as_ref().map(|a| a.id.as_str())],
            |r| r.get(0),
        )?)
    }

    /// Accounts other than the signed-in one that queued mutations wait for, with how many each,
    /// in the order of their first queued mutation.
    pub fn waiting_for_accounts(&self) -> Result<Vec<(AccountRef, i64)>> {
        let account = signed_in_account(&self.conn)?;
        let mut stmt = self.conn.prepare(
            "SELECT account_id, MAX(account_email), COUNT(*) FROM outbox
             WHERE state = 'pending' AND account_id IS NOT NULL AND account_id IS NOT ?1
             GROUP BY account_id ORDER BY MIN(device_seq)",
        )?;
        let rows = stmt
            .query_map([account.as_ref().map(|a| a.id.as_str())], |r| {
                Ok((AccountRef { id: r.get(0)?, email: r.get(1)? }, r.get(2)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Pending (and in-flight) mutations, and the bytes still to send: their payloads and every
    /// photo not yet uploaded.
    pub fn pending_totals(&self) -> Result<(i64, i64)> {
        let (items, payload): (i64, i64) = self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox WHERE state IN ('pending', 'in_flight')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let photos: i64 = self.conn.query_row(
            "SELECT COALESCE(SUM(p.size - p.upload_offset), 0) FROM photos p JOIN outbox o USING (mutation_id)
             WHERE p.done = 0 AND o.state <> 'rejected'",
            [],
            |r| r.get(0),
        )?;
        Ok((items, payload + photos))
    }

    /// Forgets acknowledged and rejected mutations (with their photos) settled before `before`,
    /// keeping any whose photos are not all uploaded yet.
    pub fn prune(&mut self, before: DateTime<Utc>) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM outbox WHERE state IN ('acked', 'rejected') AND settled_at < ?1
               AND (state = 'rejected' OR NOT EXISTS
                    (SELECT 1 FROM photos p WHERE p.mutation_id = outbox.mutation_id AND p.done = 0))",
            [to_ms(before)],
        )?)
    }
}
