import type { DestinationStream } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseReportLine, type InvocationReport } from './lambda-runtime/platform-lines.ts';

export type LogLine = Record<string, unknown> & { event?: string; component?: string; level?: string };

/**
 * A pino destination that keeps every JSON line, so tests and tools count what the system logged:
 * `order.processed` lines are the proof that an order was processed, and on which path. Lines that
 * are not JSON (the Lambda's START, END and REPORT lines) are kept as text.
 */
export class LogCollector implements DestinationStream {
  readonly lines: LogLine[] = [];
  readonly text: string[] = [];
  private partial = '';

  write(chunk: string): void {
    this.partial += chunk;
    let newline = this.partial.indexOf('\n');
    while (newline >= 0) {
      const line = this.partial.slice(0, newline).trim();
      this.partial = this.partial.slice(newline + 1);
      if (line.startsWith('{')) this.lines.push(JSON.parse(line) as LogLine);
      else if (line) this.text.push(line);
      newline = this.partial.indexOf('\n');
    }
  }

  events(event: string, where: (line: LogLine) => boolean = () => true): LogLine[] {
    return this.lines.filter((line) => line.event === event && where(line));
  }

  /** Resolves once `predicate` holds; fails with `what` after `timeoutMs`. */
  async waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(20);
    }
  }

  /** The figures of every REPORT line written so far. */
  reports(): InvocationReport[] {
    return this.text.map(parseReportLine).filter((report) => report !== undefined);
  }

  clear(): void {
    this.lines.length = 0;
    this.text.length = 0;
  }
}

/** Order ids of the `order.processed` lines for a path, with how often each appears. */
export function processedCounts(collector: LogCollector, path: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of collector.events('order.processed', (entry) => entry.path === path)) {
    const id = String(line.order_id);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
