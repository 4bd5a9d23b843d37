//! What the phone scenarios share: a phone on a temp dir, reference data seeded the way a
//! snapshot from the server would deliver it, JPEGs made in memory.

#![allow(dead_code)] // each test binary uses a different part

use chrono::{DateTime, Utc};
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use serde_json::{Value, json};
use smartmap_mobile::store::Store;
use smartmap_mobile::{Client, Clock, Config};
use smartmap_shared::body::tbilisi_bodies;
use smartmap_shared::calendar::Calendar;
use smartmap_shared::category::first_stage_categories;
use smartmap_shared::district::demo_districts;
use smartmap_shared::ids::ReportId;
use smartmap_shared::routing::default_routing_rules;
use smartmap_shared::sync::{Change, Cursor, EntityKind, RoutingSnapshot, Snapshot};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Gldani's seed point.
pub const GLDANI: (f64, f64) = (41.8027, 44.8291);

/// Tuesday 2026-03-10, 09:00 in Tbilisi.
pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-10T05:00:00Z").unwrap().with_timezone(&Utc)
}

/// A clock the test moves.
#[derive(Debug)]
pub struct TestClock(pub Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A phone: its database in a temp dir and a test clock.
pub struct Phone {
    pub client: Client,
    pub db: PathBuf,
    pub clock: Arc<TestClock>,
    _dir: tempfile::TempDir,
}

impl Phone {
    /// A second connection to the phone's database, to look behind the API.
    pub fn store(&self) -> Store {
        Store::open(&self.db).unwrap()
    }
}

/// A server address nothing listens on (connection refused at once).
pub fn dead_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Opens a phone for `server`, after `seed` prepared its database.
pub async fn phone_with(server: &str, seed: impl FnOnce(&Path)) -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("phone.db");
    seed(&db);
    let clock = Arc::new(TestClock(Mutex::new(start())));
    let mut config = Config::new(server);
    config.clock = clock.clone();
    config.connect_timeout = std::time::Duration::from_secs(2);
    config.request_timeout = std::time::Duration::from_secs(5);
    let client = Client::open_with(&db, config).await.unwrap();
    Phone { client, db, clock, _dir: dir }
}

fn entity(entity: EntityKind, id: &str, data: Value) -> Change {
    Change { seq: 1, entity, id: id.into(), version: 1, deleted: false, data: Some(data) }
}

/// Tbilisi's reference data as a snapshot carries it (shared's own demo data).
pub fn reference_entities() -> Vec<Change> {
    let mut out = Vec::new();
    for c in first_stage_categories() {
        out.push(entity(EntityKind::Category, c.id.as_str(), serde_json::to_value(&c).unwrap()));
    }
    for b in tbilisi_bodies() {
        out.push(entity(EntityKind::Body, b.id.as_str(), serde_json::to_value(&b).unwrap()));
    }
    for d in demo_districts() {
        out.push(entity(EntityKind::District, d.id.as_str(), serde_json::to_value(&d).unwrap()));
    }
    let routing = RoutingSnapshot { rules: default_routing_rules(), fallback: "city-hall-administration".into() };
    out.push(entity(EntityKind::Routing, "table", serde_json::to_value(&routing).unwrap()));
    out.push(entity(EntityKind::SlaRules, "table", json!([])));
    out.push(entity(EntityKind::Calendar, "georgia", serde_json::to_value(Calendar::georgian()).unwrap()));
    out
}

/// A report as the feed carries it.
pub fn synced_report(id: ReportId, (lat, lon): (f64, f64), mine: bool, assigned_to_me: bool) -> Change {
    let data = json!({
        "id": id, "number": 12, "category": "street-lighting", "district": "gldani", "body": "gamgeoba-gldani",
        "status": "in_progress", "location": {"lat": lat, "lon": lon}, "description": "A hole",
        "address": null, "created_at": "2026-03-09T05:00:00Z", "deadline": "2026-03-12T14:00:00Z",
        "closed_at": null, "overdue": false, "photos": [], "pending_photos": [],
        "timeline": [{"at": "2026-03-09T05:00:00Z", "action": "submitted", "status": "submitted",
                      "note": null, "by_role": "resident", "by_me": mine}],
        "mine": mine, "assigned_to_me": assigned_to_me, "following": mine,
        "updated_at": "2026-03-09T05:00:00Z", "version": 1
    });
    entity(EntityKind::Report, &id.to_string(), data)
}

/// Seeds a database as if a snapshot with `entities` had been applied.
pub fn seed_snapshot(db: &Path, entities: Vec<Change>) {
    let mut store = Store::open(db).unwrap();
    store
        .apply_snapshot(&Snapshot { entities, cursor: Cursor { epoch: "e1".into(), seq: 1 }, server_time: start() })
        .unwrap();
}

/// A JPEG of `width` × `height`, optionally with an EXIF block holding a GPS position.
pub fn jpeg(width: u32, height: u32, with_gps_exif: bool) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]));
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).unwrap();
    if with_gps_exif {
        // APP1 "Exif\0\0" + little-endian TIFF: IFD0 with one entry, GPSInfo → a GPS IFD holding
        // GPSLatitudeRef "N" and GPSLatitude 41/1 48/1 9/1 (a home in Gldani).
        let mut tiff: Vec<u8> = b"II*\0".to_vec();
        tiff.extend(8u32.to_le_bytes()); // IFD0 at 8
        tiff.extend(1u16.to_le_bytes());
        tiff.extend(0x8825u16.to_le_bytes()); // GPSInfo
        tiff.extend(4u16.to_le_bytes()); // LONG
        tiff.extend(1u32.to_le_bytes());
        tiff.extend(26u32.to_le_bytes()); // GPS IFD at 26
        tiff.extend(0u32.to_le_bytes()); // no next IFD
        assert_eq!(tiff.len(), 26);
        tiff.extend(2u16.to_le_bytes());
        tiff.extend(1u16.to_le_bytes()); // GPSLatitudeRef
        tiff.extend(2u16.to_le_bytes()); // ASCII
        tiff.extend(2u32.to_le_bytes());
        tiff.extend(b"N\0\0\0");
        tiff.extend(2u16.to_le_bytes()); // GPSLatitude
        tiff.extend(5u16.to_le_bytes()); // RATIONAL
        tiff.extend(3u32.to_le_bytes());
        tiff.extend(56u32.to_le_bytes()); // values at 56
        tiff.extend(0u32.to_le_bytes());
        assert_eq!(tiff.len(), 56);
        for v in [41u32, 1, 48, 1, 9, 1] {
            tiff.extend(v.to_le_bytes());
        }
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(tiff);
        let mut segment = vec![0xFF, 0xE1];
        segment.extend(((app1.len() + 2) as u16).to_be_bytes());
        segment.extend(app1);
        out.splice(2..2, segment);
    }
    out
}

/// The markers of a JPEG's segments up to the scan.
pub fn jpeg_markers(bytes: &[u8]) -> Vec<u8> {
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "not a JPEG");
    let mut markers = Vec::new();
    let mut i = 2;
    while i + 4 <= bytes.len() && bytes[i] == 0xFF {
        let marker = bytes[i + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        i += 2 + len;
    }
    markers
}
