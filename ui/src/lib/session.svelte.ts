// The signed-in account, shared by every screen (reactive). Screens call `refreshSession()`
// after signing in or out; the navigation reads `session.account` to show what the role may use.

import { backend, type Account, type Role } from './backend';

export const session = $state<{ account: Account | null; loaded: boolean }>({ account: null, loaded: false });

/** Reloads the account from the backend. */
export async function refreshSession(): Promise<void> {
  try {
    session.account = await backend.account();
  } catch {
    // Offline at start-up in a browser: treat as signed out; the app's core answers offline.
    session.account = null;
  }
  session.loaded = true;
}

export const STAFF_ROLES: Role[] = ['district_staff', 'department_staff', 'admin'];

/** The current role, or null when signed out. */
export function role(): Role | null {
  return session.account?.role ?? null;
}

export function isStaff(): boolean {
  const r = role();
  return r !== null && STAFF_ROLES.includes(r);
}

export function isCrew(): boolean {
  return role() === 'field_crew';
}
