//! Whole-system tests of the Smart Map Tbilisi server: the real server, bound to port 0, on a
//! fresh database per test, driven over HTTP with `reqwest`, with time under the test's control.
//!
//! # Layout
//! - this file: [`spawn_app`] and [`TestApp`], the running server plus what a scenario needs to
//!   drive it (accounts, submissions, actions, the clock, row counts), and the [`scenarios!`]
//!   macro that runs each scenario on both backends.
//! - [`backend`]: a fresh SQLite or PostgreSQL database per test, and a [`backend::Probe`] that
//!   counts rows behind the API's back.
//! - [`reply`]: answers read whole, with problem+json assertions.
//! - [`photos`]: JPEGs, an oversized photo and decompression bombs, made in memory.
//! - [`phone`]: phones (the real mobile core) for the sync tests, and server-side counts.
//! - [`server`]: a server the sync fault matrix can kill, restart, back up and restore, behind
//!   the proxy.
//! - [`proxy`]: a fault-injecting TCP proxy (network loss, cut uploads, lost answers, corrupted
//!   bytes) between sync clients and the server, counting bytes on the wire.
//!
//! The scenarios live in `tests/`: one file per behaviour a user would recognise (the life of a
//! report, overdue escalation, the map, who may call what, bad input).
//!
//! Accounts are inserted through storage with one password hash computed per process and given a
//! session directly, because Argon2 is deliberately slow; signing in over HTTP is exercised by
//! [`TestApp::login`] where a scenario needs it.

pub mod backend;
pub mod phone;
pub mod photos;
pub mod proxy;
pub mod reply;
pub mod server;
pub mod tus;
pub mod webdriver;

pub use backend::{Backend, Probe};
pub use reply::Reply;

use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use smartmap_server::Application;
use smartmap_server::clock::{Clock, ManualClock};
use smartmap_server::config::Settings;
use smartmap_server::state::AppState;
use smartmap_server::storage::UserRecord;
use smartmap_shared::ids::{BodyId, DistrictId, UserId};
use smartmap_shared::role::Role;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::oneshot;

/// Runs each named `async fn scenario(backend: Backend)` as two tests, `sqlite::<name>` and
/// `postgres::<name>` (the latter skipped, or failed, per [`Backend::available`]). Attributes
/// before a name (e.g. `#[ignore = "…"]`) go on both tests.
#[macro_export]
macro_rules! scenarios {
    ($($(#[$attr:meta])* $scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                $(#[$attr])*
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario($crate::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                $(#[$attr])*
                #[tokio::test]
                async fn $scenario() {
                    if $crate::Backend::Postgres.available() {
                        super::$scenario($crate::Backend::Postgres).await;
                    }
                }
            )*
        }
    };
}

/// Where every test's clock starts: Tuesday 2026-03-10, 09:00 in Tbilisi — a working-day
/// morning, with no public holiday in the following month except Easter (April 10–13).
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 5, 0, 0).unwrap()
}

/// The instant of a Tbilisi wall-clock time, converted by hand (UTC = local − 4 h, no DST), so
/// expected deadlines do not depend on the server's own conversion.
pub fn tbilisi(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap() - Duration::hours(4)
}

/// Reads an RFC 3339 instant from a JSON value.
#[track_caller]
pub fn instant(v: &Value) -> DateTime<Utc> {
    let text = v.as_str().unwrap_or_else(|| panic!("expected an instant, got {v}"));
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}")).with_timezone(&Utc)
}

/// The seed point of the demo district Gldani (inside its Voronoi cell).
pub const GLDANI: (f64, f64) = (41.8027, 44.8291);
/// The seed point of Vake.
pub const VAKE: (f64, f64) = (41.7018, 44.7197);
/// The seed point of every demo district, by slug.
pub const DISTRICT_SEEDS: [(&str, f64, f64); 10] = [
    ("chugureti", 41.7174, 44.8263),
    ("didube", 41.7547, 44.7773),
    ("gldani", 41.8027, 44.8291),
    ("isani", 41.6906, 44.8451),
    ("krtsanisi", 41.6600, 44.8638),
    ("mtatsminda", 41.6715, 44.7552),
    ("nadzaladevi", 41.7471, 44.8207),
    ("saburtalo", 41.7656, 44.7444),
    ("samgori", 41.7046, 44.9379),
    ("vake", 41.7018, 44.7197),
];

/// Every test account's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// A report's JSON as a resident's phone sends it.
pub fn report_json(category: &str, (lat, lon): (f64, f64), description: &str) -> Value {
    json!({
        "category": category,
        "location": { "lat": lat, "lon": lon },
        "description": description,
    })
}

/// A signed-in test account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Bearer token of a live session.
    pub token: String,
    /// The account id.
    pub id: UserId,
    /// Login e-mail.
    pub email: String,
    /// Name shown to staff.
    pub display_name: String,
    /// The role.
    pub role: Role,
}

/// Row counts of the tables a report's life writes to, plus photo blob files on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    /// `(table, rows)` for each of [`backend::REPORT_TABLES`].
    pub rows: Vec<(&'static str, i64)>,
    /// Files in the media folder.
    pub blobs: usize,
}

