import type { LambdaStats } from '../../local/lambda-invoker.ts';
import { ACCOUNT_CONCURRENCY } from '../../local/lambda-runtime/function-environments.ts';
import { LAMBDA_EVENTS_QUEUE, type MonitorSample } from './targets.ts';

export interface RenderOptions {
  description: string;
  intervalMs: number;
  color: boolean;
}

const TREND_WINDOW_MS = 10_000;

function paint(color: boolean, code: number, text: string): string {
  return color ? `\x1b[${code}m${text}\x1b[0m` : text;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => visibleLength(row[column] ?? '')))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => {
        const pad = (widths[column] ?? 0) - visibleLength(cell);
        return column === 0 ? cell + ' '.repeat(pad) : ' '.repeat(pad) + cell;
      })
      .join('   ')
      .trimEnd(),
  );
}

function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '').length;
}

/** The sample closest to `ms` before the newest one (the history is oldest first). */
function sampleBefore(history: MonitorSample[], ms: number): MonitorSample | undefined {
  const newest = history.at(-1);
  if (!newest) return undefined;
  let candidate: MonitorSample | undefined;
  for (const sample of history) if (newest.at - sample.at >= ms) candidate = sample;
  return candidate ?? (history.length > 1 ? history[0] : undefined);
}

function perSecond(now: number, then: number, ms: number): string {
  return ms > 0 ? ((now - then) / (ms / 1000)).toFixed(1) : '–';
}

function queueRows(history: MonitorSample[], color: boolean): string[][] {
  const newest = history.at(-1);
  const before = sampleBefore(history, TREND_WINDOW_MS);
  const rows = [['QUEUE', 'WAITING', 'IN FLIGHT', 'DELAYED', 'TREND (10 s)']];
  for (const queue of newest?.queues ?? []) {
    if (!queue.depth) {
      rows.push([queue.name, '?', '?', '?', paint(color, 31, queue.error ?? 'unreadable')]);
      continue;
    }
    const isDeadLetter = /DLQ|fail/i.test(queue.name);
    const waiting = String(queue.depth.visible);
    const previous = before?.queues.find((entry) => entry.name === queue.name)?.depth;
    let trend = '';
    if (previous && before && newest) {
      const rate = (queue.depth.visible - previous.visible) / ((newest.at - before.at) / 1000);
      if (rate > 0.05) trend = paint(color, 33, `+${rate.toFixed(1)}/s ▲ growing`);
      else if (rate < -0.05) trend = paint(color, 32, `${rate.toFixed(1)}/s ▼ draining`);
      else trend = 'steady';
    }
    rows.push([
      queue.name,
      isDeadLetter && queue.depth.visible > 0 ? paint(color, 31, `${waiting} !`) : waiting,
      String(queue.depth.inFlight),
      String(queue.depth.delayed),
      trend,
    ]);
  }
  return rows;
}

/** Totals of one path, as the monitor shows them. */
interface PathTotals {
  inFlight: number;
  done: number;
  failed: number;
  deadLettered?: number;
  invocations?: number;
  /** Deliveries left for later, the order held by another worker's claim (ECS). */
  deferred?: number;
}

/** The ECS processor: deliveries done and failed (its dead letters are the DLQ's depth). */
function ecsTotals(sample: MonitorSample): PathTotals | null {
  const stats = sample.processing.kind === 'counters' ? sample.processing.ecs : null;
  return stats ? { inFlight: stats.inFlight, done: stats.succeeded, failed: stats.failed, deferred: stats.deferred ?? 0 } : null;
}

/** The Lambda, as its own figures count: invocations, errors, orders done and dead-lettered. */
function lambdaTotals(sample: MonitorSample): PathTotals | null {
  const stats = sample.processing.kind === 'counters' ? sample.processing.lambda : null;
  return stats
    ? { inFlight: stats.inFlight, done: stats.succeeded, failed: stats.errors, deadLettered: stats.deadLettered, invocations: stats.invocations }
    : null;
}

function counterRow(label: string, history: MonitorSample[], pick: (sample: MonitorSample) => PathTotals | null): string[] {
  const newest = history.at(-1);
  const current = newest ? pick(newest) : null;
  if (!newest || !current) return [label, '–', '–', '–', '–', '–', '–', '–', '–'];
  const previous = history.length > 1 ? history.at(-2) : undefined;
  const older = sampleBefore(history, TREND_WINDOW_MS);
  const previousTotals = previous ? pick(previous) : null;
  const olderTotals = older ? pick(older) : null;
  return [
    label,
    previous && previousTotals ? perSecond(current.done, previousTotals.done, newest.at - previous.at) : '–',
    older && olderTotals ? perSecond(current.done, olderTotals.done, newest.at - older.at) : '–',
    String(current.inFlight),
    String(current.done),
    String(current.failed),
    current.deadLettered === undefined ? '–' : String(current.deadLettered),
    current.invocations === undefined ? '–' : String(current.invocations),
    current.deferred === undefined ? '–' : String(current.deferred),
  ];
}

