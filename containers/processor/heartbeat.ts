import { readFileSync, rmSync, writeFileSync } from 'node:fs';

/**
 * The processor serves no HTTP, so its container health check reads a heartbeat file instead: the
 * processor rewrites it with the current time every few seconds while its event loop runs. A
 * stale file means a blocked or hung process, which ECS then replaces.
 */
export const HEARTBEAT_INTERVAL_MS = 5000;
/** Older than this, the heartbeat counts as stale (several missed beats, not one slow one). */
export const HEARTBEAT_MAX_AGE_MS = 30_000;

export interface Heartbeat {
  stop(): void;
}

/** Writes the time to `file` now and then every `intervalMs`; stop() ends it and removes the file. */
export function startHeartbeat(file: string, intervalMs = HEARTBEAT_INTERVAL_MS): Heartbeat {
  const beat = () => writeFileSync(file, `${Date.now()}\n`);
  beat();
  const timer = setInterval(() => {
    try {
      beat();
    } catch {
      // A full or read-only disk shows as a stale heartbeat; the health check reports it.
    }
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      rmSync(file, { force: true });
    },
  };
}

/** Milliseconds since the last beat written to `file`; throws when there is none to read. */
export function heartbeatAgeMs(file: string, now = Date.now()): number {
  const written = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isFinite(written)) throw new Error(`${file} holds no heartbeat`);
  return now - written;
}
