//! Storage conformance: one set of scenarios that every [`Storage`] backend must pass.
//!
//! Each scenario runs twice, as `sqlite::<name>` and `postgres::<name>`:
//! - SQLite always, on a fresh database file in a temporary directory;
//! - PostgreSQL when `SMARTMAP_TEST_POSTGRES_URL` names a server (any database on it, e.g.
//!   `postgres://smartmap:smartmap@127.0.0.1:5432/postgres`). Each test creates its own database
//!   `smartmap_t_<random>` there, migrates it, and drops it afterwards, so tests run in parallel
//!   without seeing each other's rows. The role needs CREATEDB (and superuser for the PostGIS
//!   extension). Without the variable the PostgreSQL half passes with a "skipped" line on stderr
//!   (`--nocapture` shows it); with `SMARTMAP_REQUIRE_POSTGRES=1` it fails instead, which is how
//!   CI makes sure the second backend really ran.
//!
//! Times are whole seconds: SQLite keeps milliseconds and PostgreSQL microseconds, so both give
//! back exactly what they were given.

use chrono::{DateTime, Duration, Utc};
use futures::FutureExt;
use serde_json::json;
use smartmap_server::storage::{
    AppliedMutationRecord, AttachOutcome, EventRecord, ExpectedPhotoRecord, NewReport, Notification, PgStorage,
    PhotoKind, PhotoRecord, ReportChange, ReportQuery, ReportRecord, ResponseTemplate, SqliteStorage,
    StagedPhotoRecord, StatsRow, Storage, StorageError, StoredOutcome, SyncEffects, UserRecord,
};
use smartmap_shared::body::{Body, BodyKind};
use smartmap_shared::category::{Category, first_stage_categories};
use smartmap_shared::district::{District, DistrictMap, demo_districts};
use smartmap_shared::geo::{BBox, LatLon, MultiPolygon};
use smartmap_shared::i18n::Localized;
use smartmap_shared::ids::{BodyId, CategoryId, DistrictId, ReportId, UserId};
use smartmap_shared::report::ReportStatus;
use smartmap_shared::role::Role;
use smartmap_shared::routing::{RoutingRule, default_routing_rules};
use smartmap_shared::sla::{Sla, SlaRule, SlaUnit};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Running a scenario on each backend.

/// Generates `sqlite::<scenario>` and `postgres::<scenario>` tests for each scenario function.
macro_rules! conformance {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    crate::on_sqlite(crate::$scenario).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    crate::on_postgres(crate::$scenario).await;
                }
            )*
        }
    };
}

conformance!(
    categories_keep_insertion_order_and_update_in_place,
    bodies_round_trip,
    districts_round_trip_their_polygons,
    routing_rules_are_replaced_as_a_whole,
    templates_filter_by_category,
    accounts_are_unique_by_email,
    crews_filter_by_body,
    sessions_expire,
    a_report_is_stored_with_its_photos_and_events,
    a_report_id_is_taken_once,
    a_change_bumps_the_version_and_adds_proof,
    a_stale_change_stores_nothing,
    of_two_simultaneous_changes_one_wins,
    a_change_queues_its_notifications,
    query_by_bbox_includes_edges,
    query_by_category_and_status,
    query_by_date_range,
    query_by_district_body_crew_and_reporter,
    query_overdue_and_public,
    query_pages_in_both_orders,
    clusters_add_up_to_the_count,
    overdue_candidates_are_open_unflagged_and_past_deadline,
    stats_rows_cover_routed_public_reports,
    sla_overrides_are_set_replaced_and_removed,
    sla_overrides_name_a_known_category_and_body_and_a_real_deadline,
    the_epoch_is_made_at_migration_and_replaced_on_demand,
    the_change_log_follows_a_report_to_its_audience,
    a_mutation_id_is_stored_once_with_its_outcome,
    promised_photos_arrive_once_or_wait_staged,
    following_puts_a_report_in_the_followers_feed,
);

/// Runs `scenario` on a fresh SQLite database.
async fn on_sqlite<F, Fut>(scenario: F)
where
    F: FnOnce(Arc<dyn Storage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("smartmap.db").display());
    let storage = SqliteStorage::connect(&url).await.expect("open SQLite");
    storage.migrate().await.expect("migrate SQLite");
    scenario(Arc::new(storage)).await;
    // `dir` is removed here, after the scenario has finished with the file.
}

