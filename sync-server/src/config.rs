//! Layered configuration: defaults, then an optional TOML file, then `SMARTMAP__*` environment
//! variables (e.g. `SMARTMAP__BIND=0.0.0.0:8080`), then `DATABASE_URL`.

use serde::Deserialize;
use std::path::PathBuf;

/// Server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    /// Where the SQLite database and media live by default.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default `sqlite://<data_dir>/smartmap.db`.
    pub database_url: Option<String>,
    /// Where media blobs live; default `<data_dir>/media`.
    pub media_dir: Option<PathBuf>,
    /// Seed demo data when the database has no categories yet.
    pub seed_demo: bool,
    /// Days after a closure during which the reporter may dispute it.
    pub dispute_window_days: i64,
    /// Below this zoom level the map API returns clusters instead of points.
    pub cluster_below_zoom: u8,
    /// How long a login lasts, in days.
    pub session_days: i64,
    /// Seconds between overdue sweeps; 0 turns the background sweep off (tests run it by hand).
    pub overdue_sweep_seconds: u64,
    /// Longest accepted report description, in characters.
    pub max_description_chars: usize,
    /// Most photos on one report or closure.
    pub max_photos: usize,
    /// Largest accepted photo upload, in bytes.
    pub max_photo_bytes: usize,
    /// The body that gets reports no routing rule and no district administration claims.
    pub fallback_body: String,
    /// The server's public base URL (e.g. `https://smartmap.tbilisi.gov.ge`), used where an
    /// answer must carry absolute links (Open311's `media_url`, discovery). Unset: taken from
    /// each request's `Host` header, which is only right behind a proxy that sets it faithfully.
    pub public_url: Option<String>,
    /// How far from a report a proof-of-fix photo may be taken, in metres.
    pub proof_geofence_m: f64,
    /// How long a device's access token lasts, in minutes (browser sessions use `session_days`).
    pub access_token_minutes: i64,
    /// How long an unused device refresh token lasts, in days.
    pub refresh_token_days: i64,
    /// Seconds during which a spent refresh token is still honoured (a retry whose answer was lost).
    pub refresh_grace_seconds: i64,
    /// Hours an unfinished resumable upload is kept.
    pub upload_expiry_hours: i64,
    /// Where unfinished resumable uploads live; default `<data_dir>/uploads`.
    pub uploads_dir: Option<PathBuf>,
    /// The built web UI (`cargo xtask ui` writes it), served at `/` when it holds an
    /// `index.html`; relative paths are taken from the working directory.
    pub ui_dir: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            database_url: None,
            media_dir: None,
            seed_demo: true,
            dispute_window_days: 14,
            cluster_below_zoom: 15,
            session_days: 30,
            overdue_sweep_seconds: 60,
            max_description_chars: 5_000,
            max_photos: 6,
            max_photo_bytes: 20 * 1024 * 1024,
            fallback_body: "municipal-services-agency".into(),
            public_url: None,
            proof_geofence_m: smartmap_shared::sync::DEFAULT_PROOF_GEOFENCE_M,
            access_token_minutes: 60,
            refresh_token_days: 90,
            refresh_grace_seconds: 30,
            upload_expiry_hours: 24,
            uploads_dir: None,
            ui_dir: PathBuf::from("ui/dist"),
        }
    }
}

impl Settings {
    /// Loads settings from `file` (if given and present) and the environment.
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Settings> {
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).required(true));
        }
        builder = builder.add_source(config::Environment::with_prefix("SMARTMAP").separator("__"));
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        if let Ok(url) = std::env::var("DATABASE_URL") {
            settings.database_url = Some(url);
        }
        Ok(settings)
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}/smartmap.db", self.data_dir.display()))
    }

    /// The unfinished-uploads folder in effect.
    pub fn uploads_dir(&self) -> PathBuf {
        self.uploads_dir.clone().unwrap_or_else(|| self.data_dir.join("uploads"))
    }

    /// The media folder in effect.
    pub fn media_dir(&self) -> PathBuf {
        self.media_dir.clone().unwrap_or_else(|| self.data_dir.join("media"))
    }
}
