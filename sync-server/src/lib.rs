//! Smart Map Tbilisi server: the HTTP API of Fix-Tbilisi (reports, routing, deadlines, staff
//! queues, crews, disputes, the public map and statistics), storage on SQLite or PostgreSQL,
//! background jobs and the photo store.
//!
//! # Layout
//! - [`config`]: layered settings. [`clock`]: injected time.
//! - [`storage`]: the [`storage::Storage`] trait and its SQLite and PostgreSQL implementations;
//!   the only module that knows SQL.
//! - [`reports`]: submission and actions on reports — domain decisions over storage, no HTTP.
//! - [`http`]: one router per feature, problem+json errors ([`error`]), auth extractors
//!   ([`auth`]), the route catalogue the OpenAPI description and the authorization test share.
//! - [`jobs`]: overdue detection and escalation. [`stats`]: public statistics.
//! - [`media`]: content-addressed photo blobs. [`demo`]: demo data.
//! - [`uploads`]: resumable photo uploads (tus 1.0) kept on disk until complete.
//! - [`device_auth`]: device sign-in and refresh-token rotation.
//!
//! [`Application::build`] binds a listener (port 0 in tests) and returns the running app's
//! address; `main.rs` is a thin CLI over it.

pub mod auth;
pub mod clock;
pub mod config;
pub mod demo;
pub mod device_auth;
pub mod error;
pub mod http;
pub mod jobs;
pub mod media;
pub mod open311;
pub mod reports;
pub mod state;
pub mod stats;
pub mod storage;
pub mod sync;
pub mod uploads;

use crate::clock::Clock;
use crate::config::Settings;
use crate::media::BlobStore;
use crate::state::AppState;
use crate::storage::Storage;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// A built, bound application, ready to serve.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects storage, migrates, seeds demo data if asked and the database is empty, and binds
    /// the listener.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        std::fs::create_dir_all(&settings.data_dir)?;
        let storage = storage::connect(&settings.database_url()).await?;
        Self::build_with_storage(settings, clock, storage).await
    }

    /// Like [`Application::build`], over storage the caller opened.
    pub async fn build_with_storage(
        settings: Settings,
        clock: Arc<dyn Clock>,
        storage: Arc<dyn Storage>,
    ) -> anyhow::Result<Application> {
        storage.migrate().await?;
        if storage.categories().await?.is_empty() {
            demo::seed_reference(storage.as_ref()).await?;
        }
        let blobs = BlobStore::open(settings.media_dir())?;
        let listener = TcpListener::bind(&settings.bind).await?;
        let state = AppState::new(storage, clock, blobs, settings).await?;
        Ok(Application { listener, state })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The shared state (tests use it to drive jobs and read storage).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes; starts the background sweeper if configured.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        if self.state.settings.overdue_sweep_seconds > 0 {
            jobs::spawn_overdue_sweeper(self.state.clone(), self.state.settings.overdue_sweep_seconds);
        }
        let app = http::router(self.state);
        axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await?;
        Ok(())
    }
}
