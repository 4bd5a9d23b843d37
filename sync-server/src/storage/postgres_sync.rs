//! The PostgreSQL side of sync (issue #3): the epoch, the change feed (written by the triggers
//! of migration 0004 under an advisory lock, read here), applied mutations, follows, promised and
//! staged photos.
//!
//! Lock order: a transaction that touches a report takes the report's row lock before the
//! triggers take the change-log advisory lock, so two writers never wait on each other crosswise.

use super::*;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

fn outcome_columns(o: &StoredOutcome) -> (&'static str, Option<serde_json::Value>, Option<serde_json::Value>) {
    match o {
        StoredOutcome::Applied(result) => ("applied", Some(result.clone()), None),
        StoredOutcome::Rejected(r) => ("rejected", None, Some(serde_json::to_value(r).expect("rejections serialize"))),
    }
}

fn unique_as(e: sqlx::Error, field: &'static str) -> StorageError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::Conflict { field },
        _ => StorageError::Database(e),
    }
}

/// Stores what a pushed change carries besides the report, inside the caller's transaction.
pub(super) async fn insert_sync_effects(tx: &mut PgConnection, report: ReportId, sync: &SyncEffects) -> Result<()> {
    if let Some(m) = &sync.mutation {
        insert_mutation(&mut *tx, m).await?;
    }
    for e in &sync.expected_photos {
        sqlx::query(
            "INSERT INTO expected_photos (report_id, kind, upload_sha256, position, size, taken_lat, taken_lon) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(report.0)
        .bind(e.kind.as_str())
        .bind(&e.upload_sha256)
        .bind(e.position as i32)
        .bind(e.size)
        .bind(e.taken_at.map(|t| t.0))
        .bind(e.taken_at.map(|t| t.1))
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_as(e, "expected_photos"))?;
    }
    Ok(())
}

