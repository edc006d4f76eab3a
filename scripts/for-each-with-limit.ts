/**
 * Runs `work` on every item, at most `limit` at once (a new one starts as soon as one ends), and
 * resolves when all have ended; the first rejection rejects it.
 */
export async function forEachWithLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
