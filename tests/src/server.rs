//! A server the sync fault matrix can crash, restart, back up and restore, behind a
//! [`FaultProxy`] so clients keep one address through all of it.
//!
//! Unlike [`crate::TestApp`], whose server lives as long as the test, a [`SyncServer`] owns its
//! database location rather than an open connection, and starts `Application`s on it on demand:
//! `kill` drops the running one mid-flight (as a crash would), `start` opens the same database
//! again, `backup` copies the database while the server runs (SQLite `VACUUM INTO`, PostgreSQL
//! `pg_dump`), and `restore` starts the server on a copy of an older backup with a new epoch.

use crate::Account;
use crate::backend::{Backend, POSTGRES_URL_VAR, PgDatabase, Probe};
use crate::proxy::FaultProxy;
use smartmap_server::Application;
use smartmap_server::clock::{Clock, ManualClock};
use smartmap_server::config::Settings;
use smartmap_server::state::AppState;
use smartmap_server::storage::{PgStorage, SqliteStorage, Storage};
use smartmap_shared::role::Role;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Where a server's database lives.
enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database on the test server.
    Postgres(String),
}

/// A copy of the database at one moment.
pub struct Backup {
    file: PathBuf,
}

struct Running {
    state: AppState,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

/// A restartable server behind a fault-injecting proxy.
pub struct SyncServer {
    /// The backend.
    pub backend: Backend,
    /// The server's clock (kept across restarts).
    pub clock: Arc<ManualClock>,
    /// What clients connect to.
    pub proxy: FaultProxy,
    settings: Settings,
    location: Location,
    running: Option<Running>,
    /// PostgreSQL databases this server made, dropped at the end.
    _databases: Vec<PgDatabase>,
    dir: tempfile::TempDir,
    backups: u32,
}

impl SyncServer {
    /// A fresh database of `backend`, a server on it, and a proxy in front. `adjust` tunes the
    /// settings (they persist across restarts).
    pub async fn start(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> SyncServer {
        if let Ok(filter) = std::env::var("SMARTMAP_TEST_LOG") {
            // A failing fault case is easier to read with the server's log.
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut databases = Vec::new();
        let location = match backend {
            Backend::Sqlite => Location::Sqlite(dir.path().join("smartmap.db")),
            Backend::Postgres => {
                let name = create_pg_database().await;
                databases.push(pg_guard(&name));
                Location::Postgres(name)
            }
        };
        let mut settings = Settings {
            bind: "127.0.0.1:0".into(),
            data_dir: dir.path().to_path_buf(),
            database_url: None,
            media_dir: Some(dir.path().join("media")),
            seed_demo: false,
            overdue_sweep_seconds: 0,
            ..Settings::default()
        };
        adjust(&mut settings);
        let clock = Arc::new(ManualClock::new(crate::start()));
        // The proxy needs a target before the first server exists; it is retargeted at once.
        let proxy = FaultProxy::start("127.0.0.1:9".parse().expect("an address")).await;
        let mut server = SyncServer {
            backend,
            clock,
            proxy,
            settings,
            location,
            running: None,
            _databases: databases,
            dir,
            backups: 0,
        };
        server.boot().await;
        server
    }

    /// The URL clients use (the proxy's).
    pub fn url(&self) -> String {
        self.proxy.url()
    }

    /// The running server's own URL, bypassing the proxy (staff and checks use it).
    pub fn direct_url(&self) -> String {
        format!("http://{}", self.running.as_ref().expect("the server is running").addr)
    }

    /// Creates an account of `role` with the test password ([`crate::PASSWORD`]) and a session
    /// for calls made directly (staff actions); phones sign in themselves.
    pub async fn make_user(&self, role: Role, district: Option<&str>, body: Option<&str>) -> Account {
        crate::create_account(self.state(), self.clock.now(), role, district, body).await
    }

    /// The running server's state (storage, settings, reference data).
    pub fn state(&self) -> &AppState {
        &self.running.as_ref().expect("the server is running").state
    }

    /// A direct line to the current database, for counting rows.
    pub async fn probe(&self) -> Probe {
        match &self.location {
            Location::Sqlite(path) => {
                let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
                    .expect("a SQLite URL")
                    .read_only(true);
                Probe::Sqlite(SqlitePoolOptions::new().max_connections(1).connect_lazy_with(options))
            }
            Location::Postgres(name) => {
                let options = pg_options(name);
                Probe::Postgres(PgPoolOptions::new().max_connections(1).connect_lazy_with(options))
            }
        }
    }

    /// Stops the server abruptly, as a crash would: requests in flight get no answer.
    pub async fn kill(&mut self) {
        if let Some(running) = self.running.take() {
            running.task.abort();
            let _ = running.task.await;
        }
        self.proxy.drop_connections();
    }

    /// Kills the server and starts it again on the same database.
    pub async fn restart(&mut self) {
        self.kill().await;
        self.boot().await;
    }

    /// Copies the database as it is now (the server keeps running).
    pub async fn backup(&mut self) -> Backup {
        self.backups += 1;
        let file = self.dir.path().join(format!("backup-{}", self.backups));
        match &self.location {
            Location::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("opening the database to back up");
                let sql = format!("VACUUM INTO '{}'", file.display());
                sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await.expect("VACUUM INTO");
            }
            Location::Postgres(name) => {
                let url = pg_url(name);
                let status = Command::new("pg_dump")
                    .args(["--no-owner", "--no-privileges", "--file"])
                    .arg(&file)
                    .arg(&url)
                    .status()
                    .expect("running pg_dump");
                assert!(status.success(), "pg_dump failed");
            }
        }
        Backup { file }
    }

    /// Kills the server, restores `backup` into a new database, gives it a new epoch (what
    /// `smartmap restore` does) and starts the server on it. Clients keep their address.
    pub async fn restore(&mut self, backup: &Backup) {
        self.kill().await;
        self.backups += 1;
        self.location = match &self.location {
            Location::Sqlite(_) => {
                let path = self.dir.path().join(format!("restored-{}.db", self.backups));
                std::fs::copy(&backup.file, &path).expect("copying the backup");
                Location::Sqlite(path)
            }
            Location::Postgres(_) => {
                let name = create_pg_database().await;
                self._databases.push(pg_guard(&name));
                let status = Command::new("psql")
                    .args(["--quiet", "--set", "ON_ERROR_STOP=1", "--file"])
                    .arg(&backup.file)
                    .arg(pg_url(&name))
                    .stdout(std::process::Stdio::null())
                    .status()
                    .expect("running psql");
                assert!(status.success(), "restoring the dump failed");
                Location::Postgres(name)
            }
        };
        let storage = self.open_storage().await;
        storage.migrate().await.expect("migrating the restored database");
        smartmap_server::sync::epoch::new_epoch(storage.as_ref()).await.expect("a new epoch");
        drop(storage);
        self.boot().await;
    }

    async fn open_storage(&self) -> Arc<dyn Storage> {
        match &self.location {
            Location::Sqlite(path) => {
                Arc::new(SqliteStorage::connect(&format!("sqlite://{}", path.display())).await.expect("opening SQLite"))
            }
            Location::Postgres(name) => {
                Arc::new(PgStorage::connect_with(pg_options(name)).await.expect("opening PostgreSQL"))
            }
        }
    }

    async fn boot(&mut self) {
        let storage = self.open_storage().await;
        let app = Application::build_with_storage(self.settings.clone(), self.clock.clone() as Arc<dyn Clock>, storage)
            .await
            .expect("building the server");
        let addr: SocketAddr = app.local_addr();
        let state = app.state().clone();
        let task = tokio::spawn(async move {
            let _ = app.run_until(std::future::pending()).await;
        });
        self.proxy.retarget(addr);
        self.running = Some(Running { state, addr, task });
    }
}

impl Drop for SyncServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.task.abort();
        }
    }
}

fn admin_url() -> String {
    std::env::var(POSTGRES_URL_VAR).expect("SMARTMAP_TEST_POSTGRES_URL names the PostgreSQL server")
}

fn pg_options(name: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(&admin_url()).expect("a PostgreSQL URL").database(name)
}

fn pg_url(name: &str) -> String {
    let mut url = reqwest::Url::parse(&admin_url()).expect("a PostgreSQL URL");
    url.set_path(name);
    url.to_string()
}

async fn create_pg_database() -> String {
    let name = format!("smartmap_sync_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url()).await.expect("connecting to PostgreSQL");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.expect("CREATE DATABASE");
    name
}

fn pg_guard(name: &str) -> PgDatabase {
    PgDatabase::new(admin_url(), name.to_owned())
}
