//! Shared by the benchmarks: a server on a temp SQLite database, and report rows to insert raw.

#![allow(dead_code)]

use smartmap_server::Application;
use smartmap_server::clock::SystemClock;
use smartmap_server::config::Settings;
use std::path::Path;
use std::sync::Arc;

/// Settings for a benchmark server in `dir`.
pub fn settings(dir: &Path) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        seed_demo: false,
        overdue_sweep_seconds: 0,
        ..Settings::default()
    }
}

/// Builds (migrates, seeds reference data) and returns the app.
pub async fn app(dir: &Path) -> Application {
    Application::build(settings(dir), Arc::new(SystemClock)).await.expect("building the app")
}

/// A deterministic point generator inside Tbilisi's central area.
pub struct Points(u64);

impl Points {
    pub fn new(seed: u64) -> Self {
        Points(seed)
    }
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// (lat, lon) in the box 41.62–41.84 N, 44.60–45.01 E.
    pub fn point(&mut self) -> (f64, f64) {
        (41.62 + self.next() * 0.22, 44.60 + self.next() * 0.41)
    }
}

/// Percentile of sorted durations in milliseconds.
pub fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    let idx = ((sorted_ms.len() as f64 - 1.0) * p).round() as usize;
    sorted_ms[idx]
}