/// A running server on its own database, media folder and clock.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The server's clock; move it to reach deadlines.
    pub clock: Arc<ManualClock>,
    /// The server's state: storage, settings, reference data, for driving jobs.
    pub state: AppState,
    /// The backend this app runs on.
    pub backend: Backend,
    /// A direct line to the database.
    pub probe: Probe,
    media_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    /// Dropped (and with it the PostgreSQL database) after the server was told to stop.
    _drop_on_exit: Option<backend::PgDatabase>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Starts the server on `backend` with test settings: port 0, a fresh database and media
/// folder, reference data but no demo data, the overdue sweep off (tests run it by hand), and a
/// [`ManualClock`] at [`start`].
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// [`spawn_app`] with settings adjusted by `adjust` (e.g. a small photo size limit).
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = backend::open(backend, dir.path())
        .await
        .unwrap_or_else(|e| panic!("opening a {backend:?} test database: {e:#}"));
    let media_dir = dir.path().join("media");
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database_url: None,
        media_dir: Some(media_dir.clone()),
        seed_demo: false,
        overdue_sweep_seconds: 0,
        ..Settings::default()
    };
    adjust(&mut settings);
    let clock = Arc::new(ManualClock::new(start()));
    let app = Application::build_with_storage(settings, clock.clone() as Arc<dyn Clock>, database.storage)
        .await
        .unwrap_or_else(|e| panic!("building the app on {backend:?}: {e:#}"));
    let address = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::builder().build().expect("an HTTP client"),
        clock,
        state,
        backend,
        probe: database.probe,
        media_dir,
        shutdown: Some(shutdown),
        _drop_on_exit: database.drop_on_exit,
        _dir: dir,
    }
}

/// Creates an account of `role` with [`PASSWORD`] through storage, and a session for it valid
/// for a year from `now`.
pub(crate) async fn create_account(
    state: &AppState,
    now: DateTime<Utc>,
    role: Role,
    district: Option<&str>,
    body: Option<&str>,
) -> Account {
    let n = unique();
    let email = format!("{}-{n}@test.smartmap.ge", role.as_str().replace('_', "-"));
    let display_name = format!("Tester{n} {}", role.as_str());
    let user = UserRecord {
        id: UserId::new_v7(),
        email: email.clone(),
        display_name: display_name.clone(),
        password_hash: password_hash().to_owned(),
        role,
        district: district.map(|d| DistrictId::parse(d).expect("a district slug")),
        body: body.map(|b| BodyId::parse(b).expect("a body slug")),
        created_at: now,
    };
    state.storage.create_user(&user).await.expect("creating a test account");
    let (token, stored) = smartmap_server::auth::new_session_token();
    state.storage.create_session(&stored, user.id, now + Duration::days(365)).await.expect("creating a session");
    Account { token, id: user.id, email, display_name, role }
}

/// One Argon2 hash of [`PASSWORD`] per process, shared by every test account.
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| smartmap_server::auth::hash_password(PASSWORD).expect("hashing the test password"))
}

