import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderStatusBody } from '../../containers/receiver/order-status.ts';
import { PROCESSING_PATHS, type ProcessingPath } from '../../lib/order-records.ts';
import { forEachWithLimit } from '../for-each-with-limit.ts';

/**
 * The end of `npm run load:async`: every order the run got a 202 for is looked up through the
 * status resource (GET /orders/{order_id}, the 202's Location), not the logs, until it is
 * processed on every path the stack runs or the wait is over.
 */

/** Which paths an order must be processed on: given (`--processor`), or `auto`: every path any order of the run shows. */
export type ExpectedPaths = readonly ProcessingPath[] | 'auto';

/** One order answered 202 during the run. */
export interface AcceptedOrder {
  orderId: string;
  messageId: string;
  /** Absolute URL of its status (the 202's Location). */
  statusUrl: string;
}

/** GET /orders/{order_id}'s answer, as the receiver writes it. */
export type StatusBody = OrderStatusBody;

/** What one look at an order's status gave. */
export type Observation =
  | { kind: 'status'; body: StatusBody }
  /** Any answer but 200: 404 order_not_found, a 5xx. */
  | { kind: 'http'; code: number; errorCode?: string }
  /** No answer: refused, reset, timed out. */
  | { kind: 'unreachable'; message: string };

export type StatusReader = (order: AcceptedOrder) => Promise<Observation>;

export interface NotProcessed {
  orderId: string;
  /** What the last look saw, in a few words: "processing (ecs: processing, attempt 1)", "404 order_not_found". */
  state: string;
}

export interface StatusCheckResult {
  /** Distinct orders accepted. */
  accepted: number;
  processed: number;
  notProcessed: NotProcessed[];
  /** The paths every order had to be processed on. */
  paths: ProcessingPath[];
  pathsFrom: 'given' | 'seen';
  /** How long the check took, and how long it was allowed to wait. */
  elapsedMs: number;
  waitMs: number;
}

