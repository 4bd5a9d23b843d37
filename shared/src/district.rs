//! Tbilisi's districts (raioni) and which one holds a point.
//!
//! Boundaries are data. An operator loads the official ones with
//! `smartmap import districts FILE.geojson` (read by [`parse_feature_collection`]); until then
//! the product runs on [`demo_districts`], the project's own rough partition of the city, so a
//! fresh install routes reports without any third-party data.

use crate::geo::{BBox, GeoError, LatLon, MultiPolygon, TBILISI_BBOX};
use crate::i18n::Localized;
use crate::ids::DistrictId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// A district and its boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct District {
    /// Stable slug, e.g. `gldani`.
    pub id: DistrictId,
    /// Display name in both languages.
    pub name: Localized,
    /// The district's territory.
    pub area: MultiPolygon,
}

/// The districts of the city, ready to answer "which district is this point in?".
#[derive(Debug, Clone, Default)]
pub struct DistrictMap {
    districts: Vec<District>,
    by_id: HashMap<DistrictId, usize>,
}

impl DistrictMap {
    /// Builds the map. Districts are tried in the order given; with non-overlapping boundaries
    /// the order does not matter. If an id repeats, [`DistrictMap::get`] returns the first.
    pub fn new(districts: Vec<District>) -> DistrictMap {
        let mut by_id = HashMap::with_capacity(districts.len());
        for (i, d) in districts.iter().enumerate() {
            by_id.entry(d.id.clone()).or_insert(i);
        }
        DistrictMap { districts, by_id }
    }

    /// The district holding `p`, or `None` outside the city. Each district's bounding box is
    /// checked before its polygons; the first district containing `p` wins.
    pub fn locate(&self, p: LatLon) -> Option<&District> {
        self.districts.iter().find(|d| d.area.contains(p))
    }

    /// All districts, in the order given.
    pub fn districts(&self) -> &[District] {
        &self.districts
    }

    /// The district with this id.
    pub fn get(&self, id: &DistrictId) -> Option<&District> {
        self.by_id.get(id).map(|&i| &self.districts[i])
    }

    /// The box holding every district; `None` for an empty map.
    pub fn bbox(&self) -> Option<BBox> {
        self.districts.iter().map(|d| d.area.bbox()).reduce(BBox::union)
    }
}

/// Reads an operator's district boundaries: a GeoJSON `FeatureCollection` whose features have a
/// `Polygon` or `MultiPolygon` geometry and the properties `slug` (or `id`), `name_ka` and
/// `name_en`. Other properties are ignored. Errors name the feature (`features[3]: missing
/// property \`name_ka\``); a district appearing twice is an error.
pub fn parse_feature_collection(geojson_text: &str) -> Result<Vec<District>, GeoError> {
    let doc: Value = serde_json::from_str(geojson_text).map_err(|e| GeoError::InvalidJson(e.to_string()))?;
    if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(GeoError::NotAFeatureCollection);
    }
    let features = doc.get("features").and_then(Value::as_array).ok_or(GeoError::NotAFeatureCollection)?;
    if features.is_empty() {
        return Err(GeoError::NoFeatures);
    }
    let mut first_seen: HashMap<DistrictId, usize> = HashMap::new();
    let mut districts = Vec::with_capacity(features.len());
    for (index, feature) in features.iter().enumerate() {
        let in_feature = |e: GeoError| GeoError::Feature { index, source: Box::new(e) };
        let district = parse_feature(feature).map_err(in_feature)?;
        if let Some(&first) = first_seen.get(&district.id) {
            let slug = district.id.to_string();
            return Err(in_feature(GeoError::DuplicateDistrict { slug, first }));
        }
        first_seen.insert(district.id.clone(), index);
        districts.push(district);
    }
    Ok(districts)
}

