//! `smartmap import districts FILE` replaces the demo polygons with official ones, and reports
//! are then located and routed by the imported boundaries. Runs the real binary against the real
//! district file from the handbook (`../shared/data/`, override with `SMARTMAP_REFERENCE_DATA`).

use smartmap_server::storage;
use smartmap_shared::district::{DistrictMap, demo_districts, parse_feature_collection};
use smartmap_shared::geo::LatLon;
use std::path::PathBuf;
use std::process::Command;

const DEFAULT_DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

fn reference_file() -> PathBuf {
    let dir =
        std::env::var_os("SMARTMAP_REFERENCE_DATA").map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), PathBuf::from);
    let file = dir.join("tbilisi-districts.geojson");
    assert!(file.exists(), "the reference districts are missing at {}; set SMARTMAP_REFERENCE_DATA", file.display());
    file
}

fn smartmap(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_smartmap"))
        .args(args)
        .env("SMARTMAP__DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("running the smartmap binary")
}

#[tokio::test]
async fn importing_official_districts_replaces_the_demo_polygons() {
    let dir = tempfile::tempdir().unwrap();
    let file = reference_file();

    let out = smartmap(dir.path(), &["import", "districts", file.to_str().unwrap()]);
    assert!(out.status.success(), "import failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 10 districts"));

    let url = format!("sqlite://{}/smartmap.db", dir.path().display());
    let storage = storage::connect(&url).await.unwrap();
    let districts = storage.districts().await.unwrap();
    assert_eq!(districts.len(), 10);
    let map = DistrictMap::new(districts);

    // Find a point where the demo polygons and the official ones disagree; after the import the
    // database must answer as the official file does.
    let official = DistrictMap::new(parse_feature_collection(&std::fs::read_to_string(&file).unwrap()).unwrap());
    let demo = DistrictMap::new(demo_districts());
    let disputed = (0..60)
        .flat_map(|i| (0..60).map(move |j| (41.62 + 0.22 * i as f64 / 60.0, 44.60 + 0.41 * j as f64 / 60.0)))
        .filter_map(|(lat, lon)| LatLon::new(lat, lon).ok())
        .find(|p| match (official.locate(*p), demo.locate(*p)) {
            (Some(o), Some(d)) => o.id != d.id,
            _ => false,
        })
        .expect("the demo cells are only an approximation");
    assert_eq!(map.locate(disputed).map(|d| &d.id), official.locate(disputed).map(|d| &d.id));
    assert_ne!(map.locate(disputed).map(|d| &d.id), demo.locate(disputed).map(|d| &d.id));
    // Outside the city, in Rustavi.
    assert!(map.locate(LatLon::new(41.5495, 45.0).unwrap()).is_none());
    // Georgian names came along.
    assert_eq!(map.get(&smartmap_shared::ids::DistrictId::parse("gldani").unwrap()).unwrap().name.ka, "გლდანი");
}

#[test]
fn a_file_that_is_not_a_feature_collection_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.geojson");
    std::fs::write(&bad, r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"slug":"x"},"geometry":{"type":"Point","coordinates":[44.8,41.7]}}]}"#).unwrap();
    let out = smartmap(dir.path(), &["import", "districts", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a usable district FeatureCollection"), "{stderr}");
}
