// Small geometry for the UI.
import type { DistrictCollection, DistrictFeature, LatLon } from './backend';

/** The phone warns with it; the server decides with it (`DEFAULT_PROOF_GEOFENCE_M`). */
export const PROOF_GEOFENCE_M = 150;

/** Great-circle distance in metres. */
export function distanceM(a: LatLon, b: LatLon): number {
  const R = 6_371_008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The district a point lies in (even-odd ring test; holes count as outside), if any. */
export function locateDistrict(districts: DistrictCollection, at: LatLon): DistrictFeature | null {
  const inRing = (ring: number[][]) => {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > at.lat !== yj > at.lat && at.lon < ((xj - xi) * (at.lat - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
  const inPolygon = (rings: number[][][]) => inRing(rings[0]) && !rings.slice(1).some(inRing);
  return (
    districts.features.find((f) =>
      f.geometry.type === 'Polygon' ? inPolygon(f.geometry.coordinates) : f.geometry.coordinates.some(inPolygon),
    ) ?? null
  );
}
