//! Routing against real district boundaries: the OpenStreetMap-derived polygons of Tbilisi's 10
//! districts in the team handbook (`../shared/data/`, ODbL, not copied into this repository).
//!
//! Set `SMARTMAP_REFERENCE_DATA` to the folder holding `tbilisi-districts.geojson` to read it from
//! elsewhere.

use smartmap_shared::body::district_administration_id;
use smartmap_shared::district::{DistrictMap, demo_districts, parse_feature_collection};
use smartmap_shared::geo::{BBox, LatLon, TBILISI_BBOX};
use smartmap_shared::ids::{BodyId, CategoryId, DistrictId};
use smartmap_shared::routing::{RouteMatch, RoutingTable, default_routing_rules};
use std::path::PathBuf;

const DEFAULT_DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

/// The reference GeoJSON as text and as JSON (for the properties the parser does not keep).
fn reference_districts() -> (String, serde_json::Value) {
    let dir =
        std::env::var_os("SMARTMAP_REFERENCE_DATA").map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), PathBuf::from);
    let path = dir.join("tbilisi-districts.geojson");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the reference district polygons at {}: {e}. They live in the team \
             handbook's data folder next to the repository checkout; set SMARTMAP_REFERENCE_DATA \
             to the folder holding tbilisi-districts.geojson.",
            path.display()
        )
    });
    let json = serde_json::from_str(&text).expect("the reference file is JSON");
    (text, json)
}

/// Each feature's slug and label point ([lon, lat] in the file).
fn label_points(json: &serde_json::Value) -> Vec<(String, LatLon)> {
    json["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            let slug = f["properties"]["slug"].as_str().expect("slug").to_owned();
            let lp = &f["properties"]["label_point"];
            let (lon, lat) = (lp[0].as_f64().expect("label lon"), lp[1].as_f64().expect("label lat"));
            (slug, LatLon::new(lat, lon).expect("label point is a coordinate"))
        })
        .collect()
}

fn routing_table(districts: &DistrictMap) -> RoutingTable {
    let mut known: Vec<BodyId> = districts.districts().iter().map(|d| district_administration_id(&d.id)).collect();
    known.extend(
        ["city-hall-infrastructure", "tbilservice", "city-hall-environment", "city-hall"]
            .map(|b| BodyId::parse(b).unwrap()),
    );
    RoutingTable::new(default_routing_rules(), known, BodyId::parse("city-hall").unwrap())
}

fn ll(lat: f64, lon: f64) -> LatLon {
    LatLon::new(lat, lon).unwrap()
}

#[test]
fn the_real_boundaries_parse_into_ten_districts() {
    let (text, _) = reference_districts();
    let districts = parse_feature_collection(&text).expect("the reference file parses");
    assert_eq!(districts.len(), 10);
    let total_km2: f64 = districts.iter().map(|d| d.area.area_km2()).sum();
    // The handbook gives 504.7 km² for the ten together.
    assert!((total_km2 - 504.7).abs() < 2.0, "{total_km2} km²");
    // The city box is the districts' extent rounded to 4 decimals (~10 m).
    let extent = districts.iter().map(|d| d.area.bbox()).reduce(|a, b| a.union(b)).unwrap();
    let edges = |b: BBox| [b.west(), b.south(), b.east(), b.north()];
    for (real, rounded) in edges(extent).into_iter().zip(edges(TBILISI_BBOX)) {
        assert!((real - rounded).abs() < 1e-4, "extent {extent} vs city box {TBILISI_BBOX}");
    }
    let gldani = districts.iter().find(|d| d.id.as_str() == "gldani").unwrap();
    assert_eq!((gldani.name.ka.as_str(), gldani.name.en.as_str()), ("გლდანი", "Gldani"));
}

#[test]
fn a_bench_reported_at_a_districts_label_point_goes_to_that_districts_administration() {
    let (text, json) = reference_districts();
    let map = DistrictMap::new(parse_feature_collection(&text).unwrap());
    let table = routing_table(&map);
    let benches = CategoryId::parse("park-benches").unwrap();
    let labels = label_points(&json);
    assert_eq!(labels.len(), 10);
    for (slug, point) in labels {
        let district = map.locate(point).unwrap_or_else(|| panic!("{slug}'s label point {point} is in no district"));
        assert_eq!(district.id.as_str(), slug, "label point {point}");
        let route = table.route(&benches, &district.id);
        assert_eq!(route.body.as_str(), format!("gamgeoba-{slug}"));
        assert_eq!(route.matched, RouteMatch::DistrictAdministration);
    }
}

#[test]
fn points_outside_the_city_are_in_no_district() {
    let (text, _) = reference_districts();
    let map = DistrictMap::new(parse_feature_collection(&text).unwrap());
    assert!(map.locate(ll(41.5495, 45.0000)).is_none(), "Rustavi");
    assert!(map.locate(ll(41.8456, 44.7190)).is_none(), "Mtskheta");
    // The city box's corner is outside the city itself.
    assert!(map.locate(ll(TBILISI_BBOX.north(), TBILISI_BBOX.east())).is_none());
}

/// How well the project's own Voronoi approximation stands in for the real boundaries.
#[test]
fn the_demo_districts_agree_with_the_real_ones() {
    let (text, json) = reference_districts();
    let real = DistrictMap::new(parse_feature_collection(&text).unwrap());
    let demo = DistrictMap::new(demo_districts());
    let demo_slug = |p: LatLon| demo.locate(p).map(|d| d.id.clone());

    // At the real label points. The demo cells grow from these same points, so this checks that
    // the construction keeps each seed in its own cell.
    let labels = label_points(&json);
    let agreeing =
        labels.iter().filter(|(slug, p)| demo_slug(*p) == Some(DistrictId::parse(slug.clone()).unwrap())).count();
    println!("demo districts agree with the real ones at {agreeing} of {} label points", labels.len());
    assert!(agreeing >= 8, "only {agreeing} of 10 label points agree");

    // At the real centroids, which were not used to build the demo cells.
    let centroids_agreeing = json["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let c = &f["properties"]["centroid"];
            let p = ll(c[1].as_f64().unwrap(), c[0].as_f64().unwrap());
            let slug = f["properties"]["slug"].as_str().unwrap();
            demo_slug(p).is_some_and(|d| d.as_str() == slug)
        })
        .count();
    println!("demo districts agree with the real ones at {centroids_agreeing} of 10 centroids");

    // Over the city's territory: a grid of points, each weighed equally.
    let (mut inside, mut same) = (0u32, 0u32);
    let steps = 200;
    for i in 0..steps {
        for j in 0..steps {
            let lon = TBILISI_BBOX.west()
                + (TBILISI_BBOX.east() - TBILISI_BBOX.west()) * (f64::from(i) + 0.5) / f64::from(steps);
            let lat = TBILISI_BBOX.south()
                + (TBILISI_BBOX.north() - TBILISI_BBOX.south()) * (f64::from(j) + 0.5) / f64::from(steps);
            let p = ll(lat, lon);
            if let Some(d) = real.locate(p) {
                inside += 1;
                same += u32::from(demo_slug(p).as_ref() == Some(&d.id));
            }
        }
    }
    let share = f64::from(same) / f64::from(inside);
    println!(
        "demo districts agree with the real ones on {:.1}% of the city's area ({same} of {inside} grid points)",
        share * 100.0
    );
    assert!(share > 0.75, "the demo partition should agree on most of the city, got {share}");
}