/// Runs `scenario` on a fresh PostgreSQL database, or skips (see the module docs).
async fn on_postgres<F, Fut>(scenario: F)
where
    F: FnOnce(Arc<dyn Storage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Ok(admin_url) = std::env::var("SMARTMAP_TEST_POSTGRES_URL") else {
        if std::env::var("SMARTMAP_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("SMARTMAP_REQUIRE_POSTGRES=1 but SMARTMAP_TEST_POSTGRES_URL is not set");
        }
        eprintln!("skipped: SMARTMAP_TEST_POSTGRES_URL not set");
        return;
    };
    let database = format!("smartmap_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url).await.expect("connect to SMARTMAP_TEST_POSTGRES_URL");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");

    let options = PgConnectOptions::from_str(&admin_url).expect("a PostgreSQL URL").database(&database);
    let storage = PgStorage::connect_with(options).await.expect("connect to the test database");
    storage.migrate().await.expect("migrate PostgreSQL");
    // Caught so the database is dropped even when an assertion fails; re-raised below.
    let outcome = AssertUnwindSafe(scenario(Arc::new(storage.clone()))).catch_unwind().await;

    storage.pool().close().await;
    // Best effort: a leftover database is litter, not a failure. FORCE ends stray sessions.
    let dropped = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")))
        .execute(&mut admin)
        .await;
    if let Err(e) = dropped {
        eprintln!("could not drop test database {database}: {e}");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

// ---------------------------------------------------------------------------------------------
// Test data.

/// A fixed instant plus `hours`; whole seconds, see the module docs.
fn at(hours: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_741_000_000, 0).expect("a valid instant") + Duration::hours(hours)
}

fn category(s: &str) -> CategoryId {
    CategoryId::parse(s).unwrap()
}

fn body_id(s: &str) -> BodyId {
    BodyId::parse(s).unwrap()
}

fn district_id(s: &str) -> DistrictId {
    DistrictId::parse(s).unwrap()
}

/// The bodies the default routing rules name, plus two district administrations.
fn bodies() -> Vec<Body> {
    let body = |id: &str, kind, en: &str, district: Option<&str>| Body {
        id: body_id(id),
        kind,
        name: Localized::new(format!("{en} (ka)"), en),
        district: district.map(district_id),
        head_email: Some(format!("head@{id}.example")),
    };
    vec![
        body("city-hall-environment", BodyKind::Service, "Environmental Protection Service", None),
        body("city-hall-infrastructure", BodyKind::Service, "Infrastructure Development Service", None),
        body("gamgeoba-gldani", BodyKind::DistrictAdministration, "Gldani Administration", Some("gldani")),
        body("gamgeoba-vake", BodyKind::DistrictAdministration, "Vake Administration", Some("vake")),
        body("tbilservice", BodyKind::Company, "Tbilservice Group", None),
    ]
}

fn user(email: &str, name: &str, role: Role, body: Option<&str>) -> UserRecord {
    UserRecord {
        id: UserId::new_v7(),
        email: email.to_owned(),
        display_name: name.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        role,
        district: None,
        body: body.map(body_id),
        created_at: at(-100),
    }
}

/// Reference data and accounts every report scenario needs.
struct World {
    districts: DistrictMap,
    /// Residents.
    nino: UserRecord,
    giorgi: UserRecord,
    /// Field crews: one of Tbilservice, one of the Infrastructure service.
    crew_tbilservice: UserRecord,
    crew_lighting: UserRecord,
}

impl World {
    async fn seed(s: &dyn Storage) -> World {
        for c in first_stage_categories() {
            s.upsert_category(&c).await.unwrap();
        }
        s.upsert_districts(&demo_districts()).await.unwrap();
        for b in bodies() {
            s.upsert_body(&b).await.unwrap();
        }
        s.replace_routing_rules(&default_routing_rules()).await.unwrap();
        let world = World {
            districts: DistrictMap::new(demo_districts()),
            nino: user("nino@example.ge", "Nino", Role::Resident, None),
            giorgi: user("giorgi@example.ge", "Giorgi", Role::Resident, None),
            crew_tbilservice: user("crew1@tbilservice.example", "Crew One", Role::FieldCrew, Some("tbilservice")),
            crew_lighting: user("crew2@infra.example", "Crew Two", Role::FieldCrew, Some("city-hall-infrastructure")),
        };
        for u in [&world.nino, &world.giorgi, &world.crew_tbilservice, &world.crew_lighting] {
            s.create_user(u).await.unwrap();
        }
        world
    }

    /// A report by `reporter` at a point, routed nowhere yet; scenarios adjust the rest.
    fn report(&self, reporter: &UserRecord, cat: &str, lat: f64, lon: f64, created_at: DateTime<Utc>) -> ReportRecord {
        let district = self.districts.locate(LatLon::new(lat, lon).unwrap()).expect("a point in Tbilisi");
        ReportRecord {
            id: ReportId::new_v7(),
            number: 0,
            category: category(cat),
            district: district.id.clone(),
            body: None,
            status: ReportStatus::Submitted,
            lat,
            lon,
            description: format!("{cat} problem"),
            address: Some("1 Rustaveli Ave".to_owned()),
            reporter: reporter.id,
            hide_reporter_name: false,
            crew: None,
            duplicate_of: None,
            created_at,
            routed_at: None,
            deadline: None,
            closed_at: None,
            overdue_at: None,
            updated_at: created_at,
            version: 0,
            payload_sha256: "ab".repeat(32),
            hidden: false,
        }
    }
}

/// `report` routed to `body` with a deadline `sla_hours` after it was received.
fn routed(mut r: ReportRecord, body: &str, status: ReportStatus, sla_hours: i64) -> ReportRecord {
    r.body = Some(body_id(body));
    r.status = status;
    r.routed_at = Some(r.created_at);
    r.deadline = Some(r.created_at + Duration::hours(sla_hours));
    r
}

fn photo(kind: PhotoKind, n: u8, created_at: DateTime<Utc>) -> PhotoRecord {
    PhotoRecord { kind, sha256: format!("{n:02x}").repeat(32), width: 1600, height: 1200, created_at }
}

fn submitted_event(r: &ReportRecord) -> EventRecord {
    EventRecord {
        at: r.created_at,
        actor: Some(r.reporter),
        actor_role: Some(Role::Resident),
        action: "submit".to_owned(),
        from_status: None,
        to_status: ReportStatus::Submitted,
        public_note: None,
        internal_note: None,
        data: json!({}),
    }
}

fn routed_event(r: &ReportRecord) -> EventRecord {
    EventRecord {
        at: r.created_at,
        actor: None,
        actor_role: None,
        action: "route".to_owned(),
        from_status: Some(ReportStatus::Submitted),
        to_status: ReportStatus::Routed,
        public_note: Some("Sent to the responsible service".to_owned()),
        internal_note: Some("matched a category-wide rule".to_owned()),
        data: json!({ "body": r.body.as_ref().map(|b| b.as_str()), "rule": { "match": "category_wide", "rank": 2 }, "weight": 0.5 }),
    }
}

async fn insert(s: &dyn Storage, r: ReportRecord) -> ReportRecord {
    let events = vec![submitted_event(&r)];
    s.insert_report(&NewReport { report: r, photos: vec![], events, open311: None, sync: SyncEffects::default() })
        .await
        .unwrap()
}

/// Records compared field by field (`PartialEq`, which unlike `Debug` includes the password hash).
fn same<T: PartialEq + ?Sized>(a: &T, b: &T) -> bool {
    a == b
}

fn assert_same<T: std::fmt::Debug + PartialEq + ?Sized>(actual: &T, expected: &T) {
    assert!(same(actual, expected), "\nactual:   {actual:#?}\nexpected: {expected:#?}");
}

/// Six reports across the city, each exercising one corner of the filters. `now` for overdue
/// questions is `at(48)`.
///
/// | label | where     | category        | body                     | status       | crew      | notes |
/// |-------|-----------|-----------------|--------------------------|--------------|-----------|-------|
/// | A     | Gldani    | street-lighting | city-hall-infrastructure | routed       |           | deadline at(72) |
/// | B     | Vake      | cleaning        | tbilservice              | in_progress  | tbilserv. | flagged overdue, giorgi |
/// | C     | Isani     | trees-greenery  | city-hall-environment    | fixed        |           | flagged, then closed |
/// | D     | Saburtalo | park-benches    | —                        | submitted    |           | no deadline, giorgi |
/// | E     | Gldani    | cleaning        | tbilservice              | acknowledged | tbilserv. | hidden, deadline at(16) |
/// | F     | Vake      | street-lighting | city-hall-infrastructure | reopened     | lighting  | deadline at(6) |
struct Dataset {
    world: World,
    labels: HashMap<ReportId, &'static str>,
}

impl Dataset {
    async fn seed(s: &dyn Storage) -> Dataset {
        let w = World::seed(s).await;
        let a = routed(
            w.report(&w.nino, "street-lighting", 41.8027, 44.8291, at(0)),
            "city-hall-infrastructure",
            ReportStatus::Routed,
            72,
        );
        let mut b = routed(
            w.report(&w.giorgi, "cleaning", 41.7018, 44.7197, at(1)),
            "tbilservice",
            ReportStatus::InProgress,
            24,
        );
        b.crew = Some(w.crew_tbilservice.id);
        b.overdue_at = Some(at(25));
        let mut c = routed(
            w.report(&w.nino, "trees-greenery", 41.6906, 44.8451, at(2)),
            "city-hall-environment",
            ReportStatus::Fixed,
            240,
        );
        c.overdue_at = Some(at(30));
        c.closed_at = Some(at(40));
        let d = w.report(&w.giorgi, "park-benches", 41.7656, 44.7444, at(3));
        let mut e = routed(
            w.report(&w.nino, "cleaning", 41.8100, 44.8400, at(4)),
            "tbilservice",
            ReportStatus::Acknowledged,
            12,
        );
        e.crew = Some(w.crew_tbilservice.id);
        e.hidden = true;
        let mut f = routed(
            w.report(&w.nino, "street-lighting", 41.7100, 44.7300, at(5)),
            "city-hall-infrastructure",
            ReportStatus::Reopened,
            1,
        );
        f.crew = Some(w.crew_lighting.id);
        let mut labels = HashMap::new();
        for (label, r) in [("A", a), ("B", b), ("C", c), ("D", d), ("E", e), ("F", f)] {
            let stored = insert(s, r).await;
            labels.insert(stored.id, label);
        }
        Dataset { world: w, labels }
    }

    /// The labels of `reports`, in the order given.
    fn labels(&self, reports: &[ReportRecord]) -> Vec<&'static str> {
        reports.iter().map(|r| self.labels[&r.id]).collect()
    }

    /// The labels of the reports matching the query that `set` describes (a sorted set,
    /// ignoring the result's order), after checking that `count_reports` agrees.
    async fn matching(&self, s: &dyn Storage, set: impl FnOnce(&mut ReportQuery)) -> Vec<&'static str> {
        let q = query(set);
        let found = s.query_reports(&q).await.unwrap();
        let count = s.count_reports(&q).await.unwrap();
        assert_eq!(count, found.len() as u64, "count_reports agrees with query_reports");
        let mut labels = self.labels(&found);
        labels.sort_unstable();
        labels
    }
}

