// How a report's state reads: a label (never colour alone), a colour variable, and progress
// while its photos upload from this phone.

import type { ReportStatus, ReportView } from './backend';
import { formatPercent, t } from './i18n.svelte';

/** Fraction of this phone's photos uploaded, or null when none are pending. */
export function uploadProgress(r: Pick<ReportView, 'local_photos'>): number | null {
  const photos = r.local_photos ?? [];
  if (!photos.length || photos.every((p) => p.done)) return null;
  const total = photos.reduce((s, p) => s + p.size, 0);
  const sent = photos.reduce((s, p) => s + (p.done ? p.size : p.uploaded), 0);
  return total > 0 ? sent / total : 0;
}

/** The label of a status. */
export function statusLabel(status: ReportStatus | string): string {
  return t(`status.${status}`);
}

/** The label of a report's state, with upload progress while it is on its way. */
export function reportStatusLabel(r: Pick<ReportView, 'status' | 'local_photos'>): string {
  const progress = uploadProgress(r);
  if (progress !== null && (r.status === 'queued' || r.status === 'sending')) {
    return t('status.uploading', { pct: Math.round(progress * 100) });
  }
  return statusLabel(r.status);
}

/** CSS colour of a status. */
export function statusColor(status: ReportStatus | string): string {
  return `var(--st-${status}, var(--st-queued))`;
}

/** Raw colours for the canvas map (CSS variables do not reach canvas). */
export const STATUS_HEX: Record<string, string> = {
  queued: '#56636a',
  sending: '#56636a',
  rejected: '#a8231b',
  submitted: '#1d5aa8',
  routed: '#1d5aa8',
  acknowledged: '#5f46a8',
  in_progress: '#8a4b00',
  fixed: '#1b6b34',
  duplicate: '#56636a',
  no_action: '#56636a',
  reopened: '#a8231b',
};

export { formatPercent };
