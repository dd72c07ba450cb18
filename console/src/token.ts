/** The admin token for this tab only: sessionStorage (gone when the tab closes, never sent by the
 * browser on its own), read at each write and sent as an Authorization header. */
const KEY = 'modelgate.admin-token';

export function readToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) || undefined;
  } catch {
    return undefined;
  }
}

export function saveToken(token: string | undefined): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
  window.dispatchEvent(new Event('modelgate-token'));
}
