//! Phones for the sync tests: the real mobile core (`smartmap-mobile`) on its own SQLite file,
//! talking to a [`SyncServer`] through its proxy, on the server's clock; and what the tests
//! count on the server's side.

use crate::photos::jpeg;
use crate::server::SyncServer;
use crate::{Account, GLDANI, PASSWORD, Probe};
use smartmap_mobile::{Client, Config, ReportDraft};
use smartmap_shared::geo::LatLon;
use smartmap_shared::ids::ReportId;
use smartmap_shared::role::Role;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

/// A phone: the mobile core on its own database, talking to the server through the proxy, on
/// the server's clock (so token expiry is test time).
pub struct Phone {
    /// The mobile core.
    pub client: Client,
    /// Its database file.
    pub db: PathBuf,
    /// The folder holding it.
    pub dir: Arc<tempfile::TempDir>,
}

/// The mobile core's clock, reading the server's manual clock.
#[derive(Debug)]
pub struct TestClock(Arc<smartmap_server::clock::ManualClock>);

impl smartmap_mobile::Clock for TestClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        smartmap_server::clock::Clock::now(self.0.as_ref())
    }
}

pub fn config(server: &SyncServer) -> Config {
    let mut config = Config::new(server.url());
    config.clock = Arc::new(TestClock(server.clock.clone()));
    config.request_timeout = std::time::Duration::from_secs(30);
    config.connect_timeout = std::time::Duration::from_secs(5);
    config
}

impl Phone {
    /// A fresh installation.
    pub async fn new(server: &SyncServer) -> Phone {
        Phone::with_config(config(server)).await
    }

    pub async fn with_config(config: Config) -> Phone {
        let dir = Arc::new(tempfile::tempdir().expect("a temporary directory"));
        let db = dir.path().join("phone.db");
        let client = Client::open_with(&db, config).await.expect("opening the phone's database");
        Phone { client, db, dir }
    }

    /// The same installation after the app was killed and started again.
    pub async fn restart(self, server: &SyncServer) -> Phone {
        let Phone { client, db, dir } = self;
        drop(client);
        let client = Client::open_with(&db, config(server)).await.expect("reopening the phone's database");
        Phone { client, db, dir }
    }

    pub async fn login(&self, account: &Account) {
        self.client.login(&account.email, PASSWORD).await.expect("signing in");
    }

    /// Captures a report with `photos` photos in Gldani; returns its id.
    pub async fn capture(&self, n: usize, photos: usize) -> ReportId {
        self.capture_at(n, photos, (GLDANI.0 + (n % 100) as f64 * 1e-5, GLDANI.1)).await
    }

    /// Captures a report at `(lat, lon)`.
    pub async fn capture_at(&self, n: usize, photos: usize, (lat, lon): (f64, f64)) -> ReportId {
        let draft = ReportDraft {
            category: "cleaning".into(),
            location: LatLon::new(lat, lon).expect("a location"),
            description: format!("ნაგავი #{n}"),
            address: None,
            hide_name: false,
            photos: (0..photos).map(|i| jpeg(96, 64, (n * 7 + i) as u8)).collect(),
        };
        self.client.create_report(draft).await.expect("capturing a report").report_id
    }

    /// Syncs until nothing is left to send. `sync_now` is what the app's "sync now" does: retry
    /// at once, whatever backoff is held. A transient failure (a request timing out while a
    /// hundred phones sync on two cores) is retried, as the app's background loop would, a few
    /// times; anything else fails the test.
    pub async fn sync(&self) {
        for attempt in 1.. {
            match self.client.sync_now().await {
                Ok(_) => break,
                Err(e) if e.is_transient() && attempt < 5 => {
                    eprintln!("sync attempt {attempt} failed, retrying: {e}");
                }
                Err(e) => panic!("a sync failed: {e:?}"),
            }
        }
        let status = self.client.sync_status().await.expect("the sync status");
        assert_eq!(status.pending_items, 0, "nothing may stay queued after a clean sync: {status:?}");
    }

    /// The ids of the phone's own reports that the server has confirmed.
    pub async fn synced_report_ids(&self) -> BTreeSet<ReportId> {
        let mine = self.client.my_reports().await.expect("my reports");
        mine.iter().filter(|r| !r.pending && r.number.is_some()).map(|r| r.id).collect()
    }
}

/// Copies a phone's SQLite database file by file, as an OS backup does: the main file and its
/// write-ahead log.
pub fn copy_database(from: &std::path::Path, to: &std::path::Path) {
    std::fs::copy(from, to).expect("copying the database");
    let wal = |p: &std::path::Path| PathBuf::from(format!("{}-wal", p.display()));
    if wal(from).exists() {
        std::fs::copy(wal(from), wal(to)).expect("copying the write-ahead log");
    }
}

// ---- The server's side ----------------------------------------------------------------------

/// What the server stores, counted in its tables.
#[derive(Debug, PartialEq, Eq)]
pub struct Stored {
    /// Rows in `reports`.
    pub reports: i64,
    /// Rows in `report_photos`.
    pub photos: i64,
    /// Rows in `applied_mutations`.
    pub mutations: i64,
}

pub async fn stored(probe: &Probe) -> Stored {
    Stored {
        reports: probe.rows("reports").await,
        photos: probe.rows("report_photos").await,
        mutations: probe.rows("applied_mutations").await,
    }
}

/// The ids of `account`'s reports as the server lists them.
pub async fn server_report_ids(server: &SyncServer, account: &Account) -> BTreeSet<ReportId> {
    let reply = reqwest::Client::new()
        .get(format!("{}/api/me/reports", server.direct_url()))
        .bearer_auth(&account.token)
        .send()
        .await
        .expect("listing reports");
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = reply.json().await.expect("JSON");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| ReportId(r["id"].as_str().expect("an id").parse().expect("a UUID")))
        .collect()
}

pub async fn resident(server: &SyncServer) -> Account {
    server.make_user(Role::Resident, None, None).await
}
