//! The PostgreSQL + PostGIS backend: for a city-scale deployment where several stateless server
//! replicas share one database.
//!
//! Same behaviour as the SQLite backend (the conformance suite in
//! `tests/storage_conformance.rs` runs against both), with native types: `uuid` ids,
//! `timestamptz` times (microsecond precision), `jsonb` documents. Report points are indexed by
//! PostGIS (GiST over a generated `geometry` column for the map's box queries, and over a
//! generated `geography` column for distance queries in metres).
//!
//! Concurrency rests on PostgreSQL's row locks rather than on a single writer: `apply_change`
//! updates the report row first (`WHERE version = $expected`), which locks it, so a competing
//! change either waits and then finds the version moved (→ [`StorageError::Stale`]) or never
//! starts its inserts.

use super::*;
use smartmap_shared::body::BodyKind;
use smartmap_shared::geo::MultiPolygon;
use smartmap_shared::sla::{Sla, SlaRule, SlaUnit};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};
use std::str::FromStr;
use tracing::instrument;
use uuid::Uuid;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Connections per server process. Several replicas share the database's `max_connections`
/// (100 by default), so each takes a modest share.
const MAX_CONNECTIONS: u32 = 16;

/// PostgreSQL storage over one connection pool shared by reads and writes.
#[derive(Clone)]
pub struct PgStorage {
    pub(super) pool: PgPool,
}

impl PgStorage {
    /// Connects to the database at `url`, e.g. `postgres://smartmap:…@db.internal/smartmap`.
    /// The schema is not touched until [`Storage::migrate`].
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with options built in code (tests pick a fresh database this way).
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self> {
        let pool = PgPoolOptions::new().max_connections(MAX_CONNECTIONS).connect_with(options).await?;
        Ok(PgStorage { pool })
    }