/// A query for up to 100 reports with what `set` adds.
fn query(set: impl FnOnce(&mut ReportQuery)) -> ReportQuery {
    let mut q = ReportQuery { limit: 100, ..Default::default() };
    set(&mut q);
    q
}

/// A box from its west, south, east and north edges.
fn bbox(west: f64, south: f64, east: f64, north: f64) -> Option<BBox> {
    Some(BBox::new(west, south, east, north).unwrap())
}

// ---------------------------------------------------------------------------------------------
// Reference data.

async fn categories_keep_insertion_order_and_update_in_place(s: Arc<dyn Storage>) {
    // Inserted in an order that is not alphabetical, so "insertion order" is observable.
    let mut cats = first_stage_categories();
    cats.reverse();
    for c in &cats {
        s.upsert_category(c).await.unwrap();
    }
    assert_eq!(s.categories().await.unwrap(), cats);

    // Updating the first one changes it where it stands.
    cats[0] = Category { name: Localized::new("ახალი", "Renamed"), active: false, ..cats[0].clone() };
    s.upsert_category(&cats[0]).await.unwrap();
    assert_eq!(s.categories().await.unwrap(), cats);
}

async fn bodies_round_trip(s: Arc<dyn Storage>) {
    s.upsert_districts(&demo_districts()).await.unwrap();
    let mut expected = bodies();
    for b in expected.iter().rev() {
        s.upsert_body(b).await.unwrap();
    }
    // Listed by id, whatever the insertion order.
    assert_eq!(s.bodies().await.unwrap(), expected);

    expected[4].head_email = None;
    expected[4].name = Localized::new("თბილსერვისი", "Tbilservice");
    s.upsert_body(&expected[4]).await.unwrap();
    assert_eq!(s.bodies().await.unwrap(), expected);
}

async fn districts_round_trip_their_polygons(s: Arc<dyn Storage>) {
    let demo = demo_districts();
    s.upsert_districts(&demo).await.unwrap();
    assert_eq!(s.districts().await.unwrap(), demo, "demo districts come back as given, by id");

    // A GeoJSON Polygon (not Multi) with a hole replaces a district by id.
    let square = MultiPolygon::from_geojson(&json!({
        "type": "Polygon",
        "coordinates": [
            [[44.70, 41.70], [44.80, 41.70], [44.80, 41.80], [44.70, 41.80], [44.70, 41.70]],
            [[44.74, 41.74], [44.74, 41.76], [44.76, 41.76], [44.76, 41.74], [44.74, 41.74]]
        ]
    }))
    .unwrap();
    let vake =
        District { id: district_id("vake"), name: Localized::new("ვაკე", "Vake (square)"), area: square };
    s.upsert_districts(std::slice::from_ref(&vake)).await.unwrap();
    let stored = s.districts().await.unwrap();
    assert_eq!(stored.len(), demo.len());
    assert_eq!(stored.iter().find(|d| d.id == vake.id), Some(&vake));
}

async fn routing_rules_are_replaced_as_a_whole(s: Arc<dyn Storage>) {
    for c in first_stage_categories() {
        s.upsert_category(&c).await.unwrap();
    }
    s.upsert_districts(&demo_districts()).await.unwrap();
    for b in bodies() {
        s.upsert_body(&b).await.unwrap();
    }
    let rule = |cat: &str, district: Option<&str>, body: &str| RoutingRule {
        category: category(cat),
        district: district.map(district_id),
        body: body_id(body),
    };
    let mut rules = default_routing_rules();
    rules.push(rule("park-benches", Some("vake"), "gamgeoba-vake"));
    rules.push(rule("park-benches", Some("gldani"), "gamgeoba-gldani"));
    rules.push(rule("cleaning", Some("vake"), "gamgeoba-vake"));
    s.replace_routing_rules(&rules).await.unwrap();
    // By category, the category-wide rule (no district) before district rules.
    let expected = vec![
        rule("cleaning", None, "tbilservice"),
        rule("cleaning", Some("vake"), "gamgeoba-vake"),
        rule("park-benches", Some("gldani"), "gamgeoba-gldani"),
        rule("park-benches", Some("vake"), "gamgeoba-vake"),
        rule("street-lighting", None, "city-hall-infrastructure"),
        rule("trees-greenery", None, "city-hall-environment"),
    ];
    assert_eq!(s.routing_rules().await.unwrap(), expected);

    // Two category-wide rules for one category clash, and the old table survives intact.
    let clashing = vec![rule("cleaning", None, "tbilservice"), rule("cleaning", None, "gamgeoba-vake")];
    let err = s.replace_routing_rules(&clashing).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { field: "rules" }), "{err:?}");
    assert_eq!(s.routing_rules().await.unwrap(), expected);

    let fewer = vec![rule("cleaning", None, "tbilservice")];
    s.replace_routing_rules(&fewer).await.unwrap();
    assert_eq!(s.routing_rules().await.unwrap(), fewer);
}

async fn templates_filter_by_category(s: Arc<dyn Storage>) {
    for c in first_stage_categories() {
        s.upsert_category(&c).await.unwrap();
    }
    let template = |id: &str, cat: &str| ResponseTemplate {
        id: id.to_owned(),
        category: category(cat),
        title: Localized::new(format!("{id} ka"), format!("{id} en")),
        body: Localized::new("გამოსწორდა", "Fixed, thank you"),
    };
    let mut all = vec![
        template("cleaning-done", "cleaning"),
        template("lamp-replaced", "street-lighting"),
        template("lamp-scheduled", "street-lighting"),
    ];
    for t in all.iter().rev() {
        s.upsert_template(t).await.unwrap();
    }
    assert_eq!(s.templates(None).await.unwrap(), all);
    assert_eq!(s.templates(Some(&category("street-lighting"))).await.unwrap(), all[1..]);
    assert_eq!(s.templates(Some(&category("park-benches"))).await.unwrap(), Vec::<ResponseTemplate>::new());

    all[0].body = Localized::new("დასუფთავდა", "Cleaned");
    s.upsert_template(&all[0]).await.unwrap();
    assert_eq!(s.templates(Some(&category("cleaning"))).await.unwrap(), all[..1]);
}

