/** The child side of `modelgate up`'s supervisor protocol. A service forked with an IPC channel tells
 * its parent the port it bound (`listening`) or why it could not (`listen_failed`), so the parent
 * never has to read log lines, whatever LOG_LEVEL and LOG_FORMAT say. Without a channel (a container,
 * a shell) every function here does nothing. */

export type SupervisorMessage =
  | { type: 'listening'; port: number; url: string }
  | { type: 'listen_failed'; code: string; port: number; message: string }
  | { type: 'ready' };

/** Resolves once the message is handed to the channel (so a process may exit right after). */
export function tellSupervisor(message: SupervisorMessage): Promise<void> {
  const send = process.send?.bind(process);
  if (!send || !process.connected) return Promise.resolve();
  return new Promise((resolve) => {
    try {
      send(message, undefined, {}, () => resolve());
    } catch {
      resolve(); // the channel closed meanwhile: nobody is left to tell
    }
  });
}

/** Calls `stop` when the parent's IPC channel closes: the parent died or let go of us. As node's
 * cluster workers do, a supervised child does not outlive its supervisor. */
export function onSupervisorGone(stop: () => void): void {
  if (!process.send) return;
  process.once('disconnect', stop);
}
