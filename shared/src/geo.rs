//! Geometry on WGS84 coordinates: validated points, bounding boxes, polygons with holes,
//! distances, and the Web Mercator grid the map clusters points on.
//!
//! Everything here is planar in longitude/latitude except [`haversine_m`] and the area estimate:
//! at the scale of one city (Tbilisi spans ~35 km) a point-in-polygon test in degrees gives the
//! same answer as one on the sphere, and GeoJSON, Leaflet and PostGIS all hand us degrees.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;
use std::str::FromStr;

/// Why a coordinate, bounding box or geometry was refused. The messages are written for the
/// person who sent the value (a resident's phone, an operator importing boundaries).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    /// A latitude that is not a finite number in −90..=90.
    #[error("latitude {0} is not a number between -90 and 90")]
    InvalidLatitude(f64),
    /// A longitude that is not a finite number in −180..=180.
    #[error("longitude {0} is not a number between -180 and 180")]
    InvalidLongitude(f64),
    /// A bounding box text without exactly four comma-separated values.
    #[error("a bounding box is four numbers \"west,south,east,north\"; got {0} value(s)")]
    BBoxFieldCount(usize),
    /// A bounding box value that is not a number.
    #[error("the bounding box's {edge} edge {value:?} is not a number")]
    BBoxNotANumber {
        /// Which edge: `west`, `south`, `east` or `north`.
        edge: &'static str,
        /// The text that was given.
        value: String,
    },
    /// A bounding box whose west edge lies east of its east edge.
    #[error("the bounding box's west edge {west} lies east of its east edge {east}")]
    BBoxWestEastInverted {
        /// The west edge given.
        west: f64,
        /// The east edge given.
        east: f64,
    },
    /// A bounding box whose south edge lies north of its north edge.
    #[error("the bounding box's south edge {south} lies north of its north edge {north}")]
    BBoxSouthNorthInverted {
        /// The south edge given.
        south: f64,
        /// The north edge given.
        north: f64,
    },
    /// A GeoJSON geometry of a type other than `Polygon` or `MultiPolygon`.
    #[error("geometry type {0:?} is not supported; expected \"Polygon\" or \"MultiPolygon\"")]
    UnsupportedGeometry(String),
    /// A GeoJSON value without the expected shape; `at` is a JSON path.
    #[error("{at}: expected {expected}")]
    MalformedGeoJson {
        /// Where, e.g. `coordinates[0][2]`.
        at: String,
        /// What should have been there.
        expected: &'static str,
    },
    /// A position outside −180..=180 longitude or −90..=90 latitude.
    #[error("{at}: position [{lon}, {lat}] is not a valid [longitude, latitude]")]
    PositionOutOfRange {
        /// Where, e.g. `coordinates[0][2]`.
        at: String,
        /// The longitude given.
        lon: f64,
        /// The latitude given.
        lat: f64,
    },
    /// A linear ring with fewer than four positions.
    #[error("{at}: a ring needs at least 4 positions (the last repeating the first); got {positions}")]
    RingTooShort {
        /// Where, e.g. `coordinates[1]`.
        at: String,
        /// How many positions it had.
        positions: usize,
    },
    /// A linear ring whose last position differs from its first.
    #[error("{at}: the ring is not closed (its last position must repeat its first)")]
    UnclosedRing {
        /// Where, e.g. `coordinates[1]`.
        at: String,
    },
    /// A (multi)polygon with no polygon in it.
    #[error("the geometry has no polygons")]
    EmptyGeometry,
    /// Text that is not JSON at all.
    #[error("not valid JSON: {0}")]
    InvalidJson(String),
    /// A GeoJSON document that is not a `FeatureCollection`.
    #[error("expected a GeoJSON FeatureCollection with a \"features\" array")]
    NotAFeatureCollection,
    /// A `FeatureCollection` with no features.
    #[error("the FeatureCollection has no features")]
    NoFeatures,
    /// A feature without a required property.
    #[error("missing property {0}")]
    MissingProperty(&'static str),
    /// A feature property that should be text but is not.
    #[error("property {0} must be a non-empty string")]
    PropertyNotText(&'static str),
    /// A district id that is not a slug.
    #[error("district id {0:?} is not a slug (lowercase a–z, 0–9 and '-', starting with a letter)")]
    InvalidDistrictId(String),
    /// Two features for the same district.
    #[error("district {slug:?} already appeared as features[{first}]")]
    DuplicateDistrict {
        /// The repeated district id.
        slug: String,
        /// The index of its first feature.
        first: usize,
    },
    /// An error in one feature of a `FeatureCollection`; `index` counts from 0.
    #[error("features[{index}]: {source}")]
    Feature {
        /// The feature's position in the `features` array, from 0.
        index: usize,
        /// What is wrong with it.
        source: Box<GeoError>,
    },
}

/// A point on Earth in WGS84 degrees; always finite and in range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawLatLon")]
pub struct LatLon {
    lat: f64,
    lon: f64,
}

/// The wire shape of [`LatLon`], before validation.
#[derive(Deserialize)]
struct RawLatLon {
    lat: f64,
    lon: f64,
}

impl LatLon {
    /// Checks that `lat` is in −90..=90 and `lon` in −180..=180 (NaN and infinities refused).
    pub fn new(lat: f64, lon: f64) -> Result<LatLon, GeoError> {
        if !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::InvalidLatitude(lat));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(GeoError::InvalidLongitude(lon));
        }
        Ok(LatLon { lat, lon })
    }

    /// Latitude in degrees, north positive.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees, east positive.
    pub fn lon(self) -> f64 {
        self.lon
    }
}