// ---------------------------------------------------------------------------------------------
// Accounts and sessions.

async fn accounts_are_unique_by_email(s: Arc<dyn Storage>) {
    s.upsert_districts(&demo_districts()).await.unwrap();
    let mut staff = user("staff@gldani.example", "Staff", Role::DistrictStaff, None);
    staff.district = Some(district_id("gldani"));
    s.create_user(&staff).await.unwrap();

    assert_same(&s.user_by_email("staff@gldani.example").await.unwrap(), &Some(staff.clone()));
    assert_same(&s.user(staff.id).await.unwrap(), &Some(staff.clone()));
    assert!(s.user_by_email("nobody@example.ge").await.unwrap().is_none());
    assert!(s.user(UserId::new_v7()).await.unwrap().is_none());

    let twin = user("staff@gldani.example", "Someone else", Role::Resident, None);
    let err = s.create_user(&twin).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { field: "email" }), "{err:?}");
    assert!(s.user(twin.id).await.unwrap().is_none(), "the clashing account was not stored");
}

async fn crews_filter_by_body(s: Arc<dyn Storage>) {
    let w = World::seed(&*s).await;
    // Listed by display name; residents never appear.
    assert_same(&s.crews(None).await.unwrap(), &vec![w.crew_tbilservice.clone(), w.crew_lighting.clone()]);
    assert_same(&s.crews(Some(&body_id("tbilservice"))).await.unwrap(), &vec![w.crew_tbilservice.clone()]);
    assert_same(&s.crews(Some(&body_id("gamgeoba-vake"))).await.unwrap(), &vec![]);
}

async fn sessions_expire(s: Arc<dyn Storage>) {
    let w = World::seed(&*s).await;
    s.create_session("live", w.nino.id, at(10)).await.unwrap();
    s.create_session("old", w.giorgi.id, at(1)).await.unwrap();

    assert_same(&s.session_user("live", at(9)).await.unwrap(), &Some(w.nino.clone()));
    assert!(s.session_user("live", at(10)).await.unwrap().is_none(), "a session ends at its expiry instant");
    assert!(s.session_user("old", at(5)).await.unwrap().is_none(), "an expired session is not found");
    assert!(s.session_user("never-issued", at(0)).await.unwrap().is_none());

    s.delete_session("live").await.unwrap();
    assert!(s.session_user("live", at(0)).await.unwrap().is_none(), "a deleted session is gone");
}

// ---------------------------------------------------------------------------------------------
// Reports and their changes.

async fn a_report_is_stored_with_its_photos_and_events(s: Arc<dyn Storage>) {
    let w = World::seed(&*s).await;
    let mut r = routed(w.report(&w.nino, "cleaning", 41.7018, 44.7197, at(0)), "tbilservice", ReportStatus::Routed, 24);
    r.hide_reporter_name = true;
    r.address = None;
    let photos = vec![photo(PhotoKind::Report, 1, at(0)), photo(PhotoKind::Report, 2, at(0))];
    let events = vec![submitted_event(&r), routed_event(&r)];
    let stored = s
        .insert_report(&NewReport {
            report: r.clone(),
            photos: photos.clone(),
            events: events.clone(),
            open311: None,
            sync: SyncEffects::default(),
        })
        .await
        .unwrap();

    assert!(stored.number > 0, "the database numbers reports");
    assert_eq!(stored.version, 1);
    assert_same(&stored, &ReportRecord { number: stored.number, version: 1, ..r.clone() });
    assert_same(&s.report(r.id).await.unwrap(), &Some(stored.clone()));
    assert_same(&s.report_photos(r.id).await.unwrap(), &photos);
    assert_same(&s.report_events(r.id).await.unwrap(), &events);

    let next = insert(&*s, w.report(&w.giorgi, "cleaning", 41.7018, 44.7197, at(1))).await;
    assert!(next.number > stored.number, "numbers grow");
    assert!(s.report(ReportId::new_v7()).await.unwrap().is_none());
}

async fn a_report_id_is_taken_once(s: Arc<dyn Storage>) {
    let w = World::seed(&*s).await;
    let r = w.report(&w.nino, "cleaning", 41.7018, 44.7197, at(0));
    let first = insert(&*s, r.clone()).await;

    let again = NewReport {
        report: ReportRecord { description: "a retry with other text".to_owned(), ..r.clone() },
        photos: vec![photo(PhotoKind::Report, 9, at(1))],
        events: vec![submitted_event(&r)],
        open311: None,
        sync: SyncEffects::default(),
    };
    let err = s.insert_report(&again).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { field: "id" }), "{err:?}");
    assert_same(&s.report(r.id).await.unwrap(), &Some(first));
    assert!(s.report_photos(r.id).await.unwrap().is_empty(), "the retry's photos were not stored");
    assert_eq!(s.report_events(r.id).await.unwrap().len(), 1, "the retry's events were not stored");
}

/// A report routed to Tbilservice and the change that assigns a crew and closes it with proof.
async fn report_and_fix(s: &dyn Storage, w: &World) -> (ReportRecord, ReportChange) {
    let r = routed(w.report(&w.nino, "cleaning", 41.7018, 44.7197, at(0)), "tbilservice", ReportStatus::Routed, 24);
    let stored = s
        .insert_report(&NewReport {
            report: r.clone(),
            photos: vec![photo(PhotoKind::Report, 1, at(0))],
            events: vec![submitted_event(&r), routed_event(&r)],
            open311: None,
            sync: SyncEffects::default(),
        })
        .await
        .unwrap();
    let after = ReportRecord {
        status: ReportStatus::Fixed,
        crew: Some(w.crew_tbilservice.id),
        closed_at: Some(at(5)),
        updated_at: at(5),
        ..stored.clone()
    };
    let change = ReportChange {
        report: after,
        event: EventRecord {
            at: at(5),
            actor: Some(w.crew_tbilservice.id),
            actor_role: Some(Role::FieldCrew),
            action: "close_fixed".to_owned(),
            from_status: Some(ReportStatus::Routed),
            to_status: ReportStatus::Fixed,
            public_note: Some("Cleaned".to_owned()),
            internal_note: None,
            data: json!({ "proof_photos": 2 }),
        },
        photos: vec![photo(PhotoKind::Proof, 2, at(5)), photo(PhotoKind::Proof, 3, at(5))],
        notifications: vec![
            Notification {
                kind: "status_changed".to_owned(),
                recipient: "nino@example.ge".to_owned(),
                subject: "Your report is fixed".to_owned(),
                body: "Tbilservice fixed your report.".to_owned(),
                report: Some(r.id),
                created_at: at(5),
            },
            Notification {
                kind: "digest".to_owned(),
                recipient: "head@tbilservice.example".to_owned(),
                subject: "Closed today".to_owned(),
                body: "1 report closed.".to_owned(),
                report: None,
                created_at: at(5),
            },
        ],
        sync: SyncEffects::default(),
    };
    (stored, change)
}

