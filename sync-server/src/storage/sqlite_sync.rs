//! The SQLite side of sync (issue #3): the epoch, the change feed (written by the triggers of
//! migration 0004, read here), applied mutations, follows, promised and staged photos.

use super::sqlite::{INSERT_PHOTO_SQL, ms};
use super::*;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use uuid::Uuid;

/// The `applied_mutations` row; both SQLite drivers write it.
pub(super) const INSERT_MUTATION_SQL: &str = "INSERT INTO applied_mutations (mutation_id, user_id, device_id, \
     device_seq, kind, payload_sha256, outcome, result, rejection, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// An `expected_photos` row; both SQLite drivers write it.
pub(super) const INSERT_EXPECTED_SQL: &str = "INSERT INTO expected_photos (report_id, kind, upload_sha256, position, \
     size, taken_lat, taken_lon, photo_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)";

/// `outcome`, `result` and `rejection` columns of a stored outcome.
pub(super) fn outcome_columns(o: &StoredOutcome) -> (&'static str, Option<String>, Option<String>) {
    match o {
        StoredOutcome::Applied(result) => ("applied", Some(result.to_string()), None),
        StoredOutcome::Rejected(r) => ("rejected", None, Some(serde_json::to_string(r).expect("rejections serialize"))),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(text: Option<String>, what: &str) -> Result<T> {
    let text = text.ok_or_else(|| StorageError::Corrupt(format!("{what} missing")))?;
    serde_json::from_str(&text).map_err(|e| StorageError::Corrupt(format!("{what}: {e}")))
}

fn uuid_of(bytes: Vec<u8>) -> Result<Uuid> {
    Uuid::from_slice(&bytes).map_err(|e| StorageError::Corrupt(format!("uuid: {e}")))
}

fn from_ms(v: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v).ok_or_else(|| StorageError::Corrupt(format!("time {v}")))
}

/// Stores what a pushed change carries besides the report, inside the caller's transaction.
pub(super) async fn insert_sync_effects(tx: &mut SqliteConnection, report: ReportId, sync: &SyncEffects) -> Result<()> {
    if let Some(m) = &sync.mutation {
        insert_mutation(&mut *tx, m).await?;
    }
    for e in &sync.expected_photos {
        sqlx::query(INSERT_EXPECTED_SQL)
            .bind(report.0.as_bytes().as_slice())
            .bind(e.kind.as_str())
            .bind(&e.upload_sha256)
            .bind(e.position)
            .bind(e.size)
            .bind(e.taken_at.map(|t| t.0))
            .bind(e.taken_at.map(|t| t.1))
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_as(e, "expected_photos"))?;
    }
    Ok(())
}

fn unique_as(e: sqlx::Error, field: &'static str) -> StorageError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::Conflict { field },
        _ => StorageError::Database(e),
    }
}

async fn insert_mutation<'e>(db: impl sqlx::SqliteExecutor<'e>, m: &AppliedMutationRecord) -> Result<()> {
    let (outcome, result, rejection) = outcome_columns(&m.outcome);
    sqlx::query(INSERT_MUTATION_SQL)
        .bind(m.mutation_id.as_bytes().as_slice())
        .bind(m.user.0.as_bytes().as_slice())
        .bind(m.device_id.as_bytes().as_slice())
        .bind(m.device_seq)
        .bind(&m.kind)
        .bind(&m.payload_sha256)
        .bind(outcome)
        .bind(result)
        .bind(rejection)
        .bind(ms(m.created_at))
        .execute(db)
        .await
        .map_err(|e| unique_as(e, "mutation_id"))?;
    Ok(())
}

fn mutation_row(r: &SqliteRow) -> Result<AppliedMutationRecord> {
    let outcome = match r.try_get::<&str, _>("outcome")? {
        "applied" => StoredOutcome::Applied(parse_json(r.try_get("result")?, "result")?),
        _ => StoredOutcome::Rejected(parse_json(r.try_get("rejection")?, "rejection")?),
    };
    Ok(AppliedMutationRecord {
        mutation_id: uuid_of(r.try_get("mutation_id")?)?,
        user: UserId(uuid_of(r.try_get("user_id")?)?),
        device_id: uuid_of(r.try_get("device_id")?)?,
        device_seq: r.try_get("device_seq")?,
        kind: r.try_get("kind")?,
        payload_sha256: r.try_get("payload_sha256")?,
        outcome,
        created_at: from_ms(r.try_get("created_at")?)?,
    })
}

/// Promised photos of `report` not arrived yet.
async fn still_pending(tx: &mut SqliteConnection, report: ReportId) -> Result<usize> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM expected_photos WHERE report_id = ? AND photo_sha256 IS NULL")
            .bind(report.0.as_bytes().as_slice())
            .fetch_one(&mut *tx)
            .await?;
    Ok(n as usize)
}

