// Leaflet, loaded on demand (only screens with a map pay for it), with the city's defaults:
// tiles from `VITE_TILE_URL` (OpenStreetMap by default, attributed), a canvas renderer, and a
// fallback for when tiles cannot load (no internet): a light background and district outlines.

import type * as Leaflet from 'leaflet';
import 'leaflet/dist/leaflet.css';
import type { DistrictCollection } from '../backend';
import { t } from '../i18n.svelte';

export type L = typeof Leaflet;

/** Tbilisi's centre (Freedom Square area) and a zoom that shows the city. */
export const TBILISI: [number, number] = [41.7151, 44.8271];
export const CITY_ZOOM = 12;
/** The city's box, loosely: the map does not wander off to other countries. */
export const TBILISI_BOUNDS: [[number, number], [number, number]] = [
  [41.55, 44.6],
  [41.9, 45.1],
];

const TILE_URL = import.meta.env.VITE_TILE_URL || 'https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png';
const TILE_ATTRIBUTION = import.meta.env.VITE_TILE_ATTRIBUTION;

export async function loadLeaflet(): Promise<L> {
  const mod = await import('leaflet');
  return ((mod as unknown as { default?: L }).default ?? mod) as L;
}

export interface CityMap {
  L: L;
  map: Leaflet.Map;
  /** Resolves false as soon as tiles fail to load (the caller shows a note). */
  tilesFailed: Promise<boolean>;
}

/** A map in `el` centred on Tbilisi. */
export async function createCityMap(
  el: HTMLElement,
  opts: { center?: [number, number]; zoom?: number; minZoom?: number } = {},
): Promise<CityMap> {
  const L = await loadLeaflet();
  const map = L.map(el, {
    preferCanvas: true,
    center: opts.center ?? TBILISI,
    zoom: opts.zoom ?? CITY_ZOOM,
    minZoom: opts.minZoom ?? 10,
    maxZoom: 19,
    maxBounds: L.latLngBounds(TBILISI_BOUNDS).pad(0.5),
    zoomControl: false,
    attributionControl: true,
  });
  L.control.zoom({ zoomInTitle: t('map.zoom_in'), zoomOutTitle: t('map.zoom_out') }).addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  el.classList.add('city-map');
  let resolveFailed: (v: boolean) => void = () => {};
  const tilesFailed = new Promise<boolean>((r) => (resolveFailed = r));
  let errors = 0;
  const attribution =
    TILE_ATTRIBUTION ||
    `<a href="https://www.openstreetmap.org/copyright">${t('map.attribution')}</a>`;
  const tiles = L.tileLayer(TILE_URL, { attribution, maxZoom: 19, crossOrigin: true });
  tiles.on('tileerror', () => {
    errors++;
    if (errors === 1) {
      el.classList.add('no-tiles');
      resolveFailed(true);
    }
  });
  tiles.on('load', () => {
    if (errors === 0) resolveFailed(false);
  });
  tiles.addTo(map);
  return { L, map, tilesFailed };
}

/** District outlines; with `labels` their names too (without tiles they are the only landmarks). */
export function addDistricts(
  L: L,
  map: Leaflet.Map,
  districts: DistrictCollection | null,
  lang: 'ka' | 'en',
  labels: boolean,
) {
  if (!districts) return null;
  const layer = L.geoJSON(districts as unknown as GeoJSON.GeoJsonObject, {
    interactive: false,
    style: () => ({ color: '#0b5c6b', weight: 1.5, opacity: 0.7, fillColor: '#0b5c6b', fillOpacity: 0.03 }),
  });
  layer.addTo(map);
  if (!labels) return layer;
  for (const f of districts.features) {
    const bounds = L.geoJSON(f as unknown as GeoJSON.GeoJsonObject).getBounds();
    if (!bounds.isValid()) continue;
    L.tooltip({ permanent: true, direction: 'center', className: 'district-label', interactive: false })
      .setLatLng(bounds.getCenter())
      .setContent(lang === 'ka' ? f.properties.name_ka : f.properties.name_en)
      .addTo(map);
  }
  return layer;
}
