import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves once `predicate` holds (checked every 20 ms); fails naming `what` after `timeoutMs`. */
export async function eventually(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