fn unique() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl TestApp {
    // ---- Accounts ------------------------------------------------------------------------

    /// Creates an account of `role` (district staff need `district`; department staff and crews
    /// a `body`) and signs it in.
    pub async fn make_user(&self, role: Role, district: Option<&str>, body: Option<&str>) -> Account {
        create_account(&self.state, self.clock.now(), role, district, body).await
    }

    /// A fresh session for an existing account, valid for a year of test time.
    pub async fn new_session(&self, user: UserId) -> String {
        let (token, stored) = smartmap_server::auth::new_session_token();
        let expires = self.clock.now() + Duration::days(365);
        self.state.storage.create_session(&stored, user, expires).await.expect("creating a session");
        token
    }

    /// Signs in over HTTP; returns the session token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let reply = self.post_json("/api/auth/login", None, &json!({ "email": email, "password": password })).await;
        reply.expect(200)["token"].as_str().expect("a token").to_owned()
    }

    // ---- Plain HTTP ----------------------------------------------------------------------

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request with the bearer token, if any.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Sends a request and reads the answer whole.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let built = request.build().expect("a well-formed request");
        let line = format!("{} {}", built.method(), built.url().path());
        let response = self.client.execute(built).await.unwrap_or_else(|e| panic!("{line}: {e}"));
        Reply::read(line, response).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(self.request(Method::GET, path, token)).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path, token).json(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(self.request(Method::PUT, path, token).json(body)).await
    }

    // ---- Reports -------------------------------------------------------------------------

    /// Submits a report: a multipart form with the `report` JSON part and one `photo` part per
    /// photo.
    pub async fn submit(&self, token: &str, report: &Value, photos: &[Vec<u8>]) -> Reply {
        self.submit_raw(token, report.to_string().into_bytes(), photos).await
    }

    /// Submits raw bytes as the `report` part (for malformed JSON).
    pub async fn submit_raw(&self, token: &str, report: Vec<u8>, photos: &[Vec<u8>]) -> Reply {
        let form = multipart_form(Some(("report", report)), photos);
        self.send(self.request(Method::POST, "/api/reports", Some(token)).multipart(form)).await
    }

    /// Submits a report and expects it accepted; returns the report as answered.
    pub async fn submit_ok(&self, token: &str, report: &Value, photos: &[Vec<u8>]) -> Value {
        self.submit(token, report, photos).await.expect(201)
    }

    /// A staff action: `POST /api/staff/reports/{id}/actions`.
    pub async fn act(&self, token: &str, id: &str, action: &Value) -> Reply {
        self.post_json(&format!("/api/staff/reports/{id}/actions"), Some(token), action).await
    }

    /// A staff action that must succeed; returns the staff view of the report.
    pub async fn act_ok(&self, token: &str, id: &str, action: &Value) -> Value {
        self.act(token, id, action).await.expect(200)
    }

    /// Closes a ticket as fixed with `photos` as proof: `POST /api/crew/tickets/{id}/close`.
    pub async fn close(&self, token: &str, id: &str, photos: &[Vec<u8>]) -> Reply {
        self.close_with(token, id, None, photos).await
    }

    /// Closes a ticket with an `action` JSON part (public and internal notes).
    pub async fn close_with(&self, token: &str, id: &str, notes: Option<&Value>, photos: &[Vec<u8>]) -> Reply {
        let form = multipart_form(notes.map(|n| ("action", n.to_string().into_bytes())), photos);
        let path = format!("/api/crew/tickets/{id}/close");
        self.send(self.request(Method::POST, &path, Some(token)).multipart(form)).await
    }

    /// The reporter disputes a closure.
    pub async fn dispute(&self, token: &str, id: &str, reason: &str) -> Reply {
        self.post_json(&format!("/api/reports/{id}/dispute"), Some(token), &json!({ "reason": reason })).await
    }

    /// The public detail of a report, as an anonymous visitor sees it.
    pub async fn public_report(&self, id: &str) -> Value {
        self.get(&format!("/api/reports/{id}"), None).await.expect(200)
    }

    /// How many reports `/api/me/reports` lists for the caller.
    pub async fn my_report_count(&self, token: &str) -> usize {
        let mine = self.get("/api/me/reports", Some(token)).await.expect(200);
        mine["items"].as_array().expect("items").len()
    }

    /// Takes a routed report to `in_progress`: `staff` acknowledges it and assigns `crew`.
    pub async fn start_work(&self, staff: &Account, id: &str, crew: &Account) {
        self.act_ok(&staff.token, id, &json!({ "action": "acknowledge" })).await;
        self.act_ok(&staff.token, id, &json!({ "action": "assign_crew", "crew": crew.id })).await;
    }

    // ---- Time, reference data, storage ---------------------------------------------------

    /// Moves the server's clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Sets a body's head e-mail (where escalations go) and reloads reference data.
    pub async fn set_head_email(&self, body: &str, email: &str) {
        let id = BodyId::parse(body).expect("a body slug");
        let mut record = self.state.reference().body(&id).cloned().unwrap_or_else(|| panic!("no body {body}"));
        record.head_email = Some(email.to_owned());
        self.state.storage.upsert_body(&record).await.expect("storing the body");
        self.state.reload_reference().await.expect("reloading reference data");
    }

    /// A second server on this app's database, folders and clock, with its own fresh state (as
    /// after a restart). It stops when the returned [`Replica`] is dropped.
    pub async fn replica(&self) -> Replica {
        let settings = (*self.state.settings).clone();
        let app = Application::build_with_storage(settings, self.clock.clone(), self.state.storage.clone())
            .await
            .expect("building a second server");
        let address = format!("http://{}", app.local_addr());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Replica { address, _shutdown: shutdown }
    }

    /// Rows in the report tables and files in the media folder, to prove nothing was stored.
    pub async fn counts(&self) -> Counts {
        let mut rows = Vec::new();
        for table in backend::REPORT_TABLES {
            rows.push((table, self.probe.rows(table).await));
        }
        Counts { rows, blobs: count_files(&self.media_dir) }
    }
}

/// A second server started by [`TestApp::replica`].
pub struct Replica {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    _shutdown: oneshot::Sender<()>,
}

/// A multipart form as the phone app sends it: an optional JSON part (`report` for submissions,
/// `action` for closing notes), then one `photo` part per photo.
pub fn multipart_form(json: Option<(&'static str, Vec<u8>)>, photos: &[Vec<u8>]) -> Form {
    let mut form = Form::new();
    if let Some((name, bytes)) = json {
        form = form.part(name, Part::bytes(bytes).mime_str("application/json").expect("a valid MIME type"));
    }
    for (i, photo) in photos.iter().enumerate() {
        let part = Part::bytes(photo.clone())
            .file_name(format!("photo{i}.jpg"))
            .mime_str("image/jpeg")
            .expect("a valid MIME type");
        form = form.part("photo", part);
    }
    form
}

fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() { count_files(&path) } else { 1 }
        })
        .sum()
}