async fn a_change_bumps_the_version_and_adds_proof(s: Arc<dyn Storage>) {
    let w = World::seed(&*s).await;
    let (stored, change) = report_and_fix(&*s, &w).await;

    let changed = s.apply_change(&change).await.unwrap();
    assert_eq!(changed.version, 2);
    assert_same(&changed, &ReportRecord { version: 2, ..change.report.clone() });
    assert_same(&s.report(stored.id).await.unwrap(), &Some(changed.clone()));

    let events = s.report_events(stored.id).await.unwrap();
    assert_eq!(events.len(), 3);
    assert_same(&events[2], &change.event);
    let photos = s.report_photos(stored.id).await.unwrap();
    assert_same(&photos[1..], &change.photos[..]);
    assert_eq!(photos[0].kind, PhotoKind::Report, "proof photos come after the report's own");

    // The next change must name version 2.
    let reopen = ReportChange {
        report: ReportRecord { status: ReportStatus::Reopened, closed_at: None, ..changed.clone() },
        event: EventRecord { action: "dispute".to_owned(), to_status: ReportStatus::Reopened, ..change.event.clone() },
        photos: vec![],
        notifications: vec![],
        sync: SyncEffects::default(),
    };
    assert_eq!(s.apply_change(&reopen).await.unwrap().version, 3);
}

async fn a_stale_change_stores_nothing(s: Arc<dyn Storage>) {
    let w = World::seed(&*s).await;
    let (stored, change) = report_and_fix(&*s, &w).await;
    // Someone else changes the report first…
    let first = ReportChange { photos: vec![], notifications: vec![], ..change.clone() };
    let current = s.apply_change(&first).await.unwrap();
    let events_before = s.report_events(stored.id).await.unwrap().len();
    let photos_before = s.report_photos(stored.id).await.unwrap().len();

    // …so a change still naming version 1 is refused, with nothing of it kept.
    let err = s.apply_change(&change).await.unwrap_err();
    assert!(matches!(err, StorageError::Stale), "{err:?}");
    assert_same(&s.report(stored.id).await.unwrap(), &Some(current));
    assert_eq!(s.report_events(stored.id).await.unwrap().len(), events_before, "no event added");
    assert_eq!(s.report_photos(stored.id).await.unwrap().len(), photos_before, "no photo added");
    assert!(s.pending_notifications().await.unwrap().is_empty(), "no notification queued");

    // A change to a report that does not exist is stale too: there is no version to match.
    let ghost = ReportChange { report: ReportRecord { id: ReportId::new_v7(), ..change.report.clone() }, ..change };
    assert!(matches!(s.apply_change(&ghost).await, Err(StorageError::Stale)));
}

async fn of_two_simultaneous_changes_one_wins(s: Arc<dyn Storage>) {
    let w = World::seed(&*s).await;
    let (stored, fix) = report_and_fix(&*s, &w).await;
    let hide = ReportChange {
        report: ReportRecord { hidden: true, ..stored.clone() },
        event: EventRecord { action: "hide".to_owned(), ..fix.event.clone() },
        photos: vec![],
        notifications: vec![],
        sync: SyncEffects::default(),
    };
    // Both name version 1; whichever commits second must find it moved.
    let (a, b) = tokio::join!(s.apply_change(&fix), s.apply_change(&hide));
    let stale = [&a, &b].iter().filter(|r| matches!(r, Err(StorageError::Stale))).count();
    assert_eq!(stale, 1, "exactly one wins: {a:?} / {b:?}");
    let winner = a.or(b).unwrap();
    assert_same(&s.report(stored.id).await.unwrap(), &Some(winner));
    assert_eq!(s.report_events(stored.id).await.unwrap().len(), 3, "one change's event only");
}

async fn a_change_queues_its_notifications(s: Arc<dyn Storage>) {
    let w = World::seed(&*s).await;
    assert!(s.pending_notifications().await.unwrap().is_empty());
    let (_, change) = report_and_fix(&*s, &w).await;
    s.apply_change(&change).await.unwrap();
    assert_eq!(s.pending_notifications().await.unwrap(), change.notifications, "both, oldest first");
}

// ---------------------------------------------------------------------------------------------
// Queries over reports.

async fn query_by_bbox_includes_edges(s: Arc<dyn Storage>) {
    let d = Dataset::seed(&*s).await;
    let s = &*s;
    // Around Gldani: A and E.
    assert_eq!(d.matching(s, |q| q.bbox = bbox(44.80, 41.79, 44.86, 41.82)).await, ["A", "E"]);
    // A sits exactly on the south-west corner: edges are inside.
    assert_eq!(d.matching(s, |q| q.bbox = bbox(44.8291, 41.8027, 44.86, 41.82)).await, ["A", "E"]);
    // E lies a hair north of this box, closer than a spatial index's single-precision boxes
    // can tell: it must still be left out.
    assert_eq!(d.matching(s, |q| q.bbox = bbox(44.80, 41.79, 44.86, 41.81 - 1e-9)).await, ["A"]);
    let city = d.matching(s, |q| q.bbox = bbox(44.5, 41.5, 45.1, 41.9)).await;
    assert_eq!(city, ["A", "B", "C", "D", "E", "F"]);
}

async fn query_by_category_and_status(s: Arc<dyn Storage>) {
    let d = Dataset::seed(&*s).await;
    let s = &*s;
    let cats = |slugs: &[&str]| slugs.iter().map(|c| category(c)).collect::<Vec<_>>();
    use ReportStatus::{Fixed, Reopened, Routed};
    assert_eq!(d.matching(s, |q| q.categories = cats(&["cleaning"])).await, ["B", "E"]);
    let lit_or_clean = d.matching(s, |q| q.categories = cats(&["cleaning", "street-lighting"]));
    assert_eq!(lit_or_clean.await, ["A", "B", "E", "F"]);
    assert_eq!(d.matching(s, |q| q.statuses = vec![Routed, Reopened]).await, ["A", "F"]);
    let both = d.matching(s, |q| {
        q.categories = cats(&["street-lighting"]);
        q.statuses = vec![Reopened];
    });
    assert_eq!(both.await, ["F"]);
    let none = d.matching(s, |q| {
        q.categories = cats(&["park-benches"]);
        q.statuses = vec![Fixed];
    });
    assert!(none.await.is_empty());
}

async fn query_by_date_range(s: Arc<dyn Storage>) {
    let d = Dataset::seed(&*s).await;
    let s = &*s;
    // From is inclusive, to is exclusive.
    let range = d.matching(s, |q| {
        q.from = Some(at(1));
        q.to = Some(at(4));
    });
    assert_eq!(range.await, ["B", "C", "D"]);
    assert_eq!(d.matching(s, |q| q.from = Some(at(4))).await, ["E", "F"]);
    assert_eq!(d.matching(s, |q| q.to = Some(at(1))).await, ["A"]);
}

async fn query_by_district_body_crew_and_reporter(s: Arc<dyn Storage>) {
    let d = Dataset::seed(&*s).await;
    let (s, w) = (&*s, &d.world);
    assert_eq!(d.matching(s, |q| q.district = Some(district_id("gldani"))).await, ["A", "E"]);
    assert_eq!(d.matching(s, |q| q.body = Some(body_id("tbilservice"))).await, ["B", "E"]);
    assert_eq!(d.matching(s, |q| q.crew = Some(w.crew_tbilservice.id)).await, ["B", "E"]);
    assert_eq!(d.matching(s, |q| q.crew = Some(w.crew_lighting.id)).await, ["F"]);
    assert_eq!(d.matching(s, |q| q.reporter = Some(w.giorgi.id)).await, ["B", "D"]);
    let narrow = d.matching(s, |q| {
        q.body = Some(body_id("tbilservice"));
        q.reporter = Some(w.nino.id);
        q.district = Some(district_id("gldani"));
    });
    assert_eq!(narrow.await, ["E"]);
}

