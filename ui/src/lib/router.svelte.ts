// A small hash router (`#/reports/42`): works from a file:// or tauri:// origin and at `/` on
// the server without any server-side routing. `route()` is reactive (Svelte 5 runes).

export type RouteName =
  | 'map'
  | 'report-new'
  | 'report'
  | 'mine'
  | 'tickets'
  | 'ticket'
  | 'staff-queue'
  | 'staff-report'
  | 'staff-dashboard'
  | 'login'
  | 'signup'
  | 'account'
  | 'not-found';

export interface Route {
  name: RouteName;
  params: Record<string, string>;
  /** Query string after `?` in the hash (`#/login?next=/report`). */
  query: URLSearchParams;
  /** The hash path, e.g. `/reports/42`. */
  path: string;
}

const table: [RouteName, string][] = [
  ['map', '/'],
  ['report-new', '/report'],
  ['report', '/reports/:id'],
  ['mine', '/mine'],
  ['tickets', '/tickets'],
  ['ticket', '/tickets/:id'],
  ['staff-queue', '/staff'],
  ['staff-report', '/staff/reports/:id'],
  ['staff-dashboard', '/staff/dashboard'],
  ['login', '/login'],
  ['signup', '/signup'],
  ['account', '/account'],
];

const compiled = table.map(([name, pattern]) => {
  const keys: string[] = [];
  const source = pattern.replace(/:([a-z]+)/g, (_, k: string) => {
    keys.push(k);
    return '([^/]+)';
  });
  return { name, keys, regex: new RegExp(`^${source}/?$`) };
});

/** Parses a hash (`#/reports/42?x=1`) into a route. */
export function parse(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [pathPart, queryPart = ''] = raw.split('?', 2);
  const path = pathPart.startsWith('/') ? pathPart : `/${pathPart}`;
  for (const c of compiled) {
    const m = c.regex.exec(path);
    if (m) {
      const params: Record<string, string> = {};
      c.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
      return { name: c.name, params, query: new URLSearchParams(queryPart), path };
    }
  }
  return { name: 'not-found', params: {}, query: new URLSearchParams(queryPart), path };
}

let current = $state<Route>(parse(typeof location === 'undefined' ? '' : location.hash));

if (typeof window !== 'undefined') {
  window.addEventListener('hashchange', () => {
    current = parse(location.hash);
  });
}

/** The current route (reactive). */
export function route(): Route {
  return current;
}

/** The `href` of a path (`href('/reports/42')` → `#/reports/42`). */
export function href(path: string): string {
  return `#${path}`;
}

/** Goes to a path; `replace` keeps the history entry (redirects). */
export function navigate(path: string, opts: { replace?: boolean } = {}): void {
  const target = `#${path}`;
  if (location.hash === target) return;
  if (opts.replace) {
    history.replaceState(history.state, '', target);
    current = parse(target);
  } else {
    location.hash = target;
  }
}