impl TryFrom<RawLatLon> for LatLon {
    type Error = GeoError;
    fn try_from(raw: RawLatLon) -> Result<Self, GeoError> {
        LatLon::new(raw.lat, raw.lon)
    }
}

impl fmt::Display for LatLon {
    /// `lat,lon`, the order people read coordinates in.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.lat, self.lon)
    }
}

/// A longitude/latitude rectangle, edges included. Never crosses the antimeridian (`west <=
/// east`), which Tbilisi has no need for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawBBox")]
pub struct BBox {
    west: f64,
    south: f64,
    east: f64,
    north: f64,
}

/// The wire shape of [`BBox`], before validation.
#[derive(Deserialize)]
struct RawBBox {
    west: f64,
    south: f64,
    east: f64,
    north: f64,
}

/// The city of Tbilisi's bounding box (from its administrative boundary).
pub const TBILISI_BBOX: BBox = BBox { west: 44.5962, south: 41.6178, east: 45.0173, north: 41.8439 };

impl BBox {
    /// Checks every edge is a valid coordinate, `west <= east` and `south <= north`.
    pub fn new(west: f64, south: f64, east: f64, north: f64) -> Result<BBox, GeoError> {
        LatLon::new(south, west)?;
        LatLon::new(north, east)?;
        if west > east {
            return Err(GeoError::BBoxWestEastInverted { west, east });
        }
        if south > north {
            return Err(GeoError::BBoxSouthNorthInverted { south, north });
        }
        Ok(BBox { west, south, east, north })
    }