async fn query_overdue_and_public(s: Arc<dyn Storage>) {
    let d = Dataset::seed(&*s).await;
    let s = &*s;
    // C was flagged too, but it is closed now.
    assert_eq!(d.matching(s, |q| q.overdue_only = true).await, ["B"]);
    let public = d.matching(s, |q| q.public_only = true).await;
    assert_eq!(public, ["A", "B", "C", "D", "F"]);
    let public_cleaning = d.matching(s, |q| {
        q.public_only = true;
        q.categories = vec![category("cleaning")];
    });
    assert_eq!(public_cleaning.await, ["B"]);
}

async fn query_pages_in_both_orders(s: Arc<dyn Storage>) {
    let d = Dataset::seed(&*s).await;
    let page = |limit, offset, order_by_deadline| {
        let s = s.clone();
        let q = ReportQuery { limit, offset, order_by_deadline, ..Default::default() };
        async move { s.query_reports(&q).await.unwrap() }
    };
    // Newest first.
    assert_eq!(d.labels(&page(100, 0, false).await), ["F", "E", "D", "C", "B", "A"]);
    assert_eq!(d.labels(&page(2, 1, false).await), ["E", "D"]);
    assert_eq!(d.labels(&page(10, 5, false).await), ["A"]);
    assert!(page(10, 6, false).await.is_empty());
    // Oldest deadline first, reports without a deadline last.
    assert_eq!(d.labels(&page(100, 0, true).await), ["F", "E", "B", "A", "C", "D"]);
    assert_eq!(d.labels(&page(3, 2, true).await), ["B", "A", "C"]);
    // Counting ignores paging.
    let paged = ReportQuery { limit: 2, offset: 1, ..Default::default() };
    assert_eq!(s.count_reports(&paged).await.unwrap(), 6);
}

async fn clusters_add_up_to_the_count(s: Arc<dyn Storage>) {
    Dataset::seed(&*s).await;
    for q in [
        query(|_| {}),
        query(|q| q.public_only = true),
        query(|q| q.categories = vec![category("street-lighting")]),
        query(|q| q.bbox = bbox(44.80, 41.79, 44.86, 41.82)),
    ] {
        let clusters = s.cluster_reports(&q, 0.05).await.unwrap();
        let total: u64 = clusters.iter().map(|c| c.count).sum();
        assert_eq!(total, s.count_reports(&q).await.unwrap(), "{q:?}");
    }

    // A and E share a 0.05° cell; the cluster sits at their mean.
    let gldani = query(|q| q.district = Some(district_id("gldani")));
    let clusters = s.cluster_reports(&gldani, 0.05).await.unwrap();
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    assert_eq!(clusters[0].count, 2);
    assert!((clusters[0].lat - (41.8027 + 41.81) / 2.0).abs() < 1e-9, "{clusters:?}");
    assert!((clusters[0].lon - (44.8291 + 44.84) / 2.0).abs() < 1e-9, "{clusters:?}");
    // On a fine grid every report is its own cluster.
    assert_eq!(s.cluster_reports(&query(|_| {}), 0.001).await.unwrap().len(), 6);
}

async fn overdue_candidates_are_open_unflagged_and_past_deadline(s: Arc<dyn Storage>) {
    let d = Dataset::seed(&*s).await;
    // At(48): A's deadline (72) is ahead, B is already flagged, C is closed, D has no deadline;
    // F (deadline 6) and E (deadline 16) are due, oldest deadline first. E is hidden but still
    // a body's work.
    assert_eq!(d.labels(&s.overdue_candidates(at(48), 10).await.unwrap()), ["F", "E"]);
    assert_eq!(d.labels(&s.overdue_candidates(at(48), 1).await.unwrap()), ["F"]);
    // The deadline instant itself is not yet past it.
    assert_eq!(d.labels(&s.overdue_candidates(at(6), 10).await.unwrap()), Vec::<&str>::new());
    assert_eq!(d.labels(&s.overdue_candidates(at(100), 10).await.unwrap()), ["F", "E", "A"]);
}

async fn stats_rows_cover_routed_public_reports(s: Arc<dyn Storage>) {
    Dataset::seed(&*s).await;
    let mut rows = s.stats_rows().await.unwrap();
    rows.sort_by_key(|r| r.created_at);
    let row = |body: &str, cat: &str, status, created, deadline, closed: Option<i64>| StatsRow {
        body: body_id(body),
        category: category(cat),
        status,
        created_at: at(created),
        deadline: Some(at(deadline)),
        closed_at: closed.map(at),
    };
    // D has no body yet, E is hidden.
    let expected = vec![
        row("city-hall-infrastructure", "street-lighting", ReportStatus::Routed, 0, 72, None),
        row("tbilservice", "cleaning", ReportStatus::InProgress, 1, 25, None),
        row("city-hall-environment", "trees-greenery", ReportStatus::Fixed, 2, 242, Some(40)),
        row("city-hall-infrastructure", "street-lighting", ReportStatus::Reopened, 5, 6, None),
    ];
    assert_same(&rows, &expected);
}

// ---------------------------------------------------------------------------------------------
// Per-body deadlines.

/// Categories, districts and bodies, the reference data an override names.
async fn seed_reference(s: &dyn Storage) {
    for c in first_stage_categories() {
        s.upsert_category(&c).await.unwrap();
    }
    s.upsert_districts(&demo_districts()).await.unwrap();
    for b in bodies() {
        s.upsert_body(&b).await.unwrap();
    }
}

fn sla_rule(cat: &str, body: &str, amount: u32, unit: SlaUnit) -> SlaRule {
    SlaRule { category: category(cat), body: body_id(body), sla: Sla { amount, unit } }
}

async fn sla_overrides_are_set_replaced_and_removed(s: Arc<dyn Storage>) {
    seed_reference(&*s).await;
    assert_eq!(s.sla_overrides().await.unwrap(), []);

    // Listed by category, then body, whatever the insertion order.
    let vake_cleaning = sla_rule("cleaning", "gamgeoba-vake", 12, SlaUnit::WorkingHours);
    let tbilservice_cleaning = sla_rule("cleaning", "tbilservice", 2, SlaUnit::WorkingDays);
    let vake_benches = sla_rule("park-benches", "gamgeoba-vake", 5, SlaUnit::WorkingDays);
    for rule in [&vake_benches, &tbilservice_cleaning, &vake_cleaning] {
        s.upsert_sla_override(rule).await.unwrap();
    }
    assert_eq!(s.sla_overrides().await.unwrap(), [vake_cleaning.clone(), tbilservice_cleaning, vake_benches.clone()]);

    // Setting a pair again replaces its deadline, unit included.
    let tbilservice_cleaning = sla_rule("cleaning", "tbilservice", 30, SlaUnit::WorkingHours);
    s.upsert_sla_override(&tbilservice_cleaning).await.unwrap();
    assert_eq!(
        s.sla_overrides().await.unwrap(),
        [vake_cleaning.clone(), tbilservice_cleaning.clone(), vake_benches.clone()]
    );

    // Removing takes out that pair only, once.
    assert!(s.delete_sla_override(&category("cleaning"), &body_id("tbilservice")).await.unwrap());
    assert!(!s.delete_sla_override(&category("cleaning"), &body_id("tbilservice")).await.unwrap());
    assert!(!s.delete_sla_override(&category("street-lighting"), &body_id("tbilservice")).await.unwrap());
    assert_eq!(s.sla_overrides().await.unwrap(), [vake_cleaning, vake_benches]);

    // Categories keep their own deadlines throughout.
    assert_eq!(s.categories().await.unwrap(), first_stage_categories());
}

