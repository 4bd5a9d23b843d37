//! The two storage backends a scenario runs on, each on a database of its own: a fresh SQLite
//! file in a temporary directory, or a fresh PostgreSQL database on the server named by
//! `SMARTMAP_TEST_POSTGRES_URL` (dropped again when the test ends, pass or fail).
//!
//! Besides the server's own storage, each database gets a [`Probe`]: a separate connection the
//! tests use to count rows, so "the database holds nothing partial" is checked in the tables
//! themselves rather than through the API under test.

use smartmap_server::storage::{PgStorage, SqliteStorage, Storage};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// Names a PostgreSQL server (any database on it) for the tests to create databases on.
pub const POSTGRES_URL_VAR: &str = "SMARTMAP_TEST_POSTGRES_URL";
/// Set to `1` to fail, rather than skip, PostgreSQL scenarios when the server is not named.
pub const REQUIRE_POSTGRES_VAR: &str = "SMARTMAP_REQUIRE_POSTGRES";

/// Which storage backend a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// PostgreSQL + PostGIS.
    Postgres,
}

impl Backend {
    /// Whether this backend can run here. PostgreSQL needs [`POSTGRES_URL_VAR`]; without it the
    /// scenario is skipped with a notice on stderr, or fails when [`REQUIRE_POSTGRES_VAR`] is `1`
    /// (how CI makes sure the second backend really ran).
    pub fn available(self) -> bool {
        match self {
            Backend::Sqlite => true,
            Backend::Postgres => {
                if std::env::var(POSTGRES_URL_VAR).is_ok_and(|v| !v.is_empty()) {
                    return true;
                }
                if std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1") {
                    panic!("{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set");
                }
                eprintln!("skipped on PostgreSQL: {POSTGRES_URL_VAR} is not set");
                false
            }
        }
    }
}

/// A database made for one test: the server's storage, a probe, and what to clean up.
pub(crate) struct TestDatabase {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) probe: Probe,
    /// The PostgreSQL database to drop when the test ends.
    pub(crate) drop_on_exit: Option<PgDatabase>,
}

/// A PostgreSQL database created for a test.
pub(crate) struct PgDatabase {
    admin_url: String,
    name: String,
}

impl PgDatabase {
    /// Takes charge of dropping database `name` on the server at `admin_url`.
    pub(crate) fn new(admin_url: String, name: String) -> PgDatabase {
        PgDatabase { admin_url, name }
    }
}

impl Drop for PgDatabase {
    /// Drops the database, ending the server's sessions on it. Best effort: a leftover database
    /// is litter, not a failure. Runs on a thread of its own because `Drop` may run while a panic
    /// unwinds inside the test's runtime.
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&url).await?;
                sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut admin)
                    .await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(outcome, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Creates and opens a fresh database of `backend` (SQLite inside `dir`).
pub(crate) async fn open(backend: Backend, dir: &Path) -> anyhow::Result<TestDatabase> {
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", dir.join("smartmap.db").display());
            let storage = SqliteStorage::connect(&url).await?;
            // The server migrates on build; the probe connects lazily, after that.
            let options = SqliteConnectOptions::from_str(&url)?.read_only(true);
            let probe = SqlitePoolOptions::new().max_connections(1).connect_lazy_with(options);
            Ok(TestDatabase { storage: Arc::new(storage), probe: Probe::Sqlite(probe), drop_on_exit: None })
        }
        Backend::Postgres => {
            let admin_url = std::env::var(POSTGRES_URL_VAR)?;
            let name = format!("smartmap_it_{}", uuid::Uuid::new_v4().simple());
            let mut admin = PgConnection::connect(&admin_url).await?;
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
            let database = PgDatabase { admin_url: admin_url.clone(), name: name.clone() };
            let options = PgConnectOptions::from_str(&admin_url)?.database(&name);
            let storage = PgStorage::connect_with(options.clone()).await?;
            let probe = PgPoolOptions::new().max_connections(1).connect_lazy_with(options);
            Ok(TestDatabase { storage: Arc::new(storage), probe: Probe::Postgres(probe), drop_on_exit: Some(database) })
        }
    }
}

/// A direct line to a test's database, for counting rows behind the API's back.
#[derive(Clone)]
pub enum Probe {
    /// A read-only connection to the SQLite file.
    Sqlite(SqlitePool),
    /// A connection to the PostgreSQL test database.
    Postgres(PgPool),
}

/// The tables a report's life writes to.
pub const REPORT_TABLES: [&str; 4] = ["reports", "report_photos", "report_events", "notifications"];

impl Probe {
    /// How many rows `table` holds. `table` is one of the schema's names, never user input.
    pub async fn rows(&self, table: &'static str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let counted = match self {
            Probe::Sqlite(pool) => sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)).fetch_one(pool).await,
            Probe::Postgres(pool) => sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)).fetch_one(pool).await,
        };
        counted.unwrap_or_else(|e| panic!("counting rows of {table}: {e}"))
    }
}
