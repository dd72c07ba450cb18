/** Messages for refused writes: the registry's own words (they say what to send), plus what to do in
 * the console, which is not the CLI the registry's hint talks about. */

export interface ErrorInfo {
  status: number;
  code: string;
  message: string;
}

export function writeErrorText(error: ErrorInfo, hasToken: boolean): string {
  if (error.status === 401) {
    return hasToken
      ? `Refused: ${error.message}. The token in this tab was not accepted; enter the admin token again.`
      : `Refused: no admin token entered. Enter the admin token (the "Admin token" box at the top) to make changes. The registry said: ${error.message}`;
  }
  if (error.status === 403)
    return `Refused: ${error.message}. Check the admin token entered in this tab (the "Admin token" box at the top).`;
  if (error.status === 0) return `Could not reach the registry: ${error.message}`;
  return error.message;
}