async fn sla_overrides_name_a_known_category_and_body_and_a_real_deadline(s: Arc<dyn Storage>) {
    seed_reference(&*s).await;
    let refused = [
        sla_rule("potholes", "tbilservice", 2, SlaUnit::WorkingDays),
        sla_rule("cleaning", "nobody", 2, SlaUnit::WorkingDays),
        // The fields are public, so storage holds the line too: no deadline of no time.
        sla_rule("cleaning", "tbilservice", 0, SlaUnit::WorkingDays),
    ];
    for rule in &refused {
        let err = s.upsert_sla_override(rule).await.unwrap_err();
        assert!(matches!(err, StorageError::Database(_)), "{rule:?}: {err:?}");
    }
    assert_eq!(s.sla_overrides().await.unwrap(), []);
}

// ---- Sync (issue #3) ----------------------------------------------------------------------

fn mutation(user: &UserRecord, outcome: StoredOutcome) -> AppliedMutationRecord {
    AppliedMutationRecord {
        mutation_id: uuid::Uuid::now_v7(),
        user: user.id,
        device_id: uuid::Uuid::now_v7(),
        device_seq: 1,
        kind: "report.create".to_owned(),
        payload_sha256: "cd".repeat(32),
        outcome,
        created_at: at(0),
    }
}

fn expected(kind: PhotoKind, n: u8) -> ExpectedPhotoRecord {
    ExpectedPhotoRecord {
        kind,
        upload_sha256: format!("{n:02x}").repeat(32),
        position: 0,
        size: 1234,
        taken_at: Some((41.7018, 44.7197)),
        photo_sha256: None,
    }
}

/// The rows of `user`'s feed that concern report `id`, as (seq, deleted).
async fn report_rows(s: &dyn Storage, user: &UserRecord, id: ReportId) -> Vec<(i64, bool)> {
    let rows = s.changes_after(user.id, 0, 10_000).await.unwrap();
    rows.into_iter()
        .filter(|r| r.entity == "report" && uuid::Uuid::parse_str(&r.entity_id).ok() == Some(id.0))
        .map(|r| (r.seq, r.deleted))
        .collect()
}

async fn the_epoch_is_made_at_migration_and_replaced_on_demand(s: Arc<dyn Storage>) {
    let epoch = s.sync_epoch().await.unwrap();
    assert!(!epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_alphanumeric()), "{epoch}");
    s.replace_sync_epoch("0192abcdef").await.unwrap();
    assert_eq!(s.sync_epoch().await.unwrap(), "0192abcdef");
}

async fn the_change_log_follows_a_report_to_its_audience(s: Arc<dyn Storage>) {
    let w = World::seed(&*s).await;
    // Reference data reaches everyone: the seed wrote category, body, district and routing rows.
    let everyone = s.changes_after(w.giorgi.id, 0, 10_000).await.unwrap();
    for entity in ["category", "body", "district", "routing"] {
        assert!(everyone.iter().any(|r| r.entity == entity), "no {entity} row");
    }
    assert!(everyone.iter().any(|r| r.entity == "routing" && r.entity_id == "table"));
    let head = s.change_head().await.unwrap();
    assert_eq!(head, everyone.last().unwrap().seq, "{everyone:?}");

    let (stored, fix) = report_and_fix(&*s, &w).await;
    assert!(!report_rows(&*s, &w.nino, stored.id).await.is_empty(), "the reporter's feed has it");
    assert!(report_rows(&*s, &w.giorgi, stored.id).await.is_empty(), "nobody else's");
    assert!(report_rows(&*s, &w.crew_tbilservice, stored.id).await.is_empty(), "no crew yet");

    // Assigned: the crew's feed gets it; reassigned: the crew gets a tombstone.
    let assign = ReportChange { photos: vec![], notifications: vec![], ..fix.clone() };
    let assigned = s.apply_change(&assign).await.unwrap();
    let rows = report_rows(&*s, &w.crew_tbilservice, stored.id).await;
    assert_eq!(rows.last().map(|r| r.1), Some(false), "{rows:?}");
    let reassign = ReportChange {
        report: ReportRecord { crew: Some(w.crew_lighting.id), ..assigned.clone() },
        photos: vec![],
        notifications: vec![],
        ..fix.clone()
    };
    s.apply_change(&reassign).await.unwrap();
    let rows = report_rows(&*s, &w.crew_tbilservice, stored.id).await;
    assert_eq!(rows.last().map(|r| r.1), Some(true), "a tombstone for the crew that lost it: {rows:?}");
    assert_eq!(report_rows(&*s, &w.crew_lighting, stored.id).await.last().map(|r| r.1), Some(false));

    // Pages: after a seq, only later rows, in order, at most `limit`.
    let all = s.changes_after(w.nino.id, 0, 10_000).await.unwrap();
    let page = s.changes_after(w.nino.id, all[2].seq, 3).await.unwrap();
    assert_eq!(page, all[3..6].to_vec());
    assert!(s.change_head().await.unwrap() >= all.last().unwrap().seq, "the head covers every audience's rows");
}

async fn a_mutation_id_is_stored_once_with_its_outcome(s: Arc<dyn Storage>) {
    let w = World::seed(&*s).await;
    let rejection = smartmap_shared::sync::Rejection {
        code: "unknown_category".into(),
        message: "there is no category 'x'".into(),
        message_ka: "ასეთი კატეგორია არ არსებობს".into(),
        field: Some("category".into()),
    };
    let refused = mutation(&w.nino, StoredOutcome::Rejected(rejection));
    s.record_mutation(&refused).await.unwrap();
    assert_eq!(s.applied_mutation(refused.mutation_id).await.unwrap(), Some(refused.clone()));
    let err = s.record_mutation(&refused).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { field: "mutation_id" }), "{err:?}");

    // A report carrying its mutation: both or neither.
    let applied = mutation(&w.nino, StoredOutcome::Applied(json!({ "status": "routed" })));
    let r = w.report(&w.nino, "cleaning", 41.7018, 44.7197, at(0));
    let sync = SyncEffects { mutation: Some(applied.clone()), expected_photos: vec![expected(PhotoKind::Report, 1)] };
    let new = NewReport { report: r.clone(), photos: vec![], events: vec![submitted_event(&r)], open311: None, sync };
    s.insert_report(&new).await.unwrap();
    assert_eq!(s.applied_mutation(applied.mutation_id).await.unwrap(), Some(applied.clone()));
    let other = w.report(&w.nino, "cleaning", 41.7018, 44.7197, at(1));
    let again = NewReport { report: other.clone(), events: vec![submitted_event(&other)], ..new.clone() };
    let err = s.insert_report(&again).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { field: "mutation_id" }), "{err:?}");
    assert!(s.report(other.id).await.unwrap().is_none(), "the second report was not stored");
    let change = ReportChange {
        report: ReportRecord { status: ReportStatus::Routed, ..s.report(r.id).await.unwrap().unwrap() },
        event: submitted_event(&r),
        photos: vec![],
        notifications: vec![],
        sync: SyncEffects { mutation: Some(applied), expected_photos: vec![] },
    };
    let err = s.apply_change(&change).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { field: "mutation_id" }), "{err:?}");
    assert_eq!(s.report(r.id).await.unwrap().unwrap().version, 1, "the change was not stored");
}

