// Turning failures into words in the current language: the machine `code` maps to our own
// ka/en text (`error.<code>`); failing that, the server's own bilingual title; failing that, a
// generic sentence with the code.

import { asProblem, type ApiProblem, type FieldProblem } from './backend';
import { has, lang, t } from './i18n.svelte';

/** The sentence for a failure. */
export function problemText(e: unknown): string {
  const p: ApiProblem = asProblem(e);
  // A single field error says more than "some fields are not valid".
  if (p.code === 'invalid_input' && p.errors.length === 1) return fieldText(p.errors[0]);
  if (has(`error.${p.code}`)) return t(`error.${p.code}`);
  if (p.title) return lang() === 'ka' ? p.title.ka : p.title.en;
  if (p.status >= 500) return t('error.server');
  return t('error.unknown', { code: p.code });
}

/** The sentence for one field error. */
export function fieldText(f: FieldProblem): string {
  if (has(`error.${f.code}`)) return t(`error.${f.code}`);
  return lang() === 'en' && f.message ? f.message : t('error.invalid_value');
}

/** Field errors by field name (first segment of the path: `location.lat` → `location`). */
export function fieldErrors(e: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of asProblem(e).errors) {
    const key = f.field.split('.')[0].replace(/\[\d+\]$/, '');
    out[key] ??= fieldText(f);
  }
  return out;
}
