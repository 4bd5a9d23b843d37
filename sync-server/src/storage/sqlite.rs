//! The SQLite backend: the embedded default. WAL, one writer connection, a pool of readers,
//! an R*Tree over report points.

use super::*;
use smartmap_shared::body::BodyKind;
use smartmap_shared::geo::MultiPolygon;
use smartmap_shared::sla::{Sla, SlaRule, SlaUnit};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// SQLite storage. Writes go through a single connection (SQLite allows one writer at a time;
/// queueing in the pool is cheaper than `SQLITE_BUSY` retries); reads use a separate pool.
///
/// New reports — the hot write path — are group-committed by a dedicated writer thread
/// (`sqlite_ingest`): it takes every submission waiting at that moment and stores them in one
/// transaction, each inside its own savepoint, so one fsync serves many reports while each report
/// stays all-or-nothing. Nobody is answered before the commit.
#[derive(Clone)]
pub struct SqliteStorage {
    pub(super) writer: SqlitePool,
    pub(super) reader: SqlitePool,
    ingest: mpsc::Sender<PendingInsert>,
}

use super::sqlite_ingest::PendingInsert;

/// The most reports one group commit takes.
const GROUP_COMMIT_MAX: usize = 256;

impl SqliteStorage {
    /// Opens (creating if needed) the database at `url`, e.g. `sqlite:///var/lib/smartmap/smartmap.db`.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a report we answered 201 for is on disk even if the machine loses power.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        let reader = SqlitePoolOptions::new().max_connections(8).connect_with(options.clone().read_only(true)).await?;
        let ingest = super::sqlite_ingest::spawn(options.get_filename(), GROUP_COMMIT_MAX)?;
        Ok(SqliteStorage { writer, reader, ingest })
    }

    /// The writer pool, for benchmarks that compare the HTTP path with raw inserts.
    pub fn writer_pool(&self) -> &SqlitePool {
        &self.writer
    }
}

/// The report row, as written by the group-commit writer (`sqlite_ingest`).
pub(super) const INSERT_REPORT_SQL: &str = "INSERT INTO reports (id, category_id, district_id, body_id, status, lat, \
     lon, description, address, reporter_id, hide_reporter_name, crew_id, duplicate_of, created_at, routed_at, deadline, \
     closed_at, overdue_at, updated_at, version, payload_sha256, hidden) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING number";

/// A photo row; both drivers write it.
pub(super) const INSERT_PHOTO_SQL: &str = "INSERT INTO report_photos (report_id, position, kind, sha256, width, height, \
     created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";

/// A timeline row; both drivers write it.
pub(super) const INSERT_EVENT_SQL: &str = "INSERT INTO report_events (report_id, at, actor_id, actor_role, action, \
     from_status, to_status, public_note, internal_note, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// The Open311 companion row of a report posted through Open311; written with the report.
pub(super) const INSERT_OPEN311_SQL: &str = "INSERT INTO open311_submissions (token, report_id, key_id, email, \
     first_name, last_name, phone, device_id, account_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v).ok_or_else(|| StorageError::Corrupt(format!("time {v}")))
}

fn opt_ms(v: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    v.map(from_ms).transpose()
}

fn uuid_of(bytes: Vec<u8>) -> Result<Uuid> {
    Uuid::from_slice(&bytes).map_err(|e| StorageError::Corrupt(format!("uuid: {e}")))
}

fn opt_uuid(bytes: Option<Vec<u8>>) -> Result<Option<Uuid>> {
    bytes.map(uuid_of).transpose()
}

fn opt_slug<T: TryFrom<String>>(s: Option<String>, what: &str) -> Result<Option<T>> {
    s.map(|s| slug(s, what)).transpose()
}

/// Maps a unique-constraint violation to a `Conflict` on `field`.
fn unique_as_conflict(e: sqlx::Error, field: &'static str) -> StorageError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::Conflict { field },
        _ => StorageError::Database(e),
    }
}

fn sla_unit_str(u: SlaUnit) -> &'static str {
    match u {
        SlaUnit::WorkingDays => "working_days",
        SlaUnit::WorkingHours => "working_hours",
    }
}

fn sla_unit(s: &str) -> Result<SlaUnit> {
    match s {
        "working_days" => Ok(SlaUnit::WorkingDays),
        "working_hours" => Ok(SlaUnit::WorkingHours),
        other => Err(StorageError::Corrupt(format!("sla unit {other}"))),
    }
}