    /// Parses `west,south,east,north` (the order of GeoJSON and of Leaflet's
    /// `toBBoxString()`); spaces around values are allowed.
    pub fn parse(text: &str) -> Result<BBox, GeoError> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let [w, s, e, n] = parts[..] else {
            return Err(GeoError::BBoxFieldCount(parts.len()));
        };
        let number = |edge, value: &str| {
            value.parse::<f64>().map_err(|_| GeoError::BBoxNotANumber { edge, value: value.into() })
        };
        BBox::new(number("west", w)?, number("south", s)?, number("east", e)?, number("north", n)?)
    }

    /// The smallest box holding every `[lon, lat]` given; `None` for none.
    fn around<'a>(positions: impl IntoIterator<Item = &'a [f64; 2]>) -> Option<BBox> {
        positions.into_iter().fold(None, |acc, &[lon, lat]| {
            Some(match acc {
                None => BBox { west: lon, south: lat, east: lon, north: lat },
                Some(b) => BBox {
                    west: b.west.min(lon),
                    south: b.south.min(lat),
                    east: b.east.max(lon),
                    north: b.north.max(lat),
                },
            })
        })
    }

    /// The smallest box holding both.
    pub fn union(self, other: BBox) -> BBox {
        BBox {
            west: self.west.min(other.west),
            south: self.south.min(other.south),
            east: self.east.max(other.east),
            north: self.north.max(other.north),
        }
    }

    /// West edge (minimum longitude).
    pub fn west(&self) -> f64 {
        self.west
    }

    /// South edge (minimum latitude).
    pub fn south(&self) -> f64 {
        self.south
    }

    /// East edge (maximum longitude).
    pub fn east(&self) -> f64 {
        self.east
    }

    /// North edge (maximum latitude).
    pub fn north(&self) -> f64 {
        self.north
    }

    /// Whether `p` lies inside or on an edge.
    pub fn contains(&self, p: LatLon) -> bool {
        (self.west..=self.east).contains(&p.lon) && (self.south..=self.north).contains(&p.lat)
    }

    /// Whether the two boxes share at least one point.
    pub fn intersects(&self, other: &BBox) -> bool {
        self.west <= other.east && other.west <= self.east && self.south <= other.north && other.south <= self.north
    }

    /// The box's area in square degrees; a cheap measure for refusing map queries that ask for
    /// too much at once.
    pub fn area_deg2(&self) -> f64 {
        (self.east - self.west) * (self.north - self.south)
    }

    /// The box's centre.
    pub fn center(&self) -> LatLon {
        LatLon { lat: (self.south + self.north) / 2.0, lon: (self.west + self.east) / 2.0 }
    }
}

impl TryFrom<RawBBox> for BBox {
    type Error = GeoError;
    fn try_from(raw: RawBBox) -> Result<Self, GeoError> {
        BBox::new(raw.west, raw.south, raw.east, raw.north)
    }
}

impl FromStr for BBox {
    type Err = GeoError;
    fn from_str(s: &str) -> Result<Self, GeoError> {
        BBox::parse(s)
    }
}

impl fmt::Display for BBox {
    /// `west,south,east,north`, which [`BBox::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{},{},{}", self.west, self.south, self.east, self.north)
    }
}

/// One polygon: an outer ring and any holes, each closed, as `[lon, lat]` positions.
#[derive(Debug, Clone, PartialEq)]
struct Polygon {
    rings: Vec<Vec<[f64; 2]>>,
    bbox: BBox,
}