/**
 * The local Lambda's execution environments: busy (concurrent executions) of those alive, the
 * concurrency limit, cold starts, throttles, and the throttled events waiting in the asynchronous
 * queue for their next try, with the queue's whole backlog.
 */
function lambdaEnvironmentLines(lambda: LambdaStats | null, backlog: number | undefined, color: boolean): string[] {
  if (!lambda) return [];
  const limit = lambda.concurrencyLimit < ACCOUNT_CONCURRENCY ? `${lambda.concurrencyLimit} reserved` : `${lambda.concurrencyLimit} account`;
  const atLimit = lambda.busy >= lambda.concurrencyLimit;
  return [
    '',
    ...table([
      ['LAMBDA', 'BUSY / ALIVE', 'LIMIT', 'PEAK BUSY', 'COLD STARTS', 'THROTTLES', 'THROTTLED WAITING', 'ASYNC BACKLOG'],
      [
        'environments',
        atLimit ? paint(color, 33, `${lambda.busy} / ${lambda.environments} at limit`) : `${lambda.busy} / ${lambda.environments}`,
        limit,
        String(lambda.peakBusy),
        String(lambda.coldStarts),
        lambda.throttles > 0 ? paint(color, 33, String(lambda.throttles)) : '0',
        String(lambda.waiting),
        backlog === undefined ? '–' : String(backlog),
      ],
    ]),
    "THROTTLED WAITING: events refused for want of an environment, tried again with Lambda's backoff (1 s doubling to 5 min);",
    `ASYNC BACKLOG: those plus the ${LAMBDA_EVENTS_QUEUE} queue's waiting events. Nothing is dropped: they run as environments free up.`,
  ];
}

function processingLines(history: MonitorSample[], color: boolean): string[] {
  const newest = history.at(-1);
  if (!newest) return [];
  const reading = newest.processing;
  const lines: string[] = [];
  if (reading.kind === 'counters') {
    lines.push(
      ...table([
        ['PROCESSING', 'NOW/s', '10 s AVG/s', 'IN FLIGHT', 'DONE', 'FAILED', 'DEAD-LETTERED', 'INVOCATIONS', 'DEFERRED'],
        counterRow('ECS processor', history, ecsTotals),
        counterRow('Lambda', history, lambdaTotals),
      ]),
      'FAILED: failed deliveries (ECS) or invocation errors (Lambda), retried until the last;',
      'DEAD-LETTERED: orders the Lambda sent to its on-failure destination (the ECS ones are the DLQ above);',
      "DEFERRED: deliveries the ECS processor left for later, the order being another worker's (its claim's lease), not failures.",
      ...lambdaEnvironmentLines(reading.lambda, reading.lambdaBacklog, color),
    );
  } else {
    const perMinute = (values: number[]) => (values.length ? values.map((value) => String(Math.round(value))).join(' ') : 'no data yet');
    const lastRate = (values: number[]) => (values.length ? `≈ ${((values.at(-1) ?? 0) / 60).toFixed(1)}/s` : '');
    lines.push(
      ...table([
        ['PROCESSING (CloudWatch, per minute, oldest first)', 'LAST 5 MIN', 'LATEST'],
        ['ECS processor (SQS messages deleted)', perMinute(reading.ecsPerMinute), lastRate(reading.ecsPerMinute)],
        ['Lambda invocations', perMinute(reading.lambdaPerMinute), lastRate(reading.lambdaPerMinute)],
        ['Lambda errors', perMinute(reading.lambdaErrorsPerMinute), ''],
      ]),
      'CloudWatch publishes one-minute points a minute or two late; the queues above are live.',
    );
  }
  if (reading.error) lines.push(paint(color, 31, reading.error));
  return lines;
}

/** One screen of the monitor from the samples so far (oldest first). */
export function renderMonitor(history: MonitorSample[], options: RenderOptions): string {
  const newest = history.at(-1);
  const time = newest ? new Date(newest.at).toISOString().slice(11, 19) : '--:--:--';
  return [
    `${paint(options.color, 1, 'ordersync monitor')} · ${options.description} · ${time} UTC`,
    `refreshing every ${options.intervalMs / 1000} s · Ctrl-C to quit`,
    '',
    ...table(queueRows(history, options.color)),
    '',
    ...processingLines(history, options.color),
    '',
  ].join('\n');
}