async fn insert_mutation<'e>(db: impl sqlx::PgExecutor<'e>, m: &AppliedMutationRecord) -> Result<()> {
    let (outcome, result, rejection) = outcome_columns(&m.outcome);
    sqlx::query(
        "INSERT INTO applied_mutations (mutation_id, user_id, device_id, device_seq, kind, payload_sha256, outcome, \
         result, rejection, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(m.mutation_id)
    .bind(m.user.0)
    .bind(m.device_id)
    .bind(m.device_seq)
    .bind(&m.kind)
    .bind(&m.payload_sha256)
    .bind(outcome)
    .bind(result)
    .bind(rejection)
    .bind(m.created_at)
    .execute(db)
    .await
    .map_err(|e| unique_as(e, "mutation_id"))?;
    Ok(())
}

fn mutation_row(r: &PgRow) -> Result<AppliedMutationRecord> {
    let corrupt = |what: &str, e: serde_json::Error| StorageError::Corrupt(format!("{what}: {e}"));
    let outcome = match r.try_get::<&str, _>("outcome")? {
        "applied" => StoredOutcome::Applied(r.try_get::<Option<serde_json::Value>, _>("result")?.unwrap_or_default()),
        _ => {
            let v: Option<serde_json::Value> = r.try_get("rejection")?;
            StoredOutcome::Rejected(serde_json::from_value(v.unwrap_or_default()).map_err(|e| corrupt("rejection", e))?)
        }
    };
    Ok(AppliedMutationRecord {
        mutation_id: r.try_get("mutation_id")?,
        user: UserId(r.try_get("user_id")?),
        device_id: r.try_get("device_id")?,
        device_seq: r.try_get("device_seq")?,
        kind: r.try_get("kind")?,
        payload_sha256: r.try_get("payload_sha256")?,
        outcome,
        created_at: r.try_get("created_at")?,
    })
}

/// The report's version bump that puts an arrived photo in the feed; first, for the lock order.
async fn bump_version(tx: &mut PgConnection, report: ReportId, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE reports SET version = version + 1, updated_at = GREATEST(updated_at, $1) WHERE id = $2")
        .bind(at)
        .bind(report.0)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn attach_in(tx: &mut PgConnection, report: ReportId, upload_sha256: &str, p: &PhotoRecord) -> Result<()> {
    sqlx::query(
        "UPDATE expected_photos SET photo_sha256 = $1 WHERE report_id = $2 AND kind = $3 AND upload_sha256 = $4",
    )
    .bind(&p.sha256)
    .bind(report.0)
    .bind(p.kind.as_str())
    .bind(upload_sha256)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO report_photos (report_id, position, kind, sha256, width, height, created_at) \
         SELECT $1, COALESCE(MAX(position) + 1, 0), $2, $3, $4, $5, $6 FROM report_photos WHERE report_id = $1",
    )
    .bind(report.0)
    .bind(p.kind.as_str())
    .bind(&p.sha256)
    .bind(i64::from(p.width) as i32)
    .bind(i64::from(p.height) as i32)
    .bind(p.created_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[async_trait]
impl SyncStorage for PgStorage {
    async fn sync_epoch(&self) -> Result<String> {
        Ok(sqlx::query_scalar("SELECT value FROM sync_meta WHERE key = 'epoch'").fetch_one(&self.pool).await?)
    }

    async fn replace_sync_epoch(&self, epoch: &str) -> Result<()> {
        sqlx::query("UPDATE sync_meta SET value = $1 WHERE key = 'epoch'").bind(epoch).execute(&self.pool).await?;
        Ok(())
    }

    async fn change_head(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0)::bigint FROM change_log").fetch_one(&self.pool).await?)
    }

    async fn changes_after(&self, user: UserId, after: i64, limit: u32) -> Result<Vec<ChangeRow>> {
        let rows = sqlx::query(
            "SELECT seq, entity, entity_id, deleted FROM ( \
               (SELECT * FROM change_log WHERE audience_user = $1 AND seq > $2 ORDER BY seq LIMIT $3) \
               UNION ALL (SELECT * FROM change_log WHERE audience_user IS NULL AND seq > $2 ORDER BY seq LIMIT $3) \
             ) c ORDER BY seq LIMIT $3",
        )
        .bind(user.0)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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
        let row = sqlx::query("SELECT * FROM applied_mutations WHERE mutation_id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(mutation_row).transpose()
    }

    async fn record_mutation(&self, m: &AppliedMutationRecord) -> Result<()> {
        insert_mutation(&self.pool, m).await
    }

    async fn set_follow(
        &self,
        user: UserId,
        report: ReportId,
        follow: bool,
        at: DateTime<Utc>,
        mutation: Option<&AppliedMutationRecord>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if let Some(m) = mutation {
            insert_mutation(&mut *tx, m).await?;
        }
        if follow {
            sqlx::query(
                "INSERT INTO follows (user_id, report_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(user.0)
            .bind(report.0)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query("DELETE FROM follows WHERE user_id = $1 AND report_id = $2")
                .bind(user.0)
                .bind(report.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn followed_reports(&self, user: UserId) -> Result<Vec<ReportId>> {
        let rows: Vec<Uuid> =
            sqlx::query_scalar("SELECT report_id FROM follows WHERE user_id = $1 ORDER BY created_at")
                .bind(user.0)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(ReportId).collect())
    }

    async fn expected_photos_of_reports(&self, ids: &[ReportId]) -> Result<Vec<(ReportId, ExpectedPhotoRecord)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
        let rows = sqlx::query(
            "SELECT * FROM expected_photos WHERE report_id = ANY($1) ORDER BY report_id, kind DESC, position",
        )
        .bind(&list)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let lat: Option<f64> = r.try_get("taken_lat")?;
                let lon: Option<f64> = r.try_get("taken_lon")?;
                let e = ExpectedPhotoRecord {
                    kind: PhotoKind::parse(r.try_get("kind")?)?,
                    upload_sha256: r.try_get("upload_sha256")?,
                    position: i64::from(r.try_get::<i32, _>("position")?),
                    size: r.try_get("size")?,
                    taken_at: lat.zip(lon),
                    photo_sha256: r.try_get("photo_sha256")?,
                };
                Ok((ReportId(r.try_get("report_id")?), e))
            })
            .collect()
    }

    async fn attach_expected_photo(
        &self,
        report: ReportId,
        upload_sha256: &str,
        photo: &PhotoRecord,
    ) -> Result<AttachOutcome> {
        let mut tx = self.pool.begin().await?;
        // The report's row lock first (the lock order), then a stable look at its promise.
        bump_version(&mut tx, report, photo.created_at).await?;
        let arrived: Option<Option<String>> = sqlx::query_scalar(
            "SELECT photo_sha256 FROM expected_photos WHERE report_id = $1 AND kind = $2 AND upload_sha256 = $3",
        )
        .bind(report.0)
        .bind(photo.kind.as_str())
        .bind(upload_sha256)
        .fetch_optional(&mut *tx)
        .await?;
        match arrived {
            // Dropping `tx` rolls the version bump back.
            None => return Ok(AttachOutcome::NotExpected),
            Some(Some(_)) => return Ok(AttachOutcome::AlreadyAttached),
            Some(None) => {}
        }
        attach_in(&mut tx, report, upload_sha256, photo).await?;
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM expected_photos WHERE report_id = $1 AND photo_sha256 IS NULL")
                .bind(report.0)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(AttachOutcome::Attached { still_pending: pending as usize })
    }

    async fn stage_photo(&self, s: &StagedPhotoRecord) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO staged_photos (report_id, kind, upload_sha256, uploader, sha256, width, height, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(s.report.0)
        .bind(s.photo.kind.as_str())
        .bind(&s.upload_sha256)
        .bind(s.uploader.0)
        .bind(&s.photo.sha256)
        .bind(s.photo.width as i32)
        .bind(s.photo.height as i32)
        .bind(s.photo.created_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_staged_photos(&self, report: ReportId, kind: PhotoKind, uploader: UserId) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        // Lock the report row first (lock order); no version change unless something is claimed.
        sqlx::query("SELECT 1 FROM reports WHERE id = $1 FOR NO KEY UPDATE").bind(report.0).execute(&mut *tx).await?;
        let rows = sqlx::query(
            "SELECT s.* FROM staged_photos s JOIN expected_photos e ON e.report_id = s.report_id \
             AND e.kind = s.kind AND e.upload_sha256 = s.upload_sha256 AND e.photo_sha256 IS NULL \
             WHERE s.report_id = $1 AND s.kind = $2 AND s.uploader = $3 ORDER BY e.position",
        )
        .bind(report.0)
        .bind(kind.as_str())
        .bind(uploader.0)
        .fetch_all(&mut *tx)
        .await?;
        if let Some(last) = rows.last() {
            bump_version(&mut tx, report, last.try_get("created_at")?).await?;
        }
        for r in &rows {
            let upload: String = r.try_get("upload_sha256")?;
            let photo = PhotoRecord {
                kind,
                sha256: r.try_get("sha256")?,
                width: r.try_get::<i32, _>("width")? as u32,
                height: r.try_get::<i32, _>("height")? as u32,
                created_at: r.try_get("created_at")?,
            };
            attach_in(&mut tx, report, &upload, &photo).await?;
            sqlx::query("DELETE FROM staged_photos WHERE report_id = $1 AND kind = $2 AND upload_sha256 = $3")
                .bind(report.0)
                .bind(kind.as_str())
                .bind(&upload)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    async fn photo_received(&self, report: ReportId, upload_sha256: &str) -> Result<bool> {
        let found: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM expected_photos WHERE report_id = $1 AND upload_sha256 = $2 \
             AND photo_sha256 IS NOT NULL) OR EXISTS (SELECT 1 FROM staged_photos WHERE report_id = $1 \
             AND upload_sha256 = $2)",
        )
        .bind(report.0)
        .bind(upload_sha256)
        .fetch_one(&self.pool)
        .await?;
        Ok(found)
    }

    async fn backup_into(&self, _file: &std::path::Path) -> Result<()> {
        Err(StorageError::Unsupported(
            "back PostgreSQL up with pg_dump, restore with pg_restore, then `smartmap new-epoch`",
        ))
    }
}
