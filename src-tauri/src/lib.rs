//! The Smart Map Tbilisi app: a Tauri 2 shell around the offline client core
//! (`smartmap-mobile`). Desktop (Linux, macOS, Windows) runs `src/main.rs`; Android and iOS enter
//! through [`run`], marked `tauri::mobile_entry_point`.
//!
//! # Layout
//! - this file: start-up — where the database lives, which server, the installation id kept
//!   outside the database, the [`Client`] opened and its background sync loop, and the events
//!   (`sync-progress`, `sync-finished`) forwarded to the UI.
//! - [`commands`]: the commands the UI invokes, thin calls into [`Client`] (the table is fixed
//!   with the UI: names, arguments, error codes).
//!
//! Configuration, read at start-up:
//! - `SMARTMAP_SERVER_URL`: the server's base URL; else the value baked in at compile time
//!   (`SMARTMAP_SERVER_URL=… cargo build`, how a phone build is pointed at a server), else
//!   `http://127.0.0.1:8080`.
//! - `SMARTMAP_APP_DATA`: the folder for the phone database (tests give a temp dir), else the
//!   platform's app data dir (`~/.local/share/ge.tbilisi.smartmap` on Linux, the app's sandbox on
//!   a phone).

pub mod commands;

use smartmap_mobile::{Client, Config};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tauri::{Emitter, Manager};
use tokio::sync::Notify;

/// The server when nothing else is configured: a server on the same machine (`cargo run -p
/// smartmap-server`).
pub const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8080";

/// The event carrying [`smartmap_mobile::SyncProgress`] while a sync runs.
pub const SYNC_PROGRESS_EVENT: &str = "sync-progress";
/// The event carrying [`smartmap_mobile::SyncFinished`] after every sync attempt.
pub const SYNC_FINISHED_EVENT: &str = "sync-finished";

/// What the commands share: the phone core and the address it talks to.
pub struct AppState {
    /// The phone core (cheap to clone; every clone is the same client).
    pub client: Client,
    /// The server's base URL.
    pub server_url: String,
    /// Ends the background sync loop when the app exits.
    shutdown: Arc<Notify>,
}

/// The server's base URL, per the configuration above.
pub fn server_url() -> String {
    std::env::var("SMARTMAP_SERVER_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .or_else(|| option_env!("SMARTMAP_SERVER_URL").map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// The folder of the phone database, per the configuration above.
fn data_dir(app: &tauri::AppHandle) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let dir = match std::env::var_os("SMARTMAP_APP_DATA").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => app.path().app_data_dir()?,
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Where the installation id is kept: storage the OS does not back up, so that a database
/// restored from a backup onto a reinstalled app meets a new id (`Config::installation_id`).
/// Android: `noBackupFilesDir` (`<dataDir>/no_backup`, which Auto Backup skips). iOS:
/// `Library/Caches` (never in an iCloud or iTunes backup; if iOS purges it under storage
/// pressure the app only asks for a sign-in again). Desktop, and any run with
/// `SMARTMAP_APP_DATA`: next to the database.
fn installation_dir(app: &tauri::AppHandle, data_dir: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let dir = if std::env::var_os("SMARTMAP_APP_DATA").is_some_and(|d| !d.is_empty()) {
        data_dir.to_owned()
    } else if cfg!(target_os = "android") {
        app.path().app_data_dir()?.join("no_backup")
    } else if cfg!(target_os = "ios") {
        app.path().app_cache_dir()?
    } else {
        data_dir.to_owned()
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// This installation's id, from `dir` (minted and stored on the first start).
fn installation_id(dir: &Path) -> std::io::Result<uuid::Uuid> {
    let path = dir.join("installation-id");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(id) = uuid::Uuid::parse_str(text.trim())
    {
        return Ok(id);
    }
    let id = uuid::Uuid::new_v4();
    // Written to a temporary name and renamed, so a crash never leaves a half-written id.
    let partial = dir.join("installation-id.partial");
    std::fs::write(&partial, id.to_string())?;
    std::fs::rename(&partial, &path)?;
    Ok(id)
}

/// Opens the phone core: the database in `data_dir`, the installation id from `id_dir`.
async fn open_client(data_dir: &Path, id_dir: &Path, server_url: &str) -> Result<Client, Box<dyn std::error::Error>> {
    let mut config = Config::new(server_url);
    config.installation_id = Some(installation_id(id_dir)?);
    Ok(Client::open_with(data_dir.join("smartmap.db"), config).await?)
}

/// Runs the background sync loop and forwards its events to the UI until the app exits.
fn start_background_sync(app: &tauri::AppHandle, client: &Client, shutdown: Arc<Notify>) {
    let loop_client = client.clone();
    tauri::async_runtime::spawn(async move {
        loop_client.run(shutdown.notified()).await;
        tracing::info!("background sync stopped");
    });

    let mut progress = client.subscribe();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match progress.recv().await {
                Ok(event) => {
                    if let Err(e) = handle.emit(SYNC_PROGRESS_EVENT, &event) {
                        tracing::warn!(error = %e, "could not emit sync-progress");
                    }
                }
                // A slow UI missed some progress events; the next one is as good.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
    });

    let mut finished = client.subscribe_finished();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match finished.recv().await {
                Ok(event) => {
                    if let Err(e) = handle.emit(SYNC_FINISHED_EVENT, &event) {
                        tracing::warn!(error = %e, "could not emit sync-finished");
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// Starts the app: opens the phone core, starts its background sync, and shows the UI.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_geolocation::init())
        .setup(|app| {
            let handle = app.handle().clone();
            let dir = data_dir(&handle)?;
            let id_dir = installation_dir(&handle, &dir)?;
            let server_url = server_url();
            let client = tauri::async_runtime::block_on(open_client(&dir, &id_dir, &server_url))?;
            tracing::info!(%server_url, data = %dir.display(), "phone core opened");
            let shutdown = Arc::new(Notify::new());
            start_background_sync(&handle, &client, shutdown.clone());
            app.manage(AppState { client, server_url, shutdown });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::account,
            commands::login,
            commands::logout,
            commands::access_token,
            commands::categories,
            commands::preview,
            commands::create_report,
            commands::comment,
            commands::follow,
            commands::dispute,
            commands::close_ticket,
            commands::my_reports,
            commands::my_tickets,
            commands::report,
            commands::local_thumbnail,
            commands::outbox,
            commands::sync_status,
            commands::sync_now,
        ])
        .build(tauri::generate_context!())
        .expect("the app could not start");

    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event
            && let Some(state) = handle.try_state::<AppState>()
        {
            // A stored permit: the loop stops at its next await even if it is mid-sync now.
            state.shutdown.notify_one();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installation_id_is_minted_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = installation_id(dir.path()).unwrap();
        assert_eq!(installation_id(dir.path()).unwrap(), first);
        std::fs::write(dir.path().join("installation-id"), "not a uuid").unwrap();
        assert_ne!(installation_id(dir.path()).unwrap(), first, "a damaged file gets a new id");
    }
}