fn user_row(r: SqliteRow) -> Result<UserRecord> {
    Ok(UserRecord {
        id: UserId(uuid_of(r.try_get("id")?)?),
        email: r.try_get("email")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        role: role(r.try_get::<&str, _>("role")?)?,
        district: opt_slug(r.try_get("district_id")?, "district")?,
        body: opt_slug(r.try_get("body_id")?, "body")?,
        created_at: from_ms(r.try_get("created_at")?)?,
    })
}

fn report_row(r: &SqliteRow) -> Result<ReportRecord> {
    Ok(ReportRecord {
        id: ReportId(uuid_of(r.try_get("id")?)?),
        number: r.try_get("number")?,
        category: slug(r.try_get("category_id")?, "category")?,
        district: slug(r.try_get("district_id")?, "district")?,
        body: opt_slug(r.try_get("body_id")?, "body")?,
        status: status(r.try_get::<&str, _>("status")?)?,
        lat: r.try_get("lat")?,
        lon: r.try_get("lon")?,
        description: r.try_get("description")?,
        address: r.try_get("address")?,
        reporter: UserId(uuid_of(r.try_get("reporter_id")?)?),
        hide_reporter_name: r.try_get("hide_reporter_name")?,
        crew: opt_uuid(r.try_get("crew_id")?)?.map(UserId),
        duplicate_of: opt_uuid(r.try_get("duplicate_of")?)?.map(ReportId),
        created_at: from_ms(r.try_get("created_at")?)?,
        routed_at: opt_ms(r.try_get("routed_at")?)?,
        deadline: opt_ms(r.try_get("deadline")?)?,
        closed_at: opt_ms(r.try_get("closed_at")?)?,
        overdue_at: opt_ms(r.try_get("overdue_at")?)?,
        updated_at: from_ms(r.try_get("updated_at")?)?,
        version: r.try_get("version")?,
        payload_sha256: r.try_get("payload_sha256")?,
        hidden: r.try_get("hidden")?,
    })
}

const REPORT_COLUMNS: &str = "r.number, r.id, r.category_id, r.district_id, r.body_id, r.status, r.lat, r.lon, \
     r.description, r.address, r.reporter_id, r.hide_reporter_name, r.crew_id, r.duplicate_of, r.created_at, \
     r.routed_at, r.deadline, r.closed_at, r.overdue_at, r.updated_at, r.version, r.payload_sha256, r.hidden";

/// Appends the WHERE clause of `q` (the FROM clause, with the R*Tree join, is already pushed).
fn push_filters(b: &mut QueryBuilder<Sqlite>, q: &ReportQuery) {
    b.push(" WHERE 1 = 1");
    if let Some(bb) = &q.bbox {
        // The R*Tree stores 32-bit floats rounded outwards, so it only narrows the search;
        // the exact columns decide (edges included).
        b.push(" AND t.max_lat >= ").push_bind(bb.south());
        b.push(" AND t.min_lat <= ").push_bind(bb.north());
        b.push(" AND t.max_lon >= ").push_bind(bb.west());
        b.push(" AND t.min_lon <= ").push_bind(bb.east());
        b.push(" AND r.lat BETWEEN ").push_bind(bb.south()).push(" AND ").push_bind(bb.north());
        b.push(" AND r.lon BETWEEN ").push_bind(bb.west()).push(" AND ").push_bind(bb.east());
    }
    if !q.categories.is_empty() {
        b.push(" AND r.category_id IN (");
        let mut s = b.separated(", ");
        for c in &q.categories {
            s.push_bind(c.as_str().to_owned());
        }
        b.push(")");
    }
    if !q.statuses.is_empty() {
        b.push(" AND r.status IN (");
        let mut s = b.separated(", ");
        for st in &q.statuses {
            s.push_bind(st.as_str());
        }
        b.push(")");
    }
    if let Some(from) = q.from {
        b.push(" AND r.created_at >= ").push_bind(ms(from));
    }
    if let Some(to) = q.to {
        b.push(" AND r.created_at < ").push_bind(ms(to));
    }
    if let Some(d) = &q.district {
        b.push(" AND r.district_id = ").push_bind(d.as_str().to_owned());
    }
    if let Some(body) = &q.body {
        b.push(" AND r.body_id = ").push_bind(body.as_str().to_owned());
    }
    if let Some(crew) = q.crew {
        b.push(" AND r.crew_id = ").push_bind(crew.0.as_bytes().to_vec());
    }
    if let Some(rep) = q.reporter {
        b.push(" AND r.reporter_id = ").push_bind(rep.0.as_bytes().to_vec());
    }
    if q.overdue_only {
        b.push(" AND r.overdue_at IS NOT NULL AND r.status IN ('routed', 'acknowledged', 'in_progress', 'reopened')");
    }
    if q.public_only {
        b.push(" AND r.hidden = 0");
    }
}