impl Polygon {
    /// Even-odd ray casting over all rings at once, so holes (and islands in holes) fall out
    /// without knowing which ring is which. A horizontal ray goes east from `p`; an edge counts
    /// when it straddles the ray's latitude half-open (`lat` in `[min, max)`), which makes a
    /// point on an edge shared by two polygons with the same vertices land in exactly one.
    fn contains(&self, p: LatLon) -> bool {
        if !self.bbox.contains(p) {
            return false;
        }
        let (x, y) = (p.lon, p.lat);
        let mut inside = false;
        for ring in &self.rings {
            for edge in ring.windows(2) {
                let ([x1, y1], [x2, y2]) = (edge[0], edge[1]);
                if (y1 > y) != (y2 > y) && x < x1 + (y - y1) * (x2 - x1) / (y2 - y1) {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// Area in km² with each ring projected equirectangularly around the polygon's middle
    /// latitude: within 0.1% for a city-sized polygon.
    fn area_km2(&self) -> f64 {
        let km_per_deg = EARTH_RADIUS_M / 1000.0 * std::f64::consts::PI / 180.0;
        let lon_scale = self.bbox.center().lat.to_radians().cos();
        let ring_area = |ring: &Vec<[f64; 2]>| {
            let twice: f64 = ring.windows(2).map(|e| e[0][0] * e[1][1] - e[1][0] * e[0][1]).sum();
            (twice / 2.0).abs() * lon_scale * km_per_deg * km_per_deg
        };
        let outer = self.rings.first().map_or(0.0, ring_area);
        outer - self.rings.iter().skip(1).map(ring_area).sum::<f64>()
    }
}

/// An area made of one or more polygons, each an outer ring plus holes, in `[lon, lat]` order as
/// in GeoJSON. Serialized as a GeoJSON `MultiPolygon` geometry; deserialized from a `Polygon` or
/// `MultiPolygon` geometry with the checks of [`MultiPolygon::from_geojson`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct MultiPolygon {
    polygons: Vec<Polygon>,
    bbox: BBox,
}

impl MultiPolygon {
    /// Builds an area from polygons, each a list of rings (outer first, then holes), each ring a
    /// closed list of `[lon, lat]` positions (at least 4, last equal to first).
    pub fn new(polygons: Vec<Vec<Vec<[f64; 2]>>>) -> Result<MultiPolygon, GeoError> {
        let mut checked = Vec::with_capacity(polygons.len());
        for (i, rings) in polygons.into_iter().enumerate() {
            if rings.is_empty() {
                let at = format!("polygons[{i}]");
                return Err(GeoError::MalformedGeoJson { at, expected: "an outer ring" });
            }
            for (r, ring) in rings.iter().enumerate() {
                check_ring(ring, &format!("polygons[{i}][{r}]"))?;
            }
            let bbox = BBox::around(&rings[0]).expect("a checked ring has positions");
            checked.push(Polygon { rings, bbox });
        }
        let bbox = checked.iter().map(|p| p.bbox).reduce(BBox::union).ok_or(GeoError::EmptyGeometry)?;
        Ok(MultiPolygon { polygons: checked, bbox })
    }

    /// Reads a GeoJSON `Polygon` or `MultiPolygon` geometry object. Extra position members
    /// (altitude) are ignored; rings must be closed and have at least 4 positions.
    pub fn from_geojson(geometry: &Value) -> Result<MultiPolygon, GeoError> {
        let kind = geometry
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| GeoError::MalformedGeoJson { at: "type".into(), expected: "a geometry type" })?;
        let coordinates = geometry
            .get("coordinates")
            .ok_or_else(|| GeoError::MalformedGeoJson { at: "coordinates".into(), expected: "a coordinates array" })?;
        let polygons = match kind {
            "Polygon" => vec![read_polygon(coordinates, "coordinates")?],
            "MultiPolygon" => array(coordinates, "coordinates", "an array of polygons")?
                .iter()
                .enumerate()
                .map(|(i, p)| read_polygon(p, &format!("coordinates[{i}]")))
                .collect::<Result<_, _>>()?,
            other => return Err(GeoError::UnsupportedGeometry(other.into())),
        };
        MultiPolygon::new(polygons)
    }

    /// The area as a GeoJSON `MultiPolygon` geometry (always that type, so clients handle one
    /// shape).
    pub fn to_geojson(&self) -> Value {
        let coordinates: Vec<&Vec<Vec<[f64; 2]>>> = self.polygons.iter().map(|p| &p.rings).collect();
        json!({ "type": "MultiPolygon", "coordinates": coordinates })
    }

    /// Whether `p` lies inside (holes excluded). Points exactly on an edge may go either way.
    pub fn contains(&self, p: LatLon) -> bool {
        self.bbox.contains(p) && self.polygons.iter().any(|poly| poly.contains(p))
    }

    /// The smallest box holding the whole area.
    pub fn bbox(&self) -> BBox {
        self.bbox
    }

    /// The polygons, each as rings (outer first) of closed `[lon, lat]` positions.
    pub fn polygons(&self) -> impl Iterator<Item = &[Vec<[f64; 2]>]> {
        self.polygons.iter().map(|p| p.rings.as_slice())
    }

    /// Approximate area in square kilometres (holes subtracted); good to ~0.1% at city scale.
    pub fn area_km2(&self) -> f64 {
        self.polygons.iter().map(Polygon::area_km2).sum()
    }
}

impl TryFrom<Value> for MultiPolygon {
    type Error = GeoError;
    fn try_from(geometry: Value) -> Result<Self, GeoError> {
        MultiPolygon::from_geojson(&geometry)
    }
}

impl From<MultiPolygon> for Value {
    fn from(area: MultiPolygon) -> Value {
        area.to_geojson()
    }
}

fn array<'a>(v: &'a Value, at: &str, expected: &'static str) -> Result<&'a Vec<Value>, GeoError> {
    v.as_array().ok_or_else(|| GeoError::MalformedGeoJson { at: at.into(), expected })
}

fn read_polygon(v: &Value, at: &str) -> Result<Vec<Vec<[f64; 2]>>, GeoError> {
    let rings = array(v, at, "an array of rings")?;
    if rings.is_empty() {
        return Err(GeoError::MalformedGeoJson { at: at.into(), expected: "an outer ring" });
    }
    rings
        .iter()
        .enumerate()
        .map(|(r, ring)| {
            let at = format!("{at}[{r}]");
            let positions = array(ring, &at, "an array of positions")?
                .iter()
                .enumerate()
                .map(|(k, pos)| read_position(pos, &format!("{at}[{k}]")))
                .collect::<Result<Vec<_>, _>>()?;
            check_ring(&positions, &at)?;
            Ok(positions)
        })
        .collect()
}

fn read_position(v: &Value, at: &str) -> Result<[f64; 2], GeoError> {
    let expected = "a position [longitude, latitude] of numbers";
    let malformed = || GeoError::MalformedGeoJson { at: at.into(), expected };
    let items = v.as_array().ok_or_else(malformed)?;
    match items.as_slice() {
        [lon, lat, ..] => Ok([lon.as_f64().ok_or_else(malformed)?, lat.as_f64().ok_or_else(malformed)?]),
        _ => Err(malformed()),
    }
}

fn check_ring(ring: &[[f64; 2]], at: &str) -> Result<(), GeoError> {
    if let Some(&[lon, lat]) = ring.iter().find(|[lon, lat]| LatLon::new(*lat, *lon).is_err()) {
        return Err(GeoError::PositionOutOfRange { at: at.into(), lon, lat });
    }
    if ring.len() < 4 {
        return Err(GeoError::RingTooShort { at: at.into(), positions: ring.len() });
    }
    if ring.first() != ring.last() {
        return Err(GeoError::UnclosedRing { at: at.into() });
    }
    Ok(())
}

/// Earth's mean radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance between two points in metres (haversine on a sphere of Earth's mean
/// radius; within 0.5% of the ellipsoidal distance).
pub fn haversine_m(a: LatLon, b: LatLon) -> f64 {
    let (phi1, phi2) = (a.lat.to_radians(), b.lat.to_radians());
    let d_phi = phi2 - phi1;
    let d_lambda = (b.lon - a.lon).to_radians();
    let h = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// The Web Mercator (slippy map, "XYZ") tile holding `p` at `zoom`, as `(x, y)` with y growing
/// southwards. Latitudes beyond ±85.0511° are clamped to the map's edge.
pub fn web_mercator_tile(p: LatLon, zoom: u8) -> (u32, u32) {
    grid_cell(p, zoom, 1)
}

/// The cell holding `p` when every Web Mercator tile at `zoom` is cut into `cells_per_tile` ×
/// `cells_per_tile` equal cells (0 is taken as 1), as `(x, y)` counted over the whole world. The
/// server clusters map points by this cell at low zoom, so clusters line up with what the map
/// shows; `grid_cell(p, z, 2^k) == grid_cell(p, z + k, 1)`. Values beyond `u32::MAX` saturate.
pub fn grid_cell(p: LatLon, zoom: u8, cells_per_tile: u32) -> (u32, u32) {
    let n = 2f64.powi(i32::from(zoom)) * f64::from(cells_per_tile.max(1));
    let (x, y) = mercator_unit(p);
    let cell = |t: f64| (t * n).floor().clamp(0.0, n - 1.0) as u32;
    (cell(x), cell(y))
}

/// The box covered by cell `(x, y)` of [`grid_cell`]'s grid; a cell outside the grid is clamped
/// to its last row or column.
pub fn grid_cell_bbox(zoom: u8, cells_per_tile: u32, (x, y): (u32, u32)) -> BBox {
    let n = 2f64.powi(i32::from(zoom)) * f64::from(cells_per_tile.max(1));
    let lon = |x: f64| (x.min(n) / n * 360.0 - 180.0).clamp(-180.0, 180.0);
    let lat = |y: f64| {
        let t = std::f64::consts::PI * (1.0 - 2.0 * y.min(n) / n);
        t.sinh().atan().to_degrees()
    };
    let (x, y) = (f64::from(x).min(n - 1.0), f64::from(y).min(n - 1.0));
    BBox { west: lon(x), south: lat(y + 1.0), east: lon(x + 1.0), north: lat(y) }
}

/// `p` on the unit Web Mercator square: x east from −180°, y south from the top (85.0511° N).
fn mercator_unit(p: LatLon) -> (f64, f64) {
    const MAX_LAT: f64 = 85.051_128_779_806_59;
    let x = (p.lon + 180.0) / 360.0;
    let phi = p.lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let y = (1.0 - phi.tan().asinh() / std::f64::consts::PI) / 2.0;
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(lat: f64, lon: f64) -> LatLon {
        LatLon::new(lat, lon).unwrap()
    }

    fn square(w: f64, s: f64, e: f64, n: f64) -> Vec<[f64; 2]> {
        vec![[w, s], [e, s], [e, n], [w, n], [w, s]]
    }

    #[test]
    fn a_latlon_must_be_finite_and_in_range() {
        assert!(LatLon::new(41.7151, 44.8271).is_ok());
        assert!(LatLon::new(-90.0, 180.0).is_ok());
        assert_eq!(LatLon::new(90.5, 0.0), Err(GeoError::InvalidLatitude(90.5)));
        assert_eq!(LatLon::new(0.0, -180.1), Err(GeoError::InvalidLongitude(-180.1)));
        assert!(LatLon::new(f64::NAN, 0.0).is_err());
        assert!(LatLon::new(0.0, f64::INFINITY).is_err());
        assert!(LatLon::new(f64::NEG_INFINITY, 0.0).is_err());
    }

    #[test]
    fn a_latlon_on_the_wire_is_validated() {
        let p: LatLon = serde_json::from_str(r#"{"lat": 41.7, "lon": 44.8}"#).unwrap();
        assert_eq!((p.lat(), p.lon()), (41.7, 44.8));
        assert_eq!(serde_json::to_value(p).unwrap(), json!({"lat": 41.7, "lon": 44.8}));
        let err = serde_json::from_str::<LatLon>(r#"{"lat": 95, "lon": 44.8}"#).unwrap_err();
        assert!(err.to_string().contains("latitude 95 is not a number between -90 and 90"));
        assert!(serde_json::from_str::<LatLon>(r#"{"lat": 41.7}"#).is_err());
    }

    #[test]
    fn a_bbox_parses_west_south_east_north() {
        let b = BBox::parse("44.5962, 41.6178,45.0173,41.8439").unwrap();
        assert_eq!(b, TBILISI_BBOX);
        assert_eq!(b.to_string().parse::<BBox>().unwrap(), b);
        assert!(b.contains(ll(41.7151, 44.8271)));
        assert!(b.contains(ll(41.6178, 44.5962)), "edges are inside");
        assert!(!b.contains(ll(41.5495, 45.0)), "Rustavi");
        assert!((b.area_deg2() - 0.4211 * 0.2261).abs() < 1e-9);
    }

    #[test]
    fn a_bad_bbox_says_what_is_wrong() {
        use GeoError::*;
        assert_eq!(BBox::parse("1,2,3"), Err(BBoxFieldCount(3)));
        assert_eq!(BBox::parse(""), Err(BBoxFieldCount(1)));
        assert_eq!(BBox::parse("1,2,3,4,5"), Err(BBoxFieldCount(5)));
        assert_eq!(BBox::parse("44.6,x,45,41.8"), Err(BBoxNotANumber { edge: "south", value: "x".into() }));
        assert_eq!(BBox::parse("45,41.6,44.6,41.8"), Err(BBoxWestEastInverted { west: 45.0, east: 44.6 }));
        assert_eq!(BBox::parse("44.6,41.8,45,41.6"), Err(BBoxSouthNorthInverted { south: 41.8, north: 41.6 }));
        assert_eq!(BBox::parse("-181,0,0,1"), Err(InvalidLongitude(-181.0)));
        assert_eq!(BBox::parse("0,0,1,91"), Err(InvalidLatitude(91.0)));
        assert!(BBox::parse("NaN,0,1,1").is_err());
        assert!(BBox::parse("0,0,inf,1").is_err());
        assert_eq!(
            BBox::parse("45,41.6,44.6,41.8").unwrap_err().to_string(),
            "the bounding box's west edge 45 lies east of its east edge 44.6"
        );
    }

    #[test]
    fn boxes_intersect_when_they_share_a_point() {
        let a = BBox::new(0.0, 0.0, 2.0, 2.0).unwrap();
        assert!(a.intersects(&BBox::new(1.0, 1.0, 3.0, 3.0).unwrap()));
        assert!(a.intersects(&BBox::new(2.0, 2.0, 3.0, 3.0).unwrap()));
        assert!(!a.intersects(&BBox::new(2.1, 0.0, 3.0, 3.0).unwrap()));
    }

    #[test]
    fn a_point_in_a_hole_is_outside_and_an_island_in_the_hole_is_inside() {
        let area = MultiPolygon::new(vec![
            vec![square(0.0, 0.0, 10.0, 10.0), square(2.0, 2.0, 8.0, 8.0)],
            vec![square(4.0, 4.0, 6.0, 6.0)],
            vec![square(20.0, 0.0, 21.0, 1.0)],
        ])
        .unwrap();
        assert!(area.contains(ll(1.0, 1.0)), "in the ring around the hole");
        assert!(!area.contains(ll(3.0, 3.0)), "in the hole");
        assert!(area.contains(ll(5.0, 5.0)), "on the island in the hole");
        assert!(area.contains(ll(0.5, 20.5)), "in the second polygon");
        assert!(!area.contains(ll(5.0, 15.0)), "between the polygons, inside the bbox");
        assert!(!area.contains(ll(-1.0, 5.0)), "outside the bbox");
        assert_eq!(area.bbox(), BBox::new(0.0, 0.0, 21.0, 10.0).unwrap());
    }

    #[test]
    fn a_concave_polygon_is_tested_exactly() {
        // A "U": the notch between the arms is outside.
        let u = vec![
            [0.0, 0.0],
            [3.0, 0.0],
            [3.0, 3.0],
            [2.0, 3.0],
            [2.0, 1.0],
            [1.0, 1.0],
            [1.0, 3.0],
            [0.0, 3.0],
            [0.0, 0.0],
        ];
        let area = MultiPolygon::new(vec![vec![u]]).unwrap();
        assert!(area.contains(ll(2.0, 0.5)));
        assert!(area.contains(ll(2.0, 2.5)));
        assert!(!area.contains(ll(2.0, 1.5)));
    }

    #[test]
    fn geojson_polygons_and_multipolygons_are_read_and_written() {
        let polygon = json!({
            "type": "Polygon",
            "coordinates": [[[0, 0, 500], [4, 0], [4, 4], [0, 4], [0, 0]], [[1, 1], [2, 1], [2, 2], [1, 1]]]
        });
        let area = MultiPolygon::from_geojson(&polygon).unwrap();
        assert!(area.contains(ll(3.0, 3.0)));
        assert!(!area.contains(ll(1.1, 1.5)), "in the triangular hole");
        let written = area.to_geojson();
        assert_eq!(written["type"], "MultiPolygon");
        assert_eq!(written["coordinates"][0][1], json!([[1.0, 1.0], [2.0, 1.0], [2.0, 2.0], [1.0, 1.0]]));
        assert_eq!(MultiPolygon::from_geojson(&written).unwrap(), area);
        let via_serde: MultiPolygon = serde_json::from_value(serde_json::to_value(&area).unwrap()).unwrap();
        assert_eq!(via_serde, area);
        assert_eq!(area.polygons().count(), 1);
    }

    #[test]
    fn bad_geojson_geometry_is_refused_with_its_location() {
        let err = |v: Value| MultiPolygon::from_geojson(&v).unwrap_err().to_string();
        assert_eq!(
            err(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]})),
            "coordinates[0]: the ring is not closed (its last position must repeat its first)"
        );
        assert_eq!(
            err(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]})),
            "coordinates[0]: a ring needs at least 4 positions (the last repeating the first); got 3"
        );
        assert_eq!(
            err(json!({"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], ["1", 1], [0, 0]]]]})),
            "coordinates[0][0][2]: expected a position [longitude, latitude] of numbers"
        );
        assert_eq!(
            err(json!({"type": "Polygon", "coordinates": [[[0, 0], [1]]]})),
            "coordinates[0][1]: expected a position [longitude, latitude] of numbers"
        );
        assert_eq!(
            err(json!({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]})),
            "coordinates[0]: position [200, 0] is not a valid [longitude, latitude]"
        );
        assert_eq!(
            err(json!({"type": "Point", "coordinates": [0, 0]})),
            "geometry type \"Point\" is not supported; expected \"Polygon\" or \"MultiPolygon\""
        );
        assert_eq!(err(json!({"type": "MultiPolygon", "coordinates": []})), "the geometry has no polygons");
        assert_eq!(err(json!({"type": "Polygon"})), "coordinates: expected a coordinates array");
        assert_eq!(err(json!({"coordinates": []})), "type: expected a geometry type");
    }

    #[test]
    fn areas_are_measured_in_square_kilometres() {
        // 0.01° × 0.01° at the equator ≈ 1.112 km × 1.112 km.
        let area = MultiPolygon::new(vec![vec![square(0.0, 0.0, 0.01, 0.01)]]).unwrap();
        assert!((area.area_km2() - 1.2364).abs() < 0.001, "{}", area.area_km2());
    }

    #[test]
    fn haversine_measures_metres_on_the_ground() {
        let one_degree_north = haversine_m(ll(41.0, 44.8), ll(42.0, 44.8));
        assert!((one_degree_north - 111_195.0).abs() < 1.0, "{one_degree_north}");
        let centre = ll(41.7151, 44.8271);
        assert_eq!(haversine_m(centre, centre), 0.0);
        let rustavi = ll(41.5495, 45.0);
        let d = haversine_m(centre, rustavi);
        assert!((23_000.0..24_000.0).contains(&d), "{d}");
        assert_eq!(d, haversine_m(rustavi, centre));
        assert!((haversine_m(ll(0.0, 0.0), ll(0.0, 180.0)) - 20_015_115.0).abs() < 10.0);
    }

    #[test]
    fn grid_cells_follow_the_slippy_map_tiles() {
        let centre = ll(41.7151, 44.8271);
        assert_eq!(web_mercator_tile(centre, 0), (0, 0));
        assert_eq!(web_mercator_tile(centre, 1), (1, 0));
        // Computed independently with the OSM wiki's formula.
        assert_eq!(web_mercator_tile(centre, 12), (2558, 1524));
        for z in 0..16 {
            assert_eq!(grid_cell(centre, z, 4), web_mercator_tile(centre, z + 2));
        }
        assert_eq!(grid_cell(centre, 3, 0), web_mercator_tile(centre, 3));
        assert_eq!(web_mercator_tile(ll(90.0, 180.0), 2), (3, 0), "edges clamp into the grid");
        assert_eq!(web_mercator_tile(ll(-90.0, -180.0), 2), (0, 3));
        let cell = grid_cell(centre, 10, 8);
        assert!(grid_cell_bbox(10, 8, cell).contains(centre));
        let tile = grid_cell_bbox(1, 1, (1, 0));
        assert_eq!((tile.west(), tile.east()), (0.0, 180.0));
        assert!((tile.north() - 85.0511).abs() < 1e-4 && tile.south().abs() < 1e-12);
    }
}
