//! The SQLite group-commit writer for new reports, on its own thread with its own connection.
//!
//! Why a second driver: sqlx's SQLite driver hands every statement to a worker thread and back,
//! which costs tens of microseconds per statement — fine for reads and occasional updates, but it
//! capped report ingest at about a third of what SQLite itself sustains. This writer uses rusqlite
//! (the same libsqlite3 build) with cached prepared statements, and stores every submission
//! waiting at that moment in one transaction, each report inside its own savepoint: one fsync
//! serves many reports, and a report that fails (a duplicate id) takes nothing else down with it.

use super::sqlite::{INSERT_EVENT_SQL, INSERT_OPEN311_SQL, INSERT_PHOTO_SQL, INSERT_REPORT_SQL, ms};
use super::sqlite_sync::{INSERT_EXPECTED_SQL, INSERT_MUTATION_SQL, outcome_columns};
use super::{NewReport, ReportRecord, Result, StorageError};
use rusqlite::{Connection, ErrorCode, params};
use smartmap_shared::report::ReportStatus;
use smartmap_shared::role::Role;
use std::path::Path;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// A submission waiting for the group commit, and where to send its outcome.
pub type PendingInsert = (NewReport, oneshot::Sender<Result<ReportRecord>>);

/// Opens the writer's connection to the database file at `path` and starts its thread. The
/// thread ends when the returned sender (and every clone) is dropped.
pub fn spawn(path: &Path, max_batch: usize) -> Result<mpsc::Sender<PendingInsert>> {
    let conn = Connection::open(path).map_err(batch_error)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(batch_error)?;
    // FULL, as for every connection: a report answered 201 is on disk.
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(batch_error)?;
    let (sender, queue) = mpsc::channel(4 * max_batch);
    std::thread::Builder::new()
        .name("sqlite-ingest".into())
        .spawn(move || run(conn, queue, max_batch))
        .map_err(|e| StorageError::Batch(e.to_string()))?;
    Ok(sender)
}

fn run(mut conn: Connection, mut queue: mpsc::Receiver<PendingInsert>, max_batch: usize) {
    let mut batch: Vec<PendingInsert> = Vec::with_capacity(max_batch);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let outcomes = insert_batch(&mut conn, &batch);
        for ((_, reply), outcome) in batch.drain(..).zip(outcomes) {
            // The submitter may have gone away (client disconnected); its report is stored anyway.
            let _ = reply.send(outcome);
        }
    }
}

/// One transaction for the batch, one savepoint per report. If the commit itself fails, every
/// report of the batch gets the error and none is stored.
fn insert_batch(conn: &mut Connection, batch: &[PendingInsert]) -> Vec<Result<ReportRecord>> {
    let all_failed = |e: rusqlite::Error| batch.iter().map(|_| Err(batch_error(e.to_string()))).collect();
    // IMMEDIATE: take the write lock up front, so a read inside the batch never has to upgrade a
    // snapshot another writer (the sqlx writer) has moved past (SQLITE_BUSY_SNAPSHOT).
    let mut tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return all_failed(e),
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    for (new, _) in batch {
        let outcome = match tx.savepoint() {
            Ok(mut sp) => match insert_rows(&sp, new) {
                Ok(number) => sp.commit().map(|()| number).map_err(batch_error),
                Err(e) => {
                    // Dropping the savepoint rolls this report back; the others stay.
                    let _ = sp.rollback();
                    Err(e)
                }
            },
            Err(e) => Err(batch_error(e)),
        };
        outcomes.push(outcome.map(|number| ReportRecord { number, version: 1, ..new.report.clone() }));
    }
    match tx.commit() {
        Ok(()) => outcomes,
        Err(e) => all_failed(e),
    }
}