fn from_clause(q: &ReportQuery) -> &'static str {
    if q.bbox.is_some() { " FROM reports_rtree t JOIN reports r ON r.number = t.number" } else { " FROM reports r" }
}

async fn insert_photos(tx: &mut sqlx::SqliteConnection, report: ReportId, photos: &[PhotoRecord]) -> Result<()> {
    let start: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position) + 1, 0) FROM report_photos WHERE report_id = ?")
        .bind(report.0.as_bytes().as_slice())
        .fetch_one(&mut *tx)
        .await?;
    for (i, p) in photos.iter().enumerate() {
        sqlx::query(INSERT_PHOTO_SQL)
            .bind(report.0.as_bytes().as_slice())
            .bind(start + i as i64)
            .bind(p.kind.as_str())
            .bind(&p.sha256)
            .bind(p.width as i64)
            .bind(p.height as i64)
            .bind(ms(p.created_at))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

async fn insert_event(tx: &mut sqlx::SqliteConnection, report: ReportId, e: &EventRecord) -> Result<()> {
    sqlx::query(INSERT_EVENT_SQL)
        .bind(report.0.as_bytes().as_slice())
        .bind(ms(e.at))
        .bind(e.actor.map(|a| a.0.as_bytes().to_vec()))
        .bind(e.actor_role.map(Role::as_str))
        .bind(&e.action)
        .bind(e.from_status.map(ReportStatus::as_str))
        .bind(e.to_status.as_str())
        .bind(&e.public_note)
        .bind(&e.internal_note)
        .bind(e.data.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// An account row; `Conflict { field: "email" }` on a taken e-mail.
async fn insert_user<'e>(db: impl sqlx::SqliteExecutor<'e>, u: &UserRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO users (id, email, display_name, password_hash, role, district_id, body_id, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(u.id.0.as_bytes().as_slice())
    .bind(&u.email)
    .bind(&u.display_name)
    .bind(&u.password_hash)
    .bind(u.role.as_str())
    .bind(u.district.as_ref().map(|d| d.as_str()))
    .bind(u.body.as_ref().map(|b| b.as_str()))
    .bind(ms(u.created_at))
    .execute(db)
    .await
    .map_err(|e| unique_as_conflict(e, "email"))?;
    Ok(())
}

async fn insert_notifications(tx: &mut sqlx::SqliteConnection, ns: &[Notification]) -> Result<()> {
    for n in ns {
        sqlx::query(
            "INSERT INTO notifications (kind, recipient, subject, body, report_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&n.kind)
        .bind(&n.recipient)
        .bind(&n.subject)
        .bind(&n.body)
        .bind(n.report.map(|r| r.0.as_bytes().to_vec()))
        .bind(ms(n.created_at))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    async fn upsert_category(&self, c: &Category) -> Result<()> {
        sqlx::query(
            "INSERT INTO categories (id, name_ka, name_en, sla_amount, sla_unit, active, position) \
             VALUES (?, ?, ?, ?, ?, ?, (SELECT COUNT(*) FROM categories)) \
             ON CONFLICT (id) DO UPDATE SET name_ka = excluded.name_ka, name_en = excluded.name_en, \
             sla_amount = excluded.sla_amount, sla_unit = excluded.sla_unit, active = excluded.active",
        )
        .bind(c.id.as_str())
        .bind(&c.name.ka)
        .bind(&c.name.en)
        .bind(c.sla.amount as i64)
        .bind(sla_unit_str(c.sla.unit))
        .bind(c.active)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn categories(&self) -> Result<Vec<Category>> {
        let rows = sqlx::query("SELECT * FROM categories ORDER BY position, id").fetch_all(&self.reader).await?;
        rows.into_iter()
            .map(|r| {
                Ok(Category {
                    id: slug(r.try_get("id")?, "category")?,
                    name: Localized::new(r.try_get::<String, _>("name_ka")?, r.try_get::<String, _>("name_en")?),
                    sla: Sla {
                        amount: r.try_get::<i64, _>("sla_amount")? as u32,
                        unit: sla_unit(r.try_get("sla_unit")?)?,
                    },
                    active: r.try_get("active")?,
                })
            })
            .collect()
    }

    async fn upsert_body(&self, b: &Body) -> Result<()> {
        sqlx::query(
            "INSERT INTO bodies (id, kind, name_ka, name_en, district_id, head_email) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name_ka = excluded.name_ka, \
             name_en = excluded.name_en, district_id = excluded.district_id, head_email = excluded.head_email",
        )
        .bind(b.id.as_str())
        .bind(b.kind.as_str())
        .bind(&b.name.ka)
        .bind(&b.name.en)
        .bind(b.district.as_ref().map(|d| d.as_str()))
        .bind(&b.head_email)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn bodies(&self) -> Result<Vec<Body>> {
        let rows = sqlx::query("SELECT * FROM bodies ORDER BY id").fetch_all(&self.reader).await?;
        rows.into_iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(Body {
                    id: slug(r.try_get("id")?, "body")?,
                    kind: BodyKind::parse(&kind).ok_or_else(|| StorageError::Corrupt(format!("body kind {kind}")))?,
                    name: Localized::new(r.try_get::<String, _>("name_ka")?, r.try_get::<String, _>("name_en")?),
                    district: opt_slug(r.try_get("district_id")?, "district")?,
                    head_email: r.try_get("head_email")?,
                })
            })
            .collect()
    }

    async fn upsert_districts(&self, districts: &[District]) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for d in districts {
            sqlx::query(
                "INSERT INTO districts (id, name_ka, name_en, geometry) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET name_ka = excluded.name_ka, name_en = excluded.name_en, \
                 geometry = excluded.geometry",
            )
            .bind(d.id.as_str())
            .bind(&d.name.ka)
            .bind(&d.name.en)
            .bind(d.area.to_geojson().to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn districts(&self) -> Result<Vec<District>> {
        let rows = sqlx::query("SELECT * FROM districts ORDER BY id").fetch_all(&self.reader).await?;
        rows.into_iter()
            .map(|r| {
                let geometry: String = r.try_get("geometry")?;
                let value: serde_json::Value =
                    serde_json::from_str(&geometry).map_err(|e| StorageError::Corrupt(e.to_string()))?;
                Ok(District {
                    id: slug(r.try_get("id")?, "district")?,
                    name: Localized::new(r.try_get::<String, _>("name_ka")?, r.try_get::<String, _>("name_en")?),
                    area: MultiPolygon::from_geojson(&value).map_err(|e| StorageError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    async fn replace_routing_rules(&self, rules: &[RoutingRule]) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM routing_rules").execute(&mut *tx).await?;
        for rule in rules {
            sqlx::query("INSERT INTO routing_rules (category_id, district_id, body_id) VALUES (?, ?, ?)")
                .bind(rule.category.as_str())
                .bind(rule.district.as_ref().map(|d| d.as_str()))
                .bind(rule.body.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| unique_as_conflict(e, "rules"))?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn routing_rules(&self) -> Result<Vec<RoutingRule>> {
        let rows = sqlx::query("SELECT * FROM routing_rules ORDER BY category_id, district_id")
            .fetch_all(&self.reader)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(RoutingRule {
                    category: slug(r.try_get("category_id")?, "category")?,
                    district: opt_slug(r.try_get("district_id")?, "district")?,
                    body: slug(r.try_get("body_id")?, "body")?,
                })
            })
            .collect()
    }

    async fn upsert_template(&self, t: &ResponseTemplate) -> Result<()> {
        sqlx::query(
            "INSERT INTO response_templates (id, category_id, title_ka, title_en, body_ka, body_en) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET category_id = excluded.category_id, \
             title_ka = excluded.title_ka, title_en = excluded.title_en, body_ka = excluded.body_ka, \
             body_en = excluded.body_en",
        )
        .bind(&t.id)
        .bind(t.category.as_str())
        .bind(&t.title.ka)
        .bind(&t.title.en)
        .bind(&t.body.ka)
        .bind(&t.body.en)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn templates(&self, category: Option<&CategoryId>) -> Result<Vec<ResponseTemplate>> {
        let rows = sqlx::query("SELECT * FROM response_templates WHERE ?1 IS NULL OR category_id = ?1 ORDER BY id")
            .bind(category.map(|c| c.as_str()))
            .fetch_all(&self.reader)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ResponseTemplate {
                    id: r.try_get("id")?,
                    category: slug(r.try_get("category_id")?, "category")?,
                    title: Localized::new(r.try_get::<String, _>("title_ka")?, r.try_get::<String, _>("title_en")?),
                    body: Localized::new(r.try_get::<String, _>("body_ka")?, r.try_get::<String, _>("body_en")?),
                })
            })
            .collect()
    }

    async fn create_user(&self, u: &UserRecord) -> Result<()> {
        insert_user(&self.writer, u).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query("SELECT * FROM users WHERE email = ?").bind(email).fetch_optional(&self.reader).await?;
        row.map(user_row).transpose()
    }

    async fn user(&self, id: UserId) -> Result<Option<UserRecord>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id.0.as_bytes().as_slice())
            .fetch_optional(&self.reader)
            .await?;
        row.map(user_row).transpose()
    }

    async fn crews(&self, body: Option<&BodyId>) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM users WHERE role = 'field_crew' AND (?1 IS NULL OR body_id = ?1) ORDER BY display_name",
        )
        .bind(body.map(|b| b.as_str()))
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(user_row).collect()
    }

    async fn create_session(&self, token_sha256: &str, user: UserId, expires_at: DateTime<Utc>) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_sha256, user_id, expires_at) VALUES (?, ?, ?)")
            .bind(token_sha256)
            .bind(user.0.as_bytes().as_slice())
            .bind(ms(expires_at))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn session_user(&self, token_sha256: &str, now: DateTime<Utc>) -> Result<Option<UserRecord>> {
        let row = sqlx::query(
            "SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = ? AND s.expires_at > ?",
        )
        .bind(token_sha256)
        .bind(ms(now))
        .fetch_optional(&self.reader)
        .await?;
        row.map(user_row).transpose()
    }

    async fn delete_session(&self, token_sha256: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = ?").bind(token_sha256).execute(&self.writer).await?;
        Ok(())
    }

    async fn insert_report(&self, new: &NewReport) -> Result<ReportRecord> {
        let (reply, outcome) = oneshot::channel();
        let closed = || StorageError::Batch("the storage is shutting down".into());
        self.ingest.send((new.clone(), reply)).await.map_err(|_| closed())?;
        outcome.await.map_err(|_| closed())?
    }

    async fn report(&self, id: ReportId) -> Result<Option<ReportRecord>> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports r WHERE r.id = ?");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0.as_bytes().as_slice()).fetch_optional(&self.reader).await?;
        row.as_ref().map(report_row).transpose()
    }

    async fn report_photos(&self, id: ReportId) -> Result<Vec<PhotoRecord>> {
        let rows = sqlx::query("SELECT * FROM report_photos WHERE report_id = ? ORDER BY position")
            .bind(id.0.as_bytes().as_slice())
            .fetch_all(&self.reader)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(PhotoRecord {
                    kind: PhotoKind::parse(r.try_get("kind")?)?,
                    sha256: r.try_get("sha256")?,
                    width: r.try_get::<i64, _>("width")? as u32,
                    height: r.try_get::<i64, _>("height")? as u32,
                    created_at: from_ms(r.try_get("created_at")?)?,
                })
            })
            .collect()
    }

    async fn report_events(&self, id: ReportId) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query("SELECT * FROM report_events WHERE report_id = ? ORDER BY seq")
            .bind(id.0.as_bytes().as_slice())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(event_row).collect()
    }

    async fn apply_change(&self, change: &ReportChange) -> Result<ReportRecord> {
        let r = &change.report;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let updated = sqlx::query(
            "UPDATE reports SET body_id = ?, status = ?, crew_id = ?, duplicate_of = ?, routed_at = ?, deadline = ?, \
             closed_at = ?, overdue_at = ?, updated_at = ?, hidden = ?, version = version + 1 \
             WHERE id = ? AND version = ?",
        )
        .bind(r.body.as_ref().map(|b| b.as_str()))
        .bind(r.status.as_str())
        .bind(r.crew.map(|c| c.0.as_bytes().to_vec()))
        .bind(r.duplicate_of.map(|d| d.0.as_bytes().to_vec()))
        .bind(r.routed_at.map(ms))
        .bind(r.deadline.map(ms))
        .bind(r.closed_at.map(ms))
        .bind(r.overdue_at.map(ms))
        .bind(ms(r.updated_at))
        .bind(r.hidden)
        .bind(r.id.0.as_bytes().as_slice())
        .bind(r.version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StorageError::Stale);
        }
        insert_event(&mut tx, r.id, &change.event).await?;
        insert_photos(&mut tx, r.id, &change.photos).await?;
        insert_notifications(&mut tx, &change.notifications).await?;
        super::sqlite_sync::insert_sync_effects(&mut tx, r.id, &change.sync).await?;
        tx.commit().await?;
        Ok(ReportRecord { version: r.version + 1, ..r.clone() })
    }

    async fn query_reports(&self, q: &ReportQuery) -> Result<Vec<ReportRecord>> {
        let mut b = QueryBuilder::<Sqlite>::new(format!("SELECT {REPORT_COLUMNS}"));
        b.push(from_clause(q));
        push_filters(&mut b, q);
        if q.order_by_deadline {
            b.push(" ORDER BY r.deadline IS NULL, r.deadline, r.number");
        } else {
            b.push(" ORDER BY r.number DESC");
        }
        b.push(" LIMIT ").push_bind(q.limit as i64).push(" OFFSET ").push_bind(q.offset as i64);
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.iter().map(report_row).collect()
    }

    async fn count_reports(&self, q: &ReportQuery) -> Result<u64> {
        let mut b = QueryBuilder::<Sqlite>::new("SELECT COUNT(*)");
        b.push(from_clause(q));
        push_filters(&mut b, q);
        let n: i64 = b.build_query_scalar().fetch_one(&self.reader).await?;
        Ok(n as u64)
    }

    async fn cluster_reports(&self, q: &ReportQuery, cell_deg: f64) -> Result<Vec<Cluster>> {
        let mut b = QueryBuilder::<Sqlite>::new("SELECT AVG(r.lat) AS lat, AVG(r.lon) AS lon, COUNT(*) AS n");
        b.push(from_clause(q));
        push_filters(&mut b, q);
        // Tbilisi's coordinates are positive, so truncation is the floor.
        b.push(" GROUP BY CAST(r.lat / ").push_bind(cell_deg).push(" AS INTEGER), CAST(r.lon / ");
        b.push_bind(cell_deg).push(" AS INTEGER)");
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.into_iter()
            .map(|r| {
                Ok(Cluster { lat: r.try_get("lat")?, lon: r.try_get("lon")?, count: r.try_get::<i64, _>("n")? as u64 })
            })
            .collect()
    }

    async fn overdue_candidates(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<ReportRecord>> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports r WHERE r.overdue_at IS NULL \
             AND r.status IN ('routed', 'acknowledged', 'in_progress', 'reopened') AND r.deadline < ? \
             ORDER BY r.deadline LIMIT ?"
        );
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ms(now)).bind(limit as i64).fetch_all(&self.reader).await?;
        rows.iter().map(report_row).collect()
    }

    async fn stats_rows(&self) -> Result<Vec<StatsRow>> {
        let rows = sqlx::query(
            "SELECT body_id, category_id, status, created_at, deadline, closed_at FROM reports \
             WHERE body_id IS NOT NULL AND hidden = 0",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(StatsRow {
                    body: slug(r.try_get("body_id")?, "body")?,
                    category: slug(r.try_get("category_id")?, "category")?,
                    status: status(r.try_get("status")?)?,
                    created_at: from_ms(r.try_get("created_at")?)?,
                    deadline: opt_ms(r.try_get("deadline")?)?,
                    closed_at: opt_ms(r.try_get("closed_at")?)?,
                })
            })
            .collect()
    }

    async fn pending_notifications(&self) -> Result<Vec<Notification>> {
        let rows = sqlx::query("SELECT * FROM notifications WHERE sent_at IS NULL ORDER BY seq")
            .fetch_all(&self.reader)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Notification {
                    kind: r.try_get("kind")?,
                    recipient: r.try_get("recipient")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    report: opt_uuid(r.try_get("report_id")?)?.map(ReportId),
                    created_at: from_ms(r.try_get("created_at")?)?,
                })
            })
            .collect()
    }

    async fn create_open311_key(&self, key: &Open311KeyRecord, u: &UserRecord) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        insert_user(&mut *tx, u).await?;
        sqlx::query(
            "INSERT INTO open311_api_keys (id, key_sha256, app_name, contact_email, account_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(key.id.as_bytes().as_slice())
        .bind(&key.key_sha256)
        .bind(&key.app_name)
        .bind(&key.contact_email)
        .bind(key.account.0.as_bytes().as_slice())
        .bind(ms(key.created_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_as_conflict(e, "api_key"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn open311_keys(&self) -> Result<Vec<Open311KeyRecord>> {
        let rows =
            sqlx::query("SELECT * FROM open311_api_keys ORDER BY created_at, id").fetch_all(&self.reader).await?;
        rows.iter().map(open311_key_row).collect()
    }

    async fn open311_key(&self, key_sha256: &str) -> Result<Option<Open311KeyRecord>> {
        let row = sqlx::query("SELECT * FROM open311_api_keys WHERE key_sha256 = ?")
            .bind(key_sha256)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(open311_key_row).transpose()
    }

    async fn open311_submission(&self, token: &str) -> Result<Option<Open311SubmissionRecord>> {
        let row = sqlx::query("SELECT * FROM open311_submissions WHERE token = ?")
            .bind(token)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| {
            Ok(Open311SubmissionRecord {
                token: r.try_get("token")?,
                report: ReportId(uuid_of(r.try_get("report_id")?)?),
                key: uuid_of(r.try_get("key_id")?)?,
                email: r.try_get("email")?,
                first_name: r.try_get("first_name")?,
                last_name: r.try_get("last_name")?,
                phone: r.try_get("phone")?,
                device_id: r.try_get("device_id")?,
                account_id: r.try_get("account_id")?,
                created_at: from_ms(r.try_get("created_at")?)?,
            })
        })
        .transpose()
    }

    async fn report_by_number(&self, number: i64) -> Result<Option<ReportRecord>> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports r WHERE r.number = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(number).fetch_optional(&self.reader).await?;
        row.as_ref().map(report_row).transpose()
    }

    async fn query_reports_changed(
        &self,
        q: &ReportQuery,
        changed_after: Option<DateTime<Utc>>,
        changed_before: Option<DateTime<Utc>>,
    ) -> Result<Vec<ReportRecord>> {
        let mut b = QueryBuilder::<Sqlite>::new(format!("SELECT {REPORT_COLUMNS}"));
        b.push(from_clause(q));
        push_filters(&mut b, q);
        if let Some(after) = changed_after {
            b.push(" AND r.updated_at > ").push_bind(ms(after));
        }
        if let Some(before) = changed_before {
            b.push(" AND r.updated_at < ").push_bind(ms(before));
        }
        if q.order_by_deadline {
            b.push(" ORDER BY r.deadline IS NULL, r.deadline, r.number");
        } else {
            b.push(" ORDER BY r.number DESC");
        }
        b.push(" LIMIT ").push_bind(q.limit as i64).push(" OFFSET ").push_bind(q.offset as i64);
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.iter().map(report_row).collect()
    }

    async fn events_of_reports(&self, ids: &[ReportId]) -> Result<Vec<(ReportId, EventRecord)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut b = QueryBuilder::<Sqlite>::new("SELECT * FROM report_events WHERE report_id IN (");
        let mut list = b.separated(", ");
        for id in ids {
            list.push_bind(id.0.as_bytes().to_vec());
        }
        b.push(") ORDER BY report_id, seq");
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.iter().map(|r| Ok((ReportId(uuid_of(r.try_get("report_id")?)?), event_row(r)?))).collect()
    }

    async fn photos_of_reports(&self, ids: &[ReportId]) -> Result<Vec<(ReportId, PhotoRecord)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut b = QueryBuilder::<Sqlite>::new("SELECT * FROM report_photos WHERE report_id IN (");
        let mut list = b.separated(", ");
        for id in ids {
            list.push_bind(id.0.as_bytes().to_vec());
        }
        b.push(") ORDER BY report_id, position");
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.iter()
            .map(|r| {
                let photo = PhotoRecord {
                    kind: PhotoKind::parse(r.try_get("kind")?)?,
                    sha256: r.try_get("sha256")?,
                    width: r.try_get::<i64, _>("width")? as u32,
                    height: r.try_get::<i64, _>("height")? as u32,
                    created_at: from_ms(r.try_get("created_at")?)?,
                };
                Ok((ReportId(uuid_of(r.try_get("report_id")?)?), photo))
            })
            .collect()
    }

    async fn events_between(&self, w: &EventWindow) -> Result<Vec<TimelineEntry>> {
        let mut b = QueryBuilder::<Sqlite>::new(
            "SELECT e.*, r.number FROM report_events e JOIN reports r ON r.id = e.report_id WHERE 1 = 1",
        );
        if let Some(from) = w.from {
            b.push(" AND e.at >= ").push_bind(ms(from));
        }
        if let Some(to) = w.to {
            b.push(" AND e.at < ").push_bind(ms(to));
        }
        if w.public_only {
            b.push(" AND r.hidden = 0");
        }
        if !w.skip_actions.is_empty() {
            b.push(" AND e.action NOT IN (");
            let mut list = b.separated(", ");
            for action in &w.skip_actions {
                list.push_bind(action.clone());
            }
            b.push(")");
        }
        b.push(" ORDER BY e.at, e.seq LIMIT ").push_bind(w.limit as i64).push(" OFFSET ").push_bind(w.offset as i64);
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.iter()
            .map(|r| {
                Ok(TimelineEntry {
                    seq: r.try_get("seq")?,
                    report: ReportId(uuid_of(r.try_get("report_id")?)?),
                    number: r.try_get("number")?,
                    event: event_row(r)?,
                })
            })
            .collect()
    }

    async fn sla_overrides(&self) -> Result<Vec<SlaRule>> {
        let rows =
            sqlx::query("SELECT * FROM sla_overrides ORDER BY category_id, body_id").fetch_all(&self.reader).await?;
        rows.into_iter()
            .map(|r| {
                let amount: i64 = r.try_get("sla_amount")?;
                Ok(SlaRule {
                    category: slug(r.try_get("category_id")?, "category")?,
                    body: slug(r.try_get("body_id")?, "body")?,
                    sla: Sla {
                        amount: u32::try_from(amount).map_err(|_| StorageError::Corrupt(format!("sla {amount}")))?,
                        unit: sla_unit(r.try_get("sla_unit")?)?,
                    },
                })
            })
            .collect()
    }

    async fn upsert_sla_override(&self, rule: &SlaRule) -> Result<()> {
        sqlx::query(
            "INSERT INTO sla_overrides (category_id, body_id, sla_amount, sla_unit) VALUES (?, ?, ?, ?) \
             ON CONFLICT (category_id, body_id) DO UPDATE SET sla_amount = excluded.sla_amount, \
             sla_unit = excluded.sla_unit",
        )
        .bind(rule.category.as_str())
        .bind(rule.body.as_str())
        .bind(i64::from(rule.sla.amount))
        .bind(sla_unit_str(rule.sla.unit))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn delete_sla_override(&self, category: &CategoryId, body: &BodyId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sla_overrides WHERE category_id = ? AND body_id = ?")
            .bind(category.as_str())
            .bind(body.as_str())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn open311_key_row(r: &SqliteRow) -> Result<Open311KeyRecord> {
    Ok(Open311KeyRecord {
        id: uuid_of(r.try_get("id")?)?,
        key_sha256: r.try_get("key_sha256")?,
        app_name: r.try_get("app_name")?,
        contact_email: r.try_get("contact_email")?,
        account: UserId(uuid_of(r.try_get("account_id")?)?),
        created_at: from_ms(r.try_get("created_at")?)?,
    })
}

/// A `report_events` row (of any query selecting its columns).
fn event_row(r: &SqliteRow) -> Result<EventRecord> {
    let data: String = r.try_get("data")?;
    Ok(EventRecord {
        at: from_ms(r.try_get("at")?)?,
        actor: opt_uuid(r.try_get("actor_id")?)?.map(UserId),
        actor_role: r.try_get::<Option<&str>, _>("actor_role")?.map(role).transpose()?,
        action: r.try_get("action")?,
        from_status: r.try_get::<Option<&str>, _>("from_status")?.map(status).transpose()?,
        to_status: status(r.try_get("to_status")?)?,
        public_note: r.try_get("public_note")?,
        internal_note: r.try_get("internal_note")?,
        data: serde_json::from_str(&data).map_err(|e| StorageError::Corrupt(e.to_string()))?,
    })
}
