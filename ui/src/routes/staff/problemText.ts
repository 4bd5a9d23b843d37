// A server error (`ApiProblem`) in the current language: our own words for its stable `code`
// when we have them (the staff table first, then the app's), else the server's own title in
// this language. Field errors are listed by the same rule; the server's English `message` is the
// last resort.

import { t, has, lang } from '../../lib/i18n.svelte';
import { asProblem, type ApiProblem } from '../../lib/backend';

function byCode(code: string): string | null {
  if (has(`staff.error.${code}`)) return t(`staff.error.${code}`);
  if (has(`error.${code}`)) return t(`error.${code}`);
  return null;
}

/** The headline of a problem. */
export function problemText(e: unknown): string {
  const p: ApiProblem = asProblem(e);
  return byCode(p.code) ?? p.title?.[lang()] ?? t('error.unknown', { code: p.code });
}

/** One line per field at fault (none for problems without field errors). */
export function problemDetails(e: unknown): string[] {
  const p: ApiProblem = asProblem(e);
  return p.errors.map((fe) => byCode(fe.code) ?? fe.message);
}

/** Whether a failure is an abort we caused ourselves (a newer request replaced it). */
export function isAbort(e: unknown): boolean {
  return (e instanceof DOMException && e.name === 'AbortError') || asProblem(e).code === 'aborted';
}