fn parse_feature(feature: &Value) -> Result<District, GeoError> {
    let properties = feature
        .get("properties")
        .filter(|p| p.is_object())
        .ok_or(GeoError::MalformedGeoJson { at: "properties".into(), expected: "an object" })?;
    let text = |key: &str, label: &'static str| match properties.get(key) {
        None | Some(Value::Null) => Err(GeoError::MissingProperty(label)),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(_) => Err(GeoError::PropertyNotText(label)),
    };
    let slug = match properties.get("slug") {
        None | Some(Value::Null) => text("id", "`slug` (or `id`)")?,
        Some(_) => text("slug", "`slug`")?,
    };
    let id = DistrictId::parse(slug.clone()).map_err(|_| GeoError::InvalidDistrictId(slug))?;
    let name = Localized::new(text("name_ka", "`name_ka`")?, text("name_en", "`name_en`")?);
    let geometry = feature
        .get("geometry")
        .filter(|g| g.is_object())
        .ok_or(GeoError::MalformedGeoJson { at: "geometry".into(), expected: "a Polygon or MultiPolygon" })?;
    let area = MultiPolygon::from_geojson(geometry)?;
    Ok(District { id, name, area })
}

/// One seed of the demo partition: slug, Georgian name, English name, latitude, longitude.
type Seed = (&'static str, &'static str, &'static str, f64, f64);

/// Each district's label point (where its name is placed on a map); the demo cells grow around
/// these.
const DEMO_SEEDS: [Seed; 10] = [
    ("chugureti", "ჩუღურეთი", "Chughureti", 41.7174, 44.8263),
    ("didube", "დიდუბე", "Didube", 41.7547, 44.7773),
    ("gldani", "გლდანი", "Gldani", 41.8027, 44.8291),
    ("isani", "ისანი", "Isani", 41.6906, 44.8451),
    ("krtsanisi", "კრწანისი", "Krtsanisi", 41.6600, 44.8638),
    ("mtatsminda", "მთაწმინდა", "Mtatsminda", 41.6715, 44.7552),
    ("nadzaladevi", "ნაძალადევი", "Nadzaladevi", 41.7471, 44.8207),
    ("saburtalo", "საბურთალო", "Saburtalo", 41.7656, 44.7444),
    ("samgori", "სამგორი", "Samgori", 41.7046, 44.9379),
    ("vake", "ვაკე", "Vake", 41.7018, 44.7197),
];

/// The latitude whose cosine scales longitudes so that, around Tbilisi, a degree east and a
/// degree north are drawn at their true relative lengths.
const LOCAL_SCALE_LATITUDE: f64 = 41.73;

/// The project's own approximate boundaries of Tbilisi's 10 districts, for demos, tests and a
/// fresh install. **Approximate**: they are the Voronoi cells of one point per district (its
/// label point) clipped to [`TBILISI_BBOX`], so they cover the whole box (corners beyond the
/// city included) and put streets near a border in the wrong district. Load the official
/// boundaries with `smartmap import districts FILE.geojson` for real routing.
///
/// Each cell is the box clipped by the perpendicular-bisector half-plane towards every other
/// seed (Sutherland–Hodgman; Voronoi cells are convex, so clipping one convex polygon by
/// half-planes is exact). Distances are measured in a plane with longitudes multiplied by
/// cos(41.73°), so bisectors are true ones on the ground, not in raw degrees.
pub fn demo_districts() -> Vec<District> {
    let lon_scale = LOCAL_SCALE_LATITUDE.to_radians().cos();
    let seeds: Vec<Point> = DEMO_SEEDS.iter().map(|&(.., lat, lon)| (lon, lat)).collect();
    let b = TBILISI_BBOX;
    let rectangle = [(b.west(), b.south()), (b.east(), b.south()), (b.east(), b.north()), (b.west(), b.north())];
    DEMO_SEEDS
        .iter()
        .enumerate()
        .map(|(i, &(slug, ka, en, ..))| {
            let cell =
                seeds.iter().enumerate().filter(|&(j, _)| j != i).fold(rectangle.to_vec(), |cell, (_, &other)| {
                    clip_to_nearer_half(&cell, seeds[i], other, lon_scale)
                });
            let mut ring: Vec<[f64; 2]> = cell.iter().map(|&(lon, lat)| [lon, lat]).collect();
            ring.push(ring[0]);
            District {
                id: DistrictId::parse(slug).expect("static slug"),
                name: Localized::new(ka, en),
                area: MultiPolygon::new(vec![vec![ring]]).expect("a Voronoi cell is a valid ring"),
            }
        })
        .collect()
}

/// A `(lon, lat)` point.
type Point = (f64, f64);

/// One Sutherland–Hodgman step: the part of convex `polygon` at least as close to `seed` as to
/// `other`, i.e. on `seed`'s side of their perpendicular bisector, with distances measured after
/// multiplying longitudes by `lon_scale`. Scaling is linear, so the clip can stay in degrees
/// (only the side test needs the scale) and vertices on the box's edges keep their exact values.
/// Keeps the vertex order (counter-clockwise in, counter-clockwise out).
fn clip_to_nearer_half(polygon: &[Point], seed: Point, other: Point, lon_scale: f64) -> Vec<Point> {
    let mid = ((seed.0 + other.0) / 2.0, (seed.1 + other.1) / 2.0);
    let dir = ((other.0 - seed.0) * lon_scale * lon_scale, other.1 - seed.1);
    // Positive beyond the bisector (nearer `other`), zero on it.
    let side = |p: Point| (p.0 - mid.0) * dir.0 + (p.1 - mid.1) * dir.1;
    let mut out: Vec<Point> = Vec::with_capacity(polygon.len() + 1);
    let mut keep = |p: Point| {
        if out.last() != Some(&p) {
            out.push(p);
        }
    };
    for (n, &cur) in polygon.iter().enumerate() {
        let next = polygon[(n + 1) % polygon.len()];
        let (sc, sn) = (side(cur), side(next));
        if sc <= 0.0 {
            keep(cur);
        }
        if (sc <= 0.0) != (sn <= 0.0) {
            let t = sc / (sc - sn);
            keep((cur.0 + t * (next.0 - cur.0), cur.1 + t * (next.1 - cur.1)));
        }
    }
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(lat: f64, lon: f64) -> LatLon {
        LatLon::new(lat, lon).unwrap()
    }

    fn id(s: &str) -> DistrictId {
        DistrictId::parse(s).unwrap()
    }

    #[test]
    fn every_demo_seed_lies_in_its_own_district() {
        let map = DistrictMap::new(demo_districts());
        assert_eq!(map.districts().len(), 10);
        for &(slug, .., lat, lon) in &DEMO_SEEDS {
            assert_eq!(map.locate(ll(lat, lon)).map(|d| d.id.as_str()), Some(slug));
        }
        assert_eq!(map.get(&id("gldani")).unwrap().name.ka, "გლდანი");
        assert_eq!(map.get(&id("chugureti")).unwrap().name.en, "Chughureti");
        assert!(map.get(&id("rustavi")).is_none());
    }

    #[test]
    fn demo_districts_tile_the_city_box_without_overlap() {
        let districts = demo_districts();
        let k = LOCAL_SCALE_LATITUDE.to_radians().cos();
        let b = TBILISI_BBOX;
        let steps = 150;
        for i in 0..steps {
            for j in 0..steps {
                // Cell centres of a grid, so no sample sits on the box's edge.
                let lon = b.west() + (b.east() - b.west()) * (i as f64 + 0.5) / steps as f64;
                let lat = b.south() + (b.north() - b.south()) * (j as f64 + 0.5) / steps as f64;
                let p = ll(lat, lon);
                let holders: Vec<&str> =
                    districts.iter().filter(|d| d.area.contains(p)).map(|d| d.id.as_str()).collect();
                assert_eq!(holders.len(), 1, "{p} lies in {holders:?}");
                // And it is the district of the nearest seed, measured on the ground.
                let dist = |&(.., slat, slon): &Seed| ((slon - lon) * k).hypot(slat - lat);
                let nearest = DEMO_SEEDS.iter().min_by(|a, b| dist(a).total_cmp(&dist(b))).unwrap();
                assert_eq!(holders[0], nearest.0, "{p}");
            }
        }
        let total: f64 = districts.iter().map(|d| d.area.area_km2()).sum();
        let box_area = MultiPolygon::new(vec![vec![vec![
            [b.west(), b.south()],
            [b.east(), b.south()],
            [b.east(), b.north()],
            [b.west(), b.north()],
            [b.west(), b.south()],
        ]]])
        .unwrap()
        .area_km2();
        // Each cell's area is projected around its own latitude, hence the tolerance.
        assert!((total - box_area).abs() < 1e-4 * box_area, "{total} vs {box_area}");
    }

    #[test]
    fn points_outside_the_map_locate_nowhere() {
        let map = DistrictMap::new(demo_districts());
        assert!(map.locate(ll(41.5495, 45.0000)).is_none(), "Rustavi");
        assert!(map.locate(ll(41.8456, 44.7190)).is_none(), "Mtskheta");
        assert_eq!(map.bbox(), Some(TBILISI_BBOX));
        assert!(DistrictMap::default().locate(ll(41.7, 44.8)).is_none());
    }

    const SQUARE: &str = r#"{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1],[0,0]]]}"#;

    fn collection(features: &[String]) -> String {
        format!(r#"{{"type": "FeatureCollection", "features": [{}]}}"#, features.join(","))
    }

    fn feature(properties: &str, geometry: &str) -> String {
        format!(r#"{{"type": "Feature", "properties": {properties}, "geometry": {geometry}}}"#)
    }

    #[test]
    fn a_feature_collection_becomes_districts() {
        let text = collection(&[
            feature(r#"{"slug": "vake", "name_ka": "ვაკე", "name_en": "Vake", "pop": 1}"#, SQUARE),
            feature(
                r#"{"id": "isani", "name_ka": "ისანი", "name_en": "Isani"}"#,
                r#"{"type": "MultiPolygon", "coordinates": [[[[2,0],[3,0],[3,1],[2,0]]]]}"#,
            ),
        ]);
        let districts = parse_feature_collection(&text).unwrap();
        assert_eq!(districts.len(), 2);
        assert_eq!(districts[1].id, id("isani"));
        let map = DistrictMap::new(districts);
        assert_eq!(map.locate(ll(0.5, 0.5)).unwrap().name.en, "Vake");
        assert_eq!(map.locate(ll(0.2, 2.8)).unwrap().name.ka, "ისანი");
        assert!(map.locate(ll(0.8, 2.2)).is_none());
    }

    #[test]
    fn a_bad_feature_is_named_with_its_problem() {
        let good = feature(r#"{"slug": "vake", "name_ka": "ვაკე", "name_en": "Vake"}"#, SQUARE);
        let err = |features: &[String]| parse_feature_collection(&collection(features)).unwrap_err().to_string();
        assert_eq!(
            err(&[good.clone(), feature(r#"{"slug": "isani", "name_en": "Isani"}"#, SQUARE)]),
            "features[1]: missing property `name_ka`"
        );
        assert_eq!(
            err(&[feature(r#"{"name_ka": "ა", "name_en": "A"}"#, SQUARE)]),
            "features[0]: missing property `slug` (or `id`)"
        );
        assert_eq!(
            err(&[feature(r#"{"slug": "a", "name_ka": 5, "name_en": "A"}"#, SQUARE)]),
            "features[0]: property `name_ka` must be a non-empty string"
        );
        assert_eq!(
            err(&[feature(r#"{"slug": "Vake", "name_ka": "ა", "name_en": "A"}"#, SQUARE)]),
            "features[0]: district id \"Vake\" is not a slug (lowercase a–z, 0–9 and '-', starting with a letter)"
        );
        assert_eq!(
            err(&[good.clone(), good.clone()]),
            "features[1]: district \"vake\" already appeared as features[0]"
        );
        assert_eq!(
            err(&[feature(
                r#"{"slug": "a", "name_ka": "ა", "name_en": "A"}"#,
                r#"{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1]]]}"#
            )]),
            "features[0]: coordinates[0]: the ring is not closed (its last position must repeat its first)"
        );
        assert_eq!(
            err(&[feature(r#"{"slug": "a", "name_ka": "ა", "name_en": "A"}"#, "null")]),
            "features[0]: geometry: expected a Polygon or MultiPolygon"
        );
        assert_eq!(err(&[]), "the FeatureCollection has no features");
        let not_json = parse_feature_collection("{").unwrap_err().to_string();
        assert!(not_json.starts_with("not valid JSON: "), "{not_json}");
        assert_eq!(parse_feature_collection(SQUARE).unwrap_err(), GeoError::NotAFeatureCollection);
    }
}