/** GET the status URL; any answer is an observation, none an `unreachable` one. */
export async function fetchStatus(order: AcceptedOrder, timeoutMs = 5000): Promise<Observation> {
  try {
    const response = await fetch(order.statusUrl, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    const text = await response.text();
    if (response.status === 200) return { kind: 'status', body: JSON.parse(text) as StatusBody };
    let errorCode: string | undefined;
    try {
      errorCode = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
    } catch {
      // not JSON: the code alone says it
    }
    return { kind: 'http', code: response.status, ...(errorCode ? { errorCode } : {}) };
  } catch (error) {
    return { kind: 'unreachable', message: (error as Error).message };
  }
}

/** The paths an order's status shows, whatever their state. */
function pathsOf(observation: Observation | undefined): ProcessingPath[] {
  if (observation?.kind !== 'status') return [];
  return PROCESSING_PATHS.filter((path) => observation.body.paths[path] !== undefined);
}

/**
 * Processed: the order's status is `processed` and each expected path's record is. With no
 * expected path (auto, and no order shows one yet), the order's own status decides.
 */
export function isProcessed(observation: Observation | undefined, paths: readonly ProcessingPath[]): boolean {
  if (observation?.kind !== 'status' || observation.body.status !== 'processed') return false;
  return paths.every((path) => observation.body.paths[path]?.status === 'processed');
}

/** What the last look saw, for the report. */
export function describeObservation(observation: Observation | undefined, paths: readonly ProcessingPath[]): string {
  if (!observation) return 'not asked';
  if (observation.kind === 'unreachable') return `no answer (${observation.message})`;
  if (observation.kind === 'http') return `${observation.code}${observation.errorCode ? ` ${observation.errorCode}` : ''}`;
  const { body } = observation;
  const shown = [...new Set([...paths, ...pathsOf(observation)])];
  const parts = shown.map((path) => {
    const record = body.paths[path];
    if (!record) return `${path}: not claimed`;
    const error = record.last_error ? `, last error ${record.last_error.code}` : '';
    return `${path}: ${record.status}, attempt${record.attempts === 1 ? '' : 's'} ${record.attempts}${error}`;
  });
  return parts.length > 0 ? `${body.status} (${parts.join('; ')})` : body.status;
}


/**
 * Looks up every accepted order's status, again every `pollMs` for those not yet processed, until
 * all are processed on every expected path or `waitMs` has passed since the check began. An order
 * dead-lettered on a path is not waited for. With `auto` paths the expected paths are those any
 * order showed so far; an order counted as processed before a path showed up on another one is
 * looked at again.
 */
export async function checkAcceptedOrders(
  orders: AcceptedOrder[],
  options: { paths: ExpectedPaths; waitMs: number; pollMs?: number; concurrency?: number; read?: StatusReader; now?: () => number },
): Promise<StatusCheckResult> {
  const { paths: given, waitMs, pollMs = 1000, concurrency = 16, read = (order) => fetchStatus(order), now = Date.now } = options;
  const started = now();
  const unique = [...new Map(orders.map((order) => [order.orderId, order])).values()];
  const last = new Map<string, Observation>();
  const seen = new Set<ProcessingPath>();
  const expected = (): ProcessingPath[] => (given === 'auto' ? PROCESSING_PATHS.filter((path) => seen.has(path)) : [...given]);
  const finished = (order: AcceptedOrder): boolean => {
    const observation = last.get(order.orderId);
    if (isProcessed(observation, expected())) return true;
    // Dead-lettered: given up by a path; waiting longer will not change it.
    return observation?.kind === 'status' && observation.body.status === 'dead_lettered';
  };

  for (;;) {
    const pending = unique.filter((order) => !finished(order));
    if (pending.length === 0) break;
    await forEachWithLimit(pending, concurrency, async (order) => {
      const observation = await read(order);
      last.set(order.orderId, observation);
      for (const path of pathsOf(observation)) seen.add(path);
    });
    if (unique.every(finished) || now() - started >= waitMs) break;
    await sleep(Math.min(pollMs, Math.max(0, started + waitMs - now())));
  }

  const paths = expected();
  const notProcessed = unique
    .filter((order) => !isProcessed(last.get(order.orderId), paths))
    .map((order) => ({ orderId: order.orderId, state: describeObservation(last.get(order.orderId), paths) }));
  return {
    accepted: unique.length,
    processed: unique.length - notProcessed.length,
    notProcessed,
    paths,
    pathsFrom: given === 'auto' ? 'seen' : 'given',
    elapsedMs: now() - started,
    waitMs,
  };
}

/** Orders listed one by one in the report before the rest are only counted. */
const LISTED = 20;

/** The check's report: one summary line, then the orders not processed (the first 20) with what their status said. */
export function formatStatusCheck(result: StatusCheckResult): string {
  const paths =
    result.paths.length === 0
      ? 'processed (no order showed a path)'
      : `processed on ${result.paths.join(' and ')}${result.pathsFrom === 'seen' ? ' (the paths the orders showed; --processor to name them)' : ''}`;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const head =
    `Status check (GET /orders/{order_id} of every order answered 202): ${result.processed} of ${result.accepted} accepted orders ${paths}` +
    `, after ${seconds(result.elapsedMs)} (waiting at most ${seconds(result.waitMs)})`;
  if (result.notProcessed.length === 0) return `${head}\n`;
  const listed = result.notProcessed.slice(0, LISTED).map((order) => `  ${order.orderId}  ${order.state}`);
  const more = result.notProcessed.length > LISTED ? [`  ... and ${result.notProcessed.length - LISTED} more`] : [];
  return `${head}\nNOT processed: ${result.notProcessed.length}\n${[...listed, ...more].join('\n')}\n`;
}

/** Reads the file `artillery/processor.mts` writes: one JSON object per line. */
export function parseAcceptedLines(text: string): AcceptedOrder[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const entry = JSON.parse(line) as { order_id: string; message_id: string; status_url: string };
      return { orderId: entry.order_id, messageId: entry.message_id, statusUrl: entry.status_url };
    });
}