    /// The pool, for benchmarks and for closing connections before dropping a test database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The columns `report_row` reads, as a literal so every query stays a `&'static str` (sqlx 0.9
/// only takes static SQL without an explicit `AssertSqlSafe`).
macro_rules! report_columns {
    () => {
        "r.number, r.id, r.category_id, r.district_id, r.body_id, r.status, r.lat, r.lon, \
         r.description, r.address, r.reporter_id, r.hide_reporter_name, r.crew_id, r.duplicate_of, \
         r.created_at, r.routed_at, r.deadline, r.closed_at, r.overdue_at, r.updated_at, r.version, \
         r.payload_sha256, r.hidden"
    };
}

/// The statuses of [`OPEN_STATUSES`] as an SQL list. Written out (not bound) so the planner can
/// match it against the predicate of the partial index `reports_open_deadline`.
macro_rules! open_statuses_sql {
    () => {
        "('routed', 'acknowledged', 'in_progress', 'reopened')"
    };
}

fn opt_slug<T: TryFrom<String>>(s: Option<String>, what: &str) -> Result<Option<T>> {
    s.map(|s| slug(s, what)).transpose()
}

/// Maps a unique violation of one of `constraints` (constraint name, field) to a `Conflict` on
/// that field. Matching by name (the migration names the constraints) keeps "e-mail taken"
/// apart from "id taken"; any other failure stays a database error.
fn conflict_on(e: sqlx::Error, constraints: &[(&str, &'static str)]) -> StorageError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
        && let Some(&(_, field)) = constraints.iter().find(|(name, _)| db.constraint() == Some(*name))
    {
        return StorageError::Conflict { field };
    }
    StorageError::Database(e)
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

/// Reads a `{prefix}_ka` / `{prefix}_en` column pair.
fn localized(r: &PgRow, ka: &str, en: &str) -> Result<Localized> {
    Ok(Localized::new(r.try_get::<String, _>(ka)?, r.try_get::<String, _>(en)?))
}

/// Reads a pixel size stored as `integer`.
fn pixels(r: &PgRow, column: &str) -> Result<u32> {
    let v: i32 = r.try_get(column)?;
    u32::try_from(v).map_err(|_| StorageError::Corrupt(format!("{column} {v}")))
}

fn user_row(r: &PgRow) -> Result<UserRecord> {
    Ok(UserRecord {
        id: UserId(r.try_get("id")?),
        email: r.try_get("email")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        role: role(r.try_get::<&str, _>("role")?)?,
        district: opt_slug(r.try_get("district_id")?, "district")?,
        body: opt_slug(r.try_get("body_id")?, "body")?,
        created_at: r.try_get("created_at")?,
    })
}

fn report_row(r: &PgRow) -> Result<ReportRecord> {
    Ok(ReportRecord {
        id: ReportId(r.try_get("id")?),
        number: r.try_get("number")?,
        category: slug(r.try_get("category_id")?, "category")?,
        district: slug(r.try_get("district_id")?, "district")?,
        body: opt_slug(r.try_get("body_id")?, "body")?,
        status: status(r.try_get::<&str, _>("status")?)?,
        lat: r.try_get("lat")?,
        lon: r.try_get("lon")?,
        description: r.try_get("description")?,
        address: r.try_get("address")?,
        reporter: UserId(r.try_get("reporter_id")?),
        hide_reporter_name: r.try_get("hide_reporter_name")?,
        crew: r.try_get::<Option<Uuid>, _>("crew_id")?.map(UserId),
        duplicate_of: r.try_get::<Option<Uuid>, _>("duplicate_of")?.map(ReportId),
        created_at: r.try_get("created_at")?,
        routed_at: r.try_get("routed_at")?,
        deadline: r.try_get("deadline")?,
        closed_at: r.try_get("closed_at")?,
        overdue_at: r.try_get("overdue_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
        payload_sha256: r.try_get("payload_sha256")?,
        hidden: r.try_get("hidden")?,
    })
}

/// Appends the WHERE clause of `q` to a query whose FROM clause is `reports r`.
fn push_filters(b: &mut QueryBuilder<Postgres>, q: &ReportQuery) {
    b.push(" WHERE true");
    if let Some(bb) = &q.bbox {
        // `&&` is answered by the GiST index on `geom`, but compares float4-rounded boxes, so it
        // may admit points a hair outside; the exact comparison on lat/lon (edges included, as
        // in SQLite) settles those.
        b.push(" AND r.geom && ST_MakeEnvelope(").push_bind(bb.west());
        b.push(", ").push_bind(bb.south());
        b.push(", ").push_bind(bb.east());
        b.push(", ").push_bind(bb.north()).push(", 4326)");
        b.push(" AND r.lat BETWEEN ").push_bind(bb.south()).push(" AND ").push_bind(bb.north());
        b.push(" AND r.lon BETWEEN ").push_bind(bb.west()).push(" AND ").push_bind(bb.east());
    }
    // Lists are bound as one array each, so the statement text (and its cached plan) does not
    // depend on how many values are chosen.
    if !q.categories.is_empty() {
        let categories: Vec<&str> = q.categories.iter().map(|c| c.as_str()).collect();
        b.push(" AND r.category_id = ANY(").push_bind(categories).push(")");
    }
    if !q.statuses.is_empty() {
        let statuses: Vec<&str> = q.statuses.iter().map(|s| s.as_str()).collect();
        b.push(" AND r.status = ANY(").push_bind(statuses).push(")");
    }
    if let Some(from) = q.from {
        b.push(" AND r.created_at >= ").push_bind(from);
    }
    if let Some(to) = q.to {
        b.push(" AND r.created_at < ").push_bind(to);
    }
    if let Some(d) = &q.district {
        b.push(" AND r.district_id = ").push_bind(d.as_str());
    }
    if let Some(body) = &q.body {
        b.push(" AND r.body_id = ").push_bind(body.as_str());
    }
    if let Some(crew) = q.crew {
        b.push(" AND r.crew_id = ").push_bind(crew.0);
    }
    if let Some(rep) = q.reporter {
        b.push(" AND r.reporter_id = ").push_bind(rep.0);
    }
    if q.overdue_only {
        b.push(concat!(" AND r.overdue_at IS NOT NULL AND r.status IN ", open_statuses_sql!()));
    }
    if q.public_only {
        b.push(" AND NOT r.hidden");
    }
}

/// Appends `photos` after the report's existing ones. Callers hold the report row (just
/// inserted, or locked by `apply_change`'s UPDATE), so no one else computes the same positions.
async fn insert_photos(tx: &mut PgConnection, report: ReportId, photos: &[PhotoRecord]) -> Result<()> {
    if photos.is_empty() {
        return Ok(());
    }
    let start: i32 =
        sqlx::query_scalar("SELECT COALESCE(MAX(position) + 1, 0) FROM report_photos WHERE report_id = $1")
            .bind(report.0)
            .fetch_one(&mut *tx)
            .await?;
    for (i, p) in photos.iter().enumerate() {
        sqlx::query(
            "INSERT INTO report_photos (report_id, position, kind, sha256, width, height, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(report.0)
        .bind(start + i as i32)
        .bind(p.kind.as_str())
        .bind(&p.sha256)
        // i64 into `integer`: an impossible size beyond i32 fails loudly instead of wrapping.
        .bind(i64::from(p.width))
        .bind(i64::from(p.height))
        .bind(p.created_at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn insert_event(tx: &mut PgConnection, report: ReportId, e: &EventRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO report_events (report_id, at, actor_id, actor_role, action, from_status, to_status, \
         public_note, internal_note, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(report.0)
    .bind(e.at)
    .bind(e.actor.map(|a| a.0))
    .bind(e.actor_role.map(Role::as_str))
    .bind(&e.action)
    .bind(e.from_status.map(ReportStatus::as_str))
    .bind(e.to_status.as_str())
    .bind(&e.public_note)
    .bind(&e.internal_note)
    .bind(&e.data)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn insert_notifications(tx: &mut PgConnection, ns: &[Notification]) -> Result<()> {
    for n in ns {
        sqlx::query(
            "INSERT INTO notifications (kind, recipient, subject, body, report_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&n.kind)
        .bind(&n.recipient)
        .bind(&n.subject)
        .bind(&n.body)
        .bind(n.report.map(|r| r.0))
        .bind(n.created_at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// An account row; `Conflict` on a taken e-mail or id.
async fn insert_user<'e>(db: impl sqlx::PgExecutor<'e>, u: &UserRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO users (id, email, display_name, password_hash, role, district_id, body_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(u.id.0)
    .bind(&u.email)
    .bind(&u.display_name)
    .bind(&u.password_hash)
    .bind(u.role.as_str())
    .bind(u.district.as_ref().map(|d| d.as_str()))
    .bind(u.body.as_ref().map(|b| b.as_str()))
    .bind(u.created_at)
    .execute(db)
    .await
    .map_err(|e| conflict_on(e, &[("users_email_key", "email"), ("users_pkey", "id")]))?;
    Ok(())
}

/// The Open311 companion row of a report posted through Open311.
async fn insert_open311_submission<'e>(db: impl sqlx::PgExecutor<'e>, s: &Open311SubmissionRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO open311_submissions (token, report_id, key_id, email, first_name, last_name, phone, \
         device_id, account_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&s.token)
    .bind(s.report.0)
    .bind(s.key)
    .bind(&s.email)
    .bind(&s.first_name)
    .bind(&s.last_name)
    .bind(&s.phone)
    .bind(&s.device_id)
    .bind(&s.account_id)
    .bind(s.created_at)
    .execute(db)
    .await
    .map_err(|e| {
        conflict_on(e, &[("open311_submissions_pkey", "token"), ("open311_submissions_report_key", "report")])
    })?;
    Ok(())
}

#[async_trait]
impl Storage for PgStorage {
    #[instrument(skip_all)]
    async fn migrate(&self) -> Result<()> {
        // sqlx takes an advisory lock while migrating, so replicas starting together are safe.
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    #[instrument(skip_all, fields(category = %c.id))]
    async fn upsert_category(&self, c: &Category) -> Result<()> {
        // `position` comes from its identity on insert and is left alone on update, so the
        // display order stays the order categories were first added.
        sqlx::query(
            "INSERT INTO categories (id, name_ka, name_en, sla_amount, sla_unit, active) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET name_ka = excluded.name_ka, name_en = excluded.name_en, \
             sla_amount = excluded.sla_amount, sla_unit = excluded.sla_unit, active = excluded.active",
        )
        .bind(c.id.as_str())
        .bind(&c.name.ka)
        .bind(&c.name.en)
        .bind(i64::from(c.sla.amount))
        .bind(sla_unit_str(c.sla.unit))
        .bind(c.active)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[instrument(skip_all)]
    async fn categories(&self) -> Result<Vec<Category>> {
        let rows = sqlx::query("SELECT * FROM categories ORDER BY position, id").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let amount: i32 = r.try_get("sla_amount")?;
                Ok(Category {
                    id: slug(r.try_get("id")?, "category")?,
                    name: localized(r, "name_ka", "name_en")?,
                    sla: Sla {
                        amount: u32::try_from(amount).map_err(|_| StorageError::Corrupt(format!("sla {amount}")))?,
                        unit: sla_unit(r.try_get("sla_unit")?)?,
                    },
                    active: r.try_get("active")?,
                })
            })
            .collect()
    }

    #[instrument(skip_all, fields(body = %b.id))]
    async fn upsert_body(&self, b: &Body) -> Result<()> {
        sqlx::query(
            "INSERT INTO bodies (id, kind, name_ka, name_en, district_id, head_email) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name_ka = excluded.name_ka, \
             name_en = excluded.name_en, district_id = excluded.district_id, head_email = excluded.head_email",
        )
        .bind(b.id.as_str())
        .bind(b.kind.as_str())
        .bind(&b.name.ka)
        .bind(&b.name.en)
        .bind(b.district.as_ref().map(|d| d.as_str()))
        .bind(&b.head_email)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[instrument(skip_all)]
    async fn bodies(&self) -> Result<Vec<Body>> {
        let rows = sqlx::query("SELECT * FROM bodies ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let kind: &str = r.try_get("kind")?;
                Ok(Body {
                    id: slug(r.try_get("id")?, "body")?,
                    kind: BodyKind::parse(kind).ok_or_else(|| StorageError::Corrupt(format!("body kind {kind}")))?,
                    name: localized(r, "name_ka", "name_en")?,
                    district: opt_slug(r.try_get("district_id")?, "district")?,
                    head_email: r.try_get("head_email")?,
                })
            })
            .collect()
    }

    #[instrument(skip_all, fields(count = districts.len()))]
    async fn upsert_districts(&self, districts: &[District]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for d in districts {
            // One GeoJSON text feeds both columns: jsonb keeps it for reading back, PostGIS
            // parses it for spatial SQL. ST_Multi because the column holds MultiPolygons only.
            let geojson = d.area.to_geojson().to_string();
            sqlx::query(
                "INSERT INTO districts (id, name_ka, name_en, geojson, geom) \
                 VALUES ($1, $2, $3, $4::jsonb, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($4::text), 4326))) \
                 ON CONFLICT (id) DO UPDATE SET name_ka = excluded.name_ka, name_en = excluded.name_en, \
                 geojson = excluded.geojson, geom = excluded.geom",
            )
            .bind(d.id.as_str())
            .bind(&d.name.ka)
            .bind(&d.name.en)
            .bind(geojson)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[instrument(skip_all)]
    async fn districts(&self) -> Result<Vec<District>> {
        let rows = sqlx::query("SELECT id, name_ka, name_en, geojson FROM districts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let geojson: serde_json::Value = r.try_get("geojson")?;
                Ok(District {
                    id: slug(r.try_get("id")?, "district")?,
                    name: localized(r, "name_ka", "name_en")?,
                    area: MultiPolygon::from_geojson(&geojson).map_err(|e| StorageError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    #[instrument(skip_all, fields(count = rules.len()))]
    async fn replace_routing_rules(&self, rules: &[RoutingRule]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM routing_rules").execute(&mut *tx).await?;
        for rule in rules {
            sqlx::query("INSERT INTO routing_rules (category_id, district_id, body_id) VALUES ($1, $2, $3)")
                .bind(rule.category.as_str())
                .bind(rule.district.as_ref().map(|d| d.as_str()))
                .bind(rule.body.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict_on(e, &[("routing_rules_key", "rules")]))?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[instrument(skip_all)]
    async fn routing_rules(&self) -> Result<Vec<RoutingRule>> {
        // NULLS FIRST: the citywide rule of a category first, as SQLite orders NULL.
        let rows = sqlx::query("SELECT * FROM routing_rules ORDER BY category_id, district_id NULLS FIRST")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RoutingRule {
                    category: slug(r.try_get("category_id")?, "category")?,
                    district: opt_slug(r.try_get("district_id")?, "district")?,
                    body: slug(r.try_get("body_id")?, "body")?,
                })
            })
            .collect()
    }

    #[instrument(skip_all, fields(template = %t.id))]
    async fn upsert_template(&self, t: &ResponseTemplate) -> Result<()> {
        sqlx::query(
            "INSERT INTO response_templates (id, category_id, title_ka, title_en, body_ka, body_en) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET category_id = excluded.category_id, \
             title_ka = excluded.title_ka, title_en = excluded.title_en, body_ka = excluded.body_ka, \
             body_en = excluded.body_en",
        )
        .bind(&t.id)
        .bind(t.category.as_str())
        .bind(&t.title.ka)
        .bind(&t.title.en)
        .bind(&t.body.ka)
        .bind(&t.body.en)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[instrument(skip_all)]
    async fn templates(&self, category: Option<&CategoryId>) -> Result<Vec<ResponseTemplate>> {
        let rows =
            sqlx::query("SELECT * FROM response_templates WHERE $1::text IS NULL OR category_id = $1 ORDER BY id")
                .bind(category.map(|c| c.as_str()))
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(ResponseTemplate {
                    id: r.try_get("id")?,
                    category: slug(r.try_get("category_id")?, "category")?,
                    title: localized(r, "title_ka", "title_en")?,
                    body: localized(r, "body_ka", "body_en")?,
                })
            })
            .collect()
    }

    #[instrument(skip_all, fields(user = %u.id))]
    async fn create_user(&self, u: &UserRecord) -> Result<()> {
        insert_user(&self.pool, u).await
    }

    #[instrument(skip_all)]
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query("SELECT * FROM users WHERE email = $1").bind(email).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_row).transpose()
    }

    #[instrument(skip_all, fields(user = %id))]
    async fn user(&self, id: UserId) -> Result<Option<UserRecord>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1").bind(id.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_row).transpose()
    }

    #[instrument(skip_all)]
    async fn crews(&self, body: Option<&BodyId>) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM users WHERE role = 'field_crew' AND ($1::text IS NULL OR body_id = $1) \
             ORDER BY display_name",
        )
        .bind(body.map(|b| b.as_str()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_row).collect()
    }

    #[instrument(skip_all, fields(user = %user))]
    async fn create_session(&self, token_sha256: &str, user: UserId, expires_at: DateTime<Utc>) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_sha256, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_sha256)
            .bind(user.0)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[instrument(skip_all)]
    async fn session_user(&self, token_sha256: &str, now: DateTime<Utc>) -> Result<Option<UserRecord>> {
        // `now` is the injected clock, not the database's, so tests can move time.
        let row = sqlx::query(
            "SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_sha256 = $1 AND s.expires_at > $2",
        )
        .bind(token_sha256)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_row).transpose()
    }

    #[instrument(skip_all)]
    async fn delete_session(&self, token_sha256: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1").bind(token_sha256).execute(&self.pool).await?;
        Ok(())
    }

    #[instrument(skip_all, fields(report = %new.report.id))]
    async fn insert_report(&self, new: &NewReport) -> Result<ReportRecord> {
        let r = &new.report;
        let mut tx = self.pool.begin().await?;
        let number: i64 = sqlx::query_scalar(
            "INSERT INTO reports (id, category_id, district_id, body_id, status, lat, lon, description, address, \
             reporter_id, hide_reporter_name, crew_id, duplicate_of, created_at, routed_at, deadline, closed_at, \
             overdue_at, updated_at, version, payload_sha256, hidden) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 1, $20, $21) \
             RETURNING number",
        )
        .bind(r.id.0)
        .bind(r.category.as_str())
        .bind(r.district.as_str())
        .bind(r.body.as_ref().map(|b| b.as_str()))
        .bind(r.status.as_str())
        .bind(r.lat)
        .bind(r.lon)
        .bind(&r.description)
        .bind(&r.address)
        .bind(r.reporter.0)
        .bind(r.hide_reporter_name)
        .bind(r.crew.map(|c| c.0))
        .bind(r.duplicate_of.map(|d| d.0))
        .bind(r.created_at)
        .bind(r.routed_at)
        .bind(r.deadline)
        .bind(r.closed_at)
        .bind(r.overdue_at)
        .bind(r.updated_at)
        .bind(&r.payload_sha256)
        .bind(r.hidden)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict_on(e, &[("reports_pkey", "id")]))?;
        insert_photos(&mut tx, r.id, &new.photos).await?;
        for e in &new.events {
            insert_event(&mut tx, r.id, e).await?;
        }
        if let Some(submission) = &new.open311 {
            insert_open311_submission(&mut *tx, submission).await?;
        }
        super::postgres_sync::insert_sync_effects(&mut tx, r.id, &new.sync).await?;
        tx.commit().await?;
        Ok(ReportRecord { number, version: 1, ..r.clone() })
    }

    #[instrument(skip_all, fields(report = %id))]
    async fn report(&self, id: ReportId) -> Result<Option<ReportRecord>> {
        let row = sqlx::query(concat!("SELECT ", report_columns!(), " FROM reports r WHERE r.id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(report_row).transpose()
    }

    #[instrument(skip_all, fields(report = %id))]
    async fn report_photos(&self, id: ReportId) -> Result<Vec<PhotoRecord>> {
        let rows = sqlx::query("SELECT * FROM report_photos WHERE report_id = $1 ORDER BY position")
            .bind(id.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PhotoRecord {
                    kind: PhotoKind::parse(r.try_get("kind")?)?,
                    sha256: r.try_get("sha256")?,
                    width: pixels(r, "width")?,
                    height: pixels(r, "height")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    #[instrument(skip_all, fields(report = %id))]
    async fn report_events(&self, id: ReportId) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query("SELECT * FROM report_events WHERE report_id = $1 ORDER BY seq")
            .bind(id.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_row).collect()
    }

    #[instrument(skip_all, fields(report = %change.report.id, version = change.report.version))]
    async fn apply_change(&self, change: &ReportChange) -> Result<ReportRecord> {
        let r = &change.report;
        let mut tx = self.pool.begin().await?;
        // The version guard and the row lock in one statement: a concurrent change to the same
        // report blocks here until this transaction ends, then matches no row.
        let updated = sqlx::query(
            "UPDATE reports SET body_id = $1, status = $2, crew_id = $3, duplicate_of = $4, routed_at = $5, \
             deadline = $6, closed_at = $7, overdue_at = $8, updated_at = $9, hidden = $10, version = version + 1 \
             WHERE id = $11 AND version = $12",
        )
        .bind(r.body.as_ref().map(|b| b.as_str()))
        .bind(r.status.as_str())
        .bind(r.crew.map(|c| c.0))
        .bind(r.duplicate_of.map(|d| d.0))
        .bind(r.routed_at)
        .bind(r.deadline)
        .bind(r.closed_at)
        .bind(r.overdue_at)
        .bind(r.updated_at)
        .bind(r.hidden)
        .bind(r.id.0)
        .bind(r.version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            // Dropping `tx` rolls back; nothing of the change is stored.
            return Err(StorageError::Stale);
        }
        insert_event(&mut tx, r.id, &change.event).await?;
        insert_photos(&mut tx, r.id, &change.photos).await?;
        insert_notifications(&mut tx, &change.notifications).await?;
        super::postgres_sync::insert_sync_effects(&mut tx, r.id, &change.sync).await?;
        tx.commit().await?;
        Ok(ReportRecord { version: r.version + 1, ..r.clone() })
    }

    #[instrument(skip_all)]
    async fn query_reports(&self, q: &ReportQuery) -> Result<Vec<ReportRecord>> {
        let mut b = QueryBuilder::<Postgres>::new(concat!("SELECT ", report_columns!(), " FROM reports r"));
        push_filters(&mut b, q);
        if q.order_by_deadline {
            b.push(" ORDER BY r.deadline ASC NULLS LAST, r.number");
        } else {
            b.push(" ORDER BY r.number DESC");
        }
        b.push(" LIMIT ").push_bind(i64::from(q.limit));
        // Saturating: an offset past i64::MAX skips everything either way.
        b.push(" OFFSET ").push_bind(i64::try_from(q.offset).unwrap_or(i64::MAX));
        let rows = b.build().fetch_all(&self.pool).await?;
        rows.iter().map(report_row).collect()
    }

    #[instrument(skip_all)]
    async fn count_reports(&self, q: &ReportQuery) -> Result<u64> {
        let mut b = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM reports r");
        push_filters(&mut b, q);
        let n: i64 = b.build_query_scalar().fetch_one(&self.pool).await?;
        Ok(n as u64)
    }

    #[instrument(skip_all)]
    async fn cluster_reports(&self, q: &ReportQuery, cell_deg: f64) -> Result<Vec<Cluster>> {
        let mut b =
            QueryBuilder::<Postgres>::new("SELECT AVG(r.lat) AS lat, AVG(r.lon) AS lon, COUNT(*) AS n FROM reports r");
        push_filters(&mut b, q);
        b.push(" GROUP BY floor(r.lat / ").push_bind(cell_deg).push("), floor(r.lon / ").push_bind(cell_deg).push(")");
        let rows = b.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(Cluster { lat: r.try_get("lat")?, lon: r.try_get("lon")?, count: r.try_get::<i64, _>("n")? as u64 })
            })
            .collect()
    }

    #[instrument(skip_all)]
    async fn overdue_candidates(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<ReportRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            report_columns!(),
            " FROM reports r WHERE r.overdue_at IS NULL AND r.status IN ",
            open_statuses_sql!(),
            " AND r.deadline < $1 ORDER BY r.deadline LIMIT $2"
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(report_row).collect()
    }

    #[instrument(skip_all)]
    async fn stats_rows(&self) -> Result<Vec<StatsRow>> {
        let rows = sqlx::query(
            "SELECT body_id, category_id, status, created_at, deadline, closed_at FROM reports \
             WHERE body_id IS NOT NULL AND NOT hidden",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StatsRow {
                    body: slug(r.try_get("body_id")?, "body")?,
                    category: slug(r.try_get("category_id")?, "category")?,
                    status: status(r.try_get("status")?)?,
                    created_at: r.try_get("created_at")?,
                    deadline: r.try_get("deadline")?,
                    closed_at: r.try_get("closed_at")?,
                })
            })
            .collect()
    }

    #[instrument(skip_all)]
    async fn pending_notifications(&self) -> Result<Vec<Notification>> {
        let rows =
            sqlx::query("SELECT * FROM notifications WHERE sent_at IS NULL ORDER BY seq").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(Notification {
                    kind: r.try_get("kind")?,
                    recipient: r.try_get("recipient")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    report: r.try_get::<Option<Uuid>, _>("report_id")?.map(ReportId),
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    #[instrument(skip_all, fields(key = %key.id))]
    async fn create_open311_key(&self, key: &Open311KeyRecord, u: &UserRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_user(&mut *tx, u).await?;
        sqlx::query(
            "INSERT INTO open311_api_keys (id, key_sha256, app_name, contact_email, account_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(key.id)
        .bind(&key.key_sha256)
        .bind(&key.app_name)
        .bind(&key.contact_email)
        .bind(key.account.0)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_on(e, &[("open311_api_keys_key_sha256_key", "api_key"), ("open311_api_keys_pkey", "id")])
        })?;
        tx.commit().await?;
        Ok(())
    }

    #[instrument(skip_all)]
    async fn open311_keys(&self) -> Result<Vec<Open311KeyRecord>> {
        let rows = sqlx::query("SELECT * FROM open311_api_keys ORDER BY created_at, id").fetch_all(&self.pool).await?;
        rows.iter().map(open311_key_row).collect()
    }

    #[instrument(skip_all)]
    async fn open311_key(&self, key_sha256: &str) -> Result<Option<Open311KeyRecord>> {
        let row = sqlx::query("SELECT * FROM open311_api_keys WHERE key_sha256 = $1")
            .bind(key_sha256)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(open311_key_row).transpose()
    }

    #[instrument(skip_all)]
    async fn open311_submission(&self, token: &str) -> Result<Option<Open311SubmissionRecord>> {
        let row = sqlx::query("SELECT * FROM open311_submissions WHERE token = $1")
            .bind(token)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Open311SubmissionRecord {
                token: r.try_get("token")?,
                report: ReportId(r.try_get("report_id")?),
                key: r.try_get("key_id")?,
                email: r.try_get("email")?,
                first_name: r.try_get("first_name")?,
                last_name: r.try_get("last_name")?,
                phone: r.try_get("phone")?,
                device_id: r.try_get("device_id")?,
                account_id: r.try_get("account_id")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    #[instrument(skip_all, fields(number))]
    async fn report_by_number(&self, number: i64) -> Result<Option<ReportRecord>> {
        let row = sqlx::query(concat!("SELECT ", report_columns!(), " FROM reports r WHERE r.number = $1"))
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(report_row).transpose()
    }

    #[instrument(skip_all)]
    async fn query_reports_changed(
        &self,
        q: &ReportQuery,
        changed_after: Option<DateTime<Utc>>,
        changed_before: Option<DateTime<Utc>>,
    ) -> Result<Vec<ReportRecord>> {
        let mut b = QueryBuilder::<Postgres>::new(concat!("SELECT ", report_columns!(), " FROM reports r"));
        push_filters(&mut b, q);
        if let Some(after) = changed_after {
            b.push(" AND r.updated_at > ").push_bind(after);
        }
        if let Some(before) = changed_before {
            b.push(" AND r.updated_at < ").push_bind(before);
        }
        if q.order_by_deadline {
            b.push(" ORDER BY r.deadline ASC NULLS LAST, r.number");
        } else {
            b.push(" ORDER BY r.number DESC");
        }
        b.push(" LIMIT ").push_bind(i64::from(q.limit));
        b.push(" OFFSET ").push_bind(i64::try_from(q.offset).unwrap_or(i64::MAX));
        let rows = b.build().fetch_all(&self.pool).await?;
        rows.iter().map(report_row).collect()
    }

    #[instrument(skip_all, fields(reports = ids.len()))]
    async fn events_of_reports(&self, ids: &[ReportId]) -> Result<Vec<(ReportId, EventRecord)>> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
        let rows = sqlx::query("SELECT * FROM report_events WHERE report_id = ANY($1) ORDER BY report_id, seq")
            .bind(ids)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((ReportId(r.try_get("report_id")?), event_row(r)?))).collect()
    }

    #[instrument(skip_all, fields(reports = ids.len()))]
    async fn photos_of_reports(&self, ids: &[ReportId]) -> Result<Vec<(ReportId, PhotoRecord)>> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
        let rows = sqlx::query("SELECT * FROM report_photos WHERE report_id = ANY($1) ORDER BY report_id, position")
            .bind(ids)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let photo = PhotoRecord {
                    kind: PhotoKind::parse(r.try_get("kind")?)?,
                    sha256: r.try_get("sha256")?,
                    width: pixels(r, "width")?,
                    height: pixels(r, "height")?,
                    created_at: r.try_get("created_at")?,
                };
                Ok((ReportId(r.try_get("report_id")?), photo))
            })
            .collect()
    }

    #[instrument(skip_all)]
    async fn events_between(&self, w: &EventWindow) -> Result<Vec<TimelineEntry>> {
        let mut b = QueryBuilder::<Postgres>::new(
            "SELECT e.*, r.number FROM report_events e JOIN reports r ON r.id = e.report_id WHERE true",
        );
        if let Some(from) = w.from {
            b.push(" AND e.at >= ").push_bind(from);
        }
        if let Some(to) = w.to {
            b.push(" AND e.at < ").push_bind(to);
        }
        if w.public_only {
            b.push(" AND NOT r.hidden");
        }
        if !w.skip_actions.is_empty() {
            b.push(" AND NOT (e.action = ANY(").push_bind(w.skip_actions.clone()).push("))");
        }
        b.push(" ORDER BY e.at, e.seq LIMIT ").push_bind(i64::from(w.limit));
        b.push(" OFFSET ").push_bind(i64::try_from(w.offset).unwrap_or(i64::MAX));
        let rows = b.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(TimelineEntry {
                    seq: r.try_get("seq")?,
                    report: ReportId(r.try_get("report_id")?),
                    number: r.try_get("number")?,
                    event: event_row(r)?,
                })
            })
            .collect()
    }

    #[instrument(skip_all)]
    async fn sla_overrides(&self) -> Result<Vec<SlaRule>> {
        let rows =
            sqlx::query("SELECT * FROM sla_overrides ORDER BY category_id, body_id").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let amount: i32 = r.try_get("sla_amount")?;
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

    #[instrument(skip_all, fields(category = %rule.category, body = %rule.body))]
    async fn upsert_sla_override(&self, rule: &SlaRule) -> Result<()> {
        sqlx::query(
            "INSERT INTO sla_overrides (category_id, body_id, sla_amount, sla_unit) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (category_id, body_id) DO UPDATE SET sla_amount = excluded.sla_amount, \
             sla_unit = excluded.sla_unit",
        )
        .bind(rule.category.as_str())
        .bind(rule.body.as_str())
        .bind(i64::from(rule.sla.amount))
        .bind(sla_unit_str(rule.sla.unit))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[instrument(skip_all, fields(category = %category, body = %body))]
    async fn delete_sla_override(&self, category: &CategoryId, body: &BodyId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sla_overrides WHERE category_id = $1 AND body_id = $2")
            .bind(category.as_str())
            .bind(body.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn open311_key_row(r: &PgRow) -> Result<Open311KeyRecord> {
    Ok(Open311KeyRecord {
        id: r.try_get("id")?,
        key_sha256: r.try_get("key_sha256")?,
        app_name: r.try_get("app_name")?,
        contact_email: r.try_get("contact_email")?,
        account: UserId(r.try_get("account_id")?),
        created_at: r.try_get("created_at")?,
    })
}

/// A `report_events` row (of any query selecting its columns).
fn event_row(r: &PgRow) -> Result<EventRecord> {
    Ok(EventRecord {
        at: r.try_get("at")?,
        actor: r.try_get::<Option<Uuid>, _>("actor_id")?.map(UserId),
        actor_role: r.try_get::<Option<&str>, _>("actor_role")?.map(role).transpose()?,
        action: r.try_get("action")?,
        from_status: r.try_get::<Option<&str>, _>("from_status")?.map(status).transpose()?,
        to_status: status(r.try_get("to_status")?)?,
        public_note: r.try_get("public_note")?,
        internal_note: r.try_get("internal_note")?,
        data: r.try_get("data")?,
    })
}