fn insert_rows(conn: &Connection, new: &NewReport) -> Result<i64> {
    let r = &new.report;
    let id = r.id.0.as_bytes().as_slice();
    let number: i64 = conn
        .prepare_cached(INSERT_REPORT_SQL)
        .and_then(|mut st| {
            st.query_row(
                params![
                    id,
                    r.category.as_str(),
                    r.district.as_str(),
                    r.body.as_ref().map(|b| b.as_str()),
                    r.status.as_str(),
                    r.lat,
                    r.lon,
                    r.description,
                    r.address,
                    r.reporter.0.as_bytes().as_slice(),
                    r.hide_reporter_name,
                    r.crew.map(|c| c.0.as_bytes().to_vec()),
                    r.duplicate_of.map(|d| d.0.as_bytes().to_vec()),
                    ms(r.created_at),
                    r.routed_at.map(ms),
                    r.deadline.map(ms),
                    r.closed_at.map(ms),
                    r.overdue_at.map(ms),
                    ms(r.updated_at),
                    r.payload_sha256,
                    r.hidden,
                ],
                |row| row.get(0),
            )
        })
        .map_err(|e| match &e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation && is_unique(f) => {
                StorageError::Conflict { field: "id" }
            }
            _ => batch_error(e),
        })?;
    let mut photo = conn.prepare_cached(INSERT_PHOTO_SQL).map_err(batch_error)?;
    for (position, p) in new.photos.iter().enumerate() {
        photo
            .execute(params![id, position as i64, p.kind.as_str(), p.sha256, p.width, p.height, ms(p.created_at)])
            .map_err(batch_error)?;
    }
    let mut event = conn.prepare_cached(INSERT_EVENT_SQL).map_err(batch_error)?;
    for e in &new.events {
        event
            .execute(params![
                id,
                ms(e.at),
                e.actor.map(|a| a.0.as_bytes().to_vec()),
                e.actor_role.map(Role::as_str),
                e.action,
                e.from_status.map(ReportStatus::as_str),
                e.to_status.as_str(),
                e.public_note,
                e.internal_note,
                e.data.to_string(),
            ])
            .map_err(batch_error)?;
    }
    if let Some(s) = &new.open311 {
        conn.prepare_cached(INSERT_OPEN311_SQL)
            .and_then(|mut st| {
                st.execute(params![
                    s.token,
                    id,
                    s.key.as_bytes().as_slice(),
                    s.email,
                    s.first_name,
                    s.last_name,
                    s.phone,
                    s.device_id,
                    s.account_id,
                    ms(s.created_at)
                ])
            })
            .map_err(batch_error)?;
    }
    if let Some(m) = &new.sync.mutation {
        let (outcome, result, rejection) = outcome_columns(&m.outcome);
        conn.prepare_cached(INSERT_MUTATION_SQL)
            .and_then(|mut st| {
                st.execute(params![
                    m.mutation_id.as_bytes().as_slice(),
                    m.user.0.as_bytes().as_slice(),
                    m.device_id.as_bytes().as_slice(),
                    m.device_seq,
                    m.kind,
                    m.payload_sha256,
                    outcome,
                    result,
                    rejection,
                    ms(m.created_at)
                ])
            })
            .map_err(|e| unique_or_batch(e, "mutation_id"))?;
    }
    let mut expected = conn.prepare_cached(INSERT_EXPECTED_SQL).map_err(batch_error)?;
    for e in &new.sync.expected_photos {
        expected
            .execute(params![
                id,
                e.kind.as_str(),
                e.upload_sha256,
                e.position,
                e.size,
                e.taken_at.map(|t| t.0),
                e.taken_at.map(|t| t.1)
            ])
            .map_err(|e| unique_or_batch(e, "expected_photos"))?;
    }
    Ok(number)
}

/// A unique violation as `Conflict { field }`, anything else as a batch error.
fn unique_or_batch(e: rusqlite::Error, field: &'static str) -> StorageError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation && is_unique(f) => {
            StorageError::Conflict { field }
        }
        _ => batch_error(e),
    }
}

/// SQLITE_CONSTRAINT_UNIQUE or SQLITE_CONSTRAINT_PRIMARYKEY.
fn is_unique(f: &rusqlite::ffi::Error) -> bool {
    matches!(f.extended_code, 2067 | 1555)
}

fn batch_error(e: impl std::fmt::Display) -> StorageError {
    StorageError::Batch(e.to_string())
}