/// Marks the promised photo arrived, adds the photo row; the caller bumps the version.
async fn attach_in(tx: &mut SqliteConnection, report: ReportId, upload_sha256: &str, p: &PhotoRecord) -> Result<()> {
    sqlx::query("UPDATE expected_photos SET photo_sha256 = ? WHERE report_id = ? AND kind = ? AND upload_sha256 = ?")
        .bind(&p.sha256)
        .bind(report.0.as_bytes().as_slice())
        .bind(p.kind.as_str())
        .bind(upload_sha256)
        .execute(&mut *tx)
        .await?;
    let position: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(position) + 1, 0) FROM report_photos WHERE report_id = ?")
            .bind(report.0.as_bytes().as_slice())
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query(INSERT_PHOTO_SQL)
        .bind(report.0.as_bytes().as_slice())
        .bind(position)
        .bind(p.kind.as_str())
        .bind(&p.sha256)
        .bind(p.width as i64)
        .bind(p.height as i64)
        .bind(ms(p.created_at))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The report's version bump that puts the photo in the feed. Taken first in every transaction
/// that attaches photos: the report's row lock, then (through the triggers) the change-log lock,
/// the same order as every other report change, so PostgreSQL never deadlocks on them.
async fn bump_version(tx: &mut SqliteConnection, report: ReportId, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE reports SET version = version + 1, updated_at = MAX(updated_at, ?) WHERE id = ?")
        .bind(ms(at))
        .bind(report.0.as_bytes().as_slice())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[async_trait]
impl SyncStorage for SqliteStorage {
    async fn sync_epoch(&self) -> Result<String> {
        Ok(sqlx::query_scalar("SELECT value FROM sync_meta WHERE key = 'epoch'").fetch_one(&self.reader).await?)
    }

    async fn replace_sync_epoch(&self, epoch: &str) -> Result<()> {
        sqlx::query("UPDATE sync_meta SET value = ? WHERE key = 'epoch'").bind(epoch).execute(&self.writer).await?;
        Ok(())
    }

    async fn change_head(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM change_log").fetch_one(&self.reader).await?)
    }

    async fn changes_after(&self, user: UserId, after: i64, limit: u32) -> Result<Vec<ChangeRow>> {
        // Two index range scans (the user's rows, everyone's rows) merged by seq.
        let rows = sqlx::query(
            "SELECT seq, entity, entity_id, deleted FROM ( \
               SELECT * FROM change_log WHERE audience_user = ?1 AND seq > ?2 \
               UNION ALL SELECT * FROM change_log WHERE audience_user IS NULL AND seq > ?2 \
             ) ORDER BY seq LIMIT ?3",
        )
        .bind(user.0.as_bytes().as_slice())
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ChangeRow {
                    seq: r.try_get("seq")?,
                    entity: r.try_get("entity")?,
                    entity_id: r.try_get("entity_id")?,
                    deleted: r.try_get("deleted")?,
                })
            })
            .collect()
    }

    async fn applied_mutation(&self, id: Uuid) -> Result<Option<AppliedMutationRecord>> {
        let row = sqlx::query("SELECT * FROM applied_mutations WHERE mutation_id = ?")
            .bind(id.as_bytes().as_slice())
            .fetch_optional(&self.writer)
            .await?;
        row.as_ref().map(mutation_row).transpose()
    }

    async fn record_mutation(&self, m: &AppliedMutationRecord) -> Result<()> {
        insert_mutation(&self.writer, m).await
    }

    async fn set_follow(
        &self,
        user: UserId,
        report: ReportId,
        follow: bool,
        at: DateTime<Utc>,
        mutation: Option<&AppliedMutationRecord>,
    ) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        if let Some(m) = mutation {
            insert_mutation(&mut *tx, m).await?;
        }
        if follow {
            sqlx::query("INSERT INTO follows (user_id, report_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
                .bind(user.0.as_bytes().as_slice())
                .bind(report.0.as_bytes().as_slice())
                .bind(ms(at))
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query("DELETE FROM follows WHERE user_id = ? AND report_id = ?")
                .bind(user.0.as_bytes().as_slice())
                .bind(report.0.as_bytes().as_slice())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn followed_reports(&self, user: UserId) -> Result<Vec<ReportId>> {
        let rows: Vec<Vec<u8>> =
            sqlx::query_scalar("SELECT report_id FROM follows WHERE user_id = ? ORDER BY created_at")
                .bind(user.0.as_bytes().as_slice())
                .fetch_all(&self.reader)
                .await?;
        rows.into_iter().map(|b| uuid_of(b).map(ReportId)).collect()
    }

    async fn expected_photos_of_reports(&self, ids: &[ReportId]) -> Result<Vec<(ReportId, ExpectedPhotoRecord)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut b = QueryBuilder::<Sqlite>::new("SELECT * FROM expected_photos WHERE report_id IN (");
        let mut list = b.separated(", ");
        for id in ids {
            list.push_bind(id.0.as_bytes().to_vec());
        }
        b.push(") ORDER BY report_id, kind DESC, position");
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.iter()
            .map(|r| {
                let lat: Option<f64> = r.try_get("taken_lat")?;
                let lon: Option<f64> = r.try_get("taken_lon")?;
                let e = ExpectedPhotoRecord {
                    kind: PhotoKind::parse(r.try_get("kind")?)?,
                    upload_sha256: r.try_get("upload_sha256")?,
                    position: r.try_get("position")?,
                    size: r.try_get("size")?,
                    taken_at: lat.zip(lon),
                    photo_sha256: r.try_get("photo_sha256")?,
                };
                Ok((ReportId(uuid_of(r.try_get("report_id")?)?), e))
            })
            .collect()
    }

    async fn attach_expected_photo(
        &self,
        report: ReportId,
        upload_sha256: &str,
        photo: &PhotoRecord,
    ) -> Result<AttachOutcome> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let arrived: Option<Option<String>> = sqlx::query_scalar(
            "SELECT photo_sha256 FROM expected_photos WHERE report_id = ? AND kind = ? AND upload_sha256 = ?",
        )
        .bind(report.0.as_bytes().as_slice())
        .bind(photo.kind.as_str())
        .bind(upload_sha256)
        .fetch_optional(&mut *tx)
        .await?;
        match arrived {
            None => return Ok(AttachOutcome::NotExpected),
            Some(Some(_)) => return Ok(AttachOutcome::AlreadyAttached),
            Some(None) => {}
        }
        bump_version(&mut tx, report, photo.created_at).await?;
        attach_in(&mut tx, report, upload_sha256, photo).await?;
        let still_pending = still_pending(&mut tx, report).await?;
        tx.commit().await?;
        Ok(AttachOutcome::Attached { still_pending })
    }

    async fn stage_photo(&self, s: &StagedPhotoRecord) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO staged_photos (report_id, kind, upload_sha256, uploader, sha256, width, height, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(s.report.0.as_bytes().as_slice())
        .bind(s.photo.kind.as_str())
        .bind(&s.upload_sha256)
        .bind(s.uploader.0.as_bytes().as_slice())
        .bind(&s.photo.sha256)
        .bind(s.photo.width as i64)
        .bind(s.photo.height as i64)
        .bind(ms(s.photo.created_at))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_staged_photos(&self, report: ReportId, kind: PhotoKind, uploader: UserId) -> Result<usize> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let rows = sqlx::query(
            "SELECT s.* FROM staged_photos s JOIN expected_photos e ON e.report_id = s.report_id \
             AND e.kind = s.kind AND e.upload_sha256 = s.upload_sha256 AND e.photo_sha256 IS NULL \
             WHERE s.report_id = ? AND s.kind = ? AND s.uploader = ? ORDER BY e.position",
        )
        .bind(report.0.as_bytes().as_slice())
        .bind(kind.as_str())
        .bind(uploader.0.as_bytes().as_slice())
        .fetch_all(&mut *tx)
        .await?;
        if !rows.is_empty() {
            let at = from_ms(rows[rows.len() - 1].try_get("created_at")?)?;
            bump_version(&mut tx, report, at).await?;
        }
        for r in &rows {
            let upload: String = r.try_get("upload_sha256")?;
            let photo = PhotoRecord {
                kind,
                sha256: r.try_get("sha256")?,
                width: r.try_get::<i64, _>("width")? as u32,
                height: r.try_get::<i64, _>("height")? as u32,
                created_at: from_ms(r.try_get("created_at")?)?,
            };
            attach_in(&mut tx, report, &upload, &photo).await?;
            sqlx::query("DELETE FROM staged_photos WHERE report_id = ? AND kind = ? AND upload_sha256 = ?")
                .bind(report.0.as_bytes().as_slice())
                .bind(kind.as_str())
                .bind(&upload)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    async fn backup_into(&self, file: &std::path::Path) -> Result<()> {
        let path = file.to_str().ok_or(StorageError::Unsupported("a backup path that is not UTF-8"))?;
        sqlx::query("VACUUM INTO ?").bind(path).execute(&self.writer).await?;
        Ok(())
    }

    async fn photo_received(&self, report: ReportId, upload_sha256: &str) -> Result<bool> {
        let found: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM expected_photos WHERE report_id = ?1 AND upload_sha256 = ?2 \
             AND photo_sha256 IS NOT NULL) OR EXISTS (SELECT 1 FROM staged_photos WHERE report_id = ?1 \
             AND upload_sha256 = ?2)",
        )
        .bind(report.0.as_bytes().as_slice())
        .bind(upload_sha256)
        .fetch_one(&self.reader)
        .await?;
        Ok(found)
    }
}