async fn promised_photos_arrive_once_or_wait_staged(s: Arc<dyn Storage>) {
    let w = World::seed(&*s).await;
    let r = w.report(&w.nino, "cleaning", 41.7018, 44.7197, at(0));
    let promised =
        vec![expected(PhotoKind::Report, 1), ExpectedPhotoRecord { position: 1, ..expected(PhotoKind::Report, 2) }];
    let sync = SyncEffects { mutation: None, expected_photos: promised.clone() };
    s.insert_report(&NewReport {
        report: r.clone(),
        photos: vec![],
        events: vec![submitted_event(&r)],
        open311: None,
        sync,
    })
    .await
    .unwrap();
    let listed = s.expected_photos_of_reports(&[r.id]).await.unwrap();
    assert_eq!(listed.into_iter().map(|(_, e)| e).collect::<Vec<_>>(), promised);

    let first = photo(PhotoKind::Report, 0xa1, at(1));
    let got = s.attach_expected_photo(r.id, &promised[0].upload_sha256, &first).await.unwrap();
    assert_eq!(got, AttachOutcome::Attached { still_pending: 1 });
    assert_eq!(s.report(r.id).await.unwrap().unwrap().version, 2, "the arrival bumps the version");
    let again = s.attach_expected_photo(r.id, &promised[0].upload_sha256, &first).await.unwrap();
    assert_eq!(again, AttachOutcome::AlreadyAttached);
    let stranger = s.attach_expected_photo(r.id, &"ee".repeat(32), &first).await.unwrap();
    assert_eq!(stranger, AttachOutcome::NotExpected);
    let wrong_kind = photo(PhotoKind::Proof, 0xa2, at(1));
    assert_eq!(
        s.attach_expected_photo(r.id, &promised[1].upload_sha256, &wrong_kind).await.unwrap(),
        AttachOutcome::NotExpected
    );
    assert_eq!(s.report(r.id).await.unwrap().unwrap().version, 2, "refused arrivals change nothing");
    assert_eq!(s.report_photos(r.id).await.unwrap(), vec![first.clone()]);

    // The second photo arrives before anybody promised it for a new report: staged, then claimed.
    let later = w.report(&w.nino, "cleaning", 41.7018, 44.7197, at(2));
    let early = photo(PhotoKind::Report, 0xb1, at(2));
    let staged = StagedPhotoRecord {
        report: later.id,
        upload_sha256: "0b".repeat(32),
        uploader: w.nino.id,
        photo: early.clone(),
    };
    assert!(s.stage_photo(&staged).await.unwrap());
    assert!(!s.stage_photo(&staged).await.unwrap(), "staged once");
    let sync = SyncEffects { mutation: None, expected_photos: vec![expected(PhotoKind::Report, 0x0b)] };
    s.insert_report(&NewReport {
        report: later.clone(),
        photos: vec![],
        events: vec![submitted_event(&later)],
        open311: None,
        sync,
    })
    .await
    .unwrap();
    assert_eq!(
        s.claim_staged_photos(later.id, PhotoKind::Report, w.giorgi.id).await.unwrap(),
        0,
        "not giorgi's upload"
    );
    assert_eq!(s.claim_staged_photos(later.id, PhotoKind::Report, w.nino.id).await.unwrap(), 1);
    assert_eq!(s.claim_staged_photos(later.id, PhotoKind::Report, w.nino.id).await.unwrap(), 0, "claimed once");
    assert_eq!(s.report_photos(later.id).await.unwrap(), vec![early]);
    let arrived = s.expected_photos_of_reports(&[later.id]).await.unwrap();
    assert_eq!(arrived[0].1.photo_sha256.as_deref(), Some("b1".repeat(32).as_str()));
    assert_eq!(s.report(later.id).await.unwrap().unwrap().version, 2);
}

async fn following_puts_a_report_in_the_followers_feed(s: Arc<dyn Storage>) {
    let w = World::seed(&*s).await;
    let r = insert(&*s, w.report(&w.nino, "cleaning", 41.7018, 44.7197, at(0))).await;
    let follow = mutation(&w.giorgi, StoredOutcome::Applied(json!({ "following": true })));
    s.set_follow(w.giorgi.id, r.id, true, follow.created_at, Some(&follow)).await.unwrap();
    assert_eq!(s.followed_reports(w.giorgi.id).await.unwrap(), vec![r.id]);
    assert_eq!(report_rows(&*s, &w.giorgi, r.id).await.last().map(|r| r.1), Some(false));
    let err = s.set_follow(w.giorgi.id, r.id, true, follow.created_at, Some(&follow)).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { field: "mutation_id" }), "{err:?}");

    // A change to the report now reaches the follower too.
    let before = report_rows(&*s, &w.giorgi, r.id).await.len();
    let change = ReportChange {
        report: ReportRecord { hidden: false, updated_at: at(1), ..r.clone() },
        event: submitted_event(&r),
        photos: vec![],
        notifications: vec![],
        sync: SyncEffects::default(),
    };
    s.apply_change(&change).await.unwrap();
    assert_eq!(report_rows(&*s, &w.giorgi, r.id).await.len(), before + 1);

    let unfollow = mutation(&w.giorgi, StoredOutcome::Applied(json!({ "following": false })));
    s.set_follow(w.giorgi.id, r.id, false, unfollow.created_at, Some(&unfollow)).await.unwrap();
    assert!(s.followed_reports(w.giorgi.id).await.unwrap().is_empty());
    assert_eq!(report_rows(&*s, &w.giorgi, r.id).await.last().map(|r| r.1), Some(true), "a tombstone");
    // The reporter never loses their own report by (un)following it.
    let own = mutation(&w.nino, StoredOutcome::Applied(json!({ "following": false })));
    s.set_follow(w.nino.id, r.id, false, own.created_at, Some(&own)).await.unwrap();
    assert_eq!(report_rows(&*s, &w.nino, r.id).await.last().map(|r| r.1), Some(false));

    // A browser follows without a mutation: the same table, so the phone's feed sees it; twice
    // is once.
    for _ in 0..2 {
        s.set_follow(w.giorgi.id, r.id, true, at(2), None).await.unwrap();
    }
    assert_eq!(s.followed_reports(w.giorgi.id).await.unwrap(), vec![r.id]);
    assert_eq!(report_rows(&*s, &w.giorgi, r.id).await.last().map(|r| r.1), Some(false));
    for _ in 0..2 {
        s.set_follow(w.giorgi.id, r.id, false, at(3), None).await.unwrap();
    }
    assert!(s.followed_reports(w.giorgi.id).await.unwrap().is_empty());
}
