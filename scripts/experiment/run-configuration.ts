import { setTimeout as sleep } from 'node:timers/promises';
import { createSqsClient } from '../../lib/aws-clients.ts';
import { createLogger } from '../../lib/logger.ts';
import { readQueueDepth } from '../../lib/queue-attributes.ts';
import { createProcessor } from '../../containers/processor/processor.ts';
import { THROTTLE_BACKOFF } from '../../local/lambda-invoker.ts';
import { LogCollector, type LogLine } from '../../local/log-collector.ts';
import { ACCOUNT_CONCURRENCY } from '../../local/lambda-runtime/function-environments.ts';
import { startLocalStack } from '../../local/stack.ts';
import { summarizeReports, type ColdStartSummary } from '../cold-starts/summary.ts';
import { driveArrivals, type Arrival } from './arrivals.ts';
import { countEffects, openOrderRecords, publishDuplicates, spreadPick } from './effects.ts';
import { percentiles, type Percentiles } from './statistics.ts';

export interface Configuration {
  /** e.g. "ecs×20", "lambda" (unreserved) or "lambda×20" (reserved concurrency 20). */
  label: string;
  path: 'ecs' | 'lambda';
  /** ECS: PROCESSOR_CONCURRENCY; Lambda: the concurrency limit (reserved, or the account's 1000). */
  workers: number;
  /** Lambda: the function's reserved concurrency; absent, it is unreserved (the account's limit). */
  reservedConcurrency?: number;
}

/** The Lambda configuration for a reserved concurrency, or the unreserved function (the account's 1000). */
export function lambdaConfiguration(reservedConcurrency: number | undefined): Configuration {
  return reservedConcurrency === undefined
    ? { label: 'lambda', path: 'lambda', workers: ACCOUNT_CONCURRENCY }
    : { label: `lambda×${reservedConcurrency}`, path: 'lambda', workers: reservedConcurrency, reservedConcurrency };
}

export interface ExperimentSettings {
  /** Orders per second sent to POST /orders/async. */
  rate: number;
  durationMs: number;
  processingMs: number;
  /**
   * Accepted orders published to the topic a second time after the window (the same message
   * delivered twice): each must come out as one more delivery and one duplicate, no second effect.
   */
  duplicates?: number;
}

export interface Sample {
  /** Seconds since the window opened. */
  t: number;
  /** False for the samples taken while draining, after the window. */
  window: boolean;
  /**
   * Orders waiting. ECS: the orders queue's visible messages. Lambda: the asynchronous queue's
   * backlog, i.e. events not yet taken from the invoker's queue plus throttled events waiting
   * for their next try.
   */
  backlog: number;
  /** Orders being worked on (ECS: received and unfinished; Lambda: taken from the queue and unfinished, throttled ones included). */
  inFlight: number;
  /** Orders processed so far on this path. */
  processed: number;
  /** Lambda only: the function's figures at this moment. */
  lambda?: LambdaSample;
}

export interface LambdaSample {
  /** Throttled events waiting for their next try (part of the backlog). */
  waiting: number;
  /** Environments running an invocation: the function's concurrent executions. */
  busy: number;
  /** Environments alive, busy or idle. */
  environments: number;
  /** Totals so far. */
  coldStarts: number;
  throttles: number;
}

/** The Lambda configuration's own figures: cold starts, environments, throttles. */
export interface LambdaFigures {
  /** Reserved concurrency, or the account's 1000 for an unreserved function. */
  concurrencyLimit: number;
  reserved: boolean;
  /** The REPORT lines of the run: invocations, cold starts (Init Duration) and their percentiles. */
  reports: ColdStartSummary;
  /** The function's counters at the end of the run (EnvironmentStats): they agree with the REPORT lines. */
  coldStarts: number;
  throttles: number;
  /** The most environments running an invocation at once (concurrent executions). */
  peakBusy: number;
  /** The most environments alive at once. */
  peakEnvironments: number;
  invocations: number;
  errors: number;
  /** The largest backlog of the asynchronous queue sampled (queued + throttled and waiting). */
  peakBacklog: number;
}

export interface ConfigurationResult {
  configuration: Configuration;
  settings: ExperimentSettings;
  sent: number;
  accepted: number;
  rejected: number;
  acceptedPerSecond: number;
  /** Processed per second in the steady part of the window (after the first processing time). */
  processedPerSecond: number;
  /** workers ÷ processing time. */
  capacityPerSecond: number;
  backlogAtEnd: number;
  samples: Sample[];
  /** Accept → processed, for orders processed inside the window. */
  endToEndMs: Percentiles;
  /** Request → 202. */
  acceptMs: Percentiles;
  /** How many orders were processed on their first, second, ... delivery. */
  receiveCounts: Record<string, number>;
  /** Accepted orders without a processed record on this configuration's path (configuration.path). */
  lost: number;
  /** Orders with more than one `order.processed` line: an effect logged twice. */
  duplicated: number;
  /** On this configuration's path (scripts/experiment/effects.ts): accepted orders with a processed record in the orders table. */
  effects: number;
  /** `order.processed` + `order.duplicate` lines on the path. */
  deliveries: number;
  /** `order.duplicate` lines on the path: deliveries of an order already processed there, acknowledged without a second effect. */
  duplicates: number;
  /** Copies of accepted orders published after the window (settings.duplicates, at most the accepted orders). */
  injectedDuplicates: number;
  /** Time after the window until every accepted order was processed (the drain scales out). */
  drainMs: number;
  /** False when the drain gave up before every accepted order was processed. */
  drained: boolean;
  /** Lambda configurations only. */
  lambda?: LambdaFigures;
}

/** A configuration's result with the Lambda's log lines (START, END, REPORT) of the run, for the report folder. */
export interface ConfigurationRun {
  result: ConfigurationResult;
  /** The lines the function's log group would hold that are not the handler's JSON (empty for ECS). */
  lambdaLog: string[];
}

export interface ProgressUpdate {
  phase: 'starting' | 'running' | 'draining' | 'done';
  elapsedMs: number;
  sent: number;
  processed: number;
  backlog: number;
}

function processedLines(logs: LogCollector, path: string): LogLine[] {
  return logs.events('order.processed', (line) => line.path === path);
}

/**
 * How long the drain may take. ECS: the scaled-out processor drains in seconds. Lambda: nothing
 * scales out; a throttled event comes back by itself after Lambda's backoff, which doubles from
 * 1 s up to 5 minutes, so the last events of a long throttled backlog may wait a few minutes.
 */
export function drainTimeoutMs(configuration: Configuration, settings: ExperimentSettings): number {
  const ecs = 60_000 + settings.processingMs * 10;
  return configuration.path === 'ecs' ? ecs : ecs + THROTTLE_BACKOFF.maxMs * 2;
}

/**
 * One configuration of the experiment on a fresh local stack: steady arrivals for the window
 * while the backlog is sampled every half second, then a drain until every accepted order is
 * processed (the ECS processor scales out to 1000 workers, like an autoscaler catching up; the
 * Lambda's throttled events come back by themselves), and a count of what was lost or processed
 * twice. Samples go on through the drain (marked `window: false`).
 */
export async function runConfiguration(
  configuration: Configuration,
  settings: ExperimentSettings,
  onProgress: (update: ProgressUpdate) => void = () => undefined,
): Promise<ConfigurationRun> {
  const logs = new LogCollector();
  onProgress({ phase: 'starting', elapsedMs: 0, sent: 0, processed: 0, backlog: 0 });
  const stack = await startLocalStack({
    mode: configuration.path,
    port: 0,
    emulatorPort: 0,
    processingTimeMs: settings.processingMs,
    concurrency: configuration.path === 'ecs' ? configuration.workers : 1,
    logLevel: 'info',
    stage: 'experiment',
    logDestination: logs,
    shutdownTimeoutMs: settings.processingMs + 5000,
    ...(configuration.reservedConcurrency !== undefined ? { lambdaConcurrency: configuration.reservedConcurrency } : {}),
  });
  const sqs = createSqsClient(stack.aws);
  const queueUrl = configuration.path === 'ecs' ? stack.resources.ordersQueueUrl : stack.resources.lambdaInvokerQueueUrl;
  const consumer = configuration.path === 'ecs' ? stack.processor : stack.invoker;
  const invoker = configuration.path === 'lambda' ? stack.invoker : undefined;
  let drain: ReturnType<typeof createProcessor> | undefined;
  const table = openOrderRecords(stack);
  let sampling = false;
  let sampler: Promise<void> | undefined;

  /** The backlog now: the orders queue's visible messages, or the Lambda's asynchronous queue (queued + throttled and waiting). */
  const readBacklog = async () => (await readQueueDepth(sqs, queueUrl)).visible + (invoker?.stats.waiting ?? 0);

  try {
    const windowStart = Date.now();
    const samples: Sample[] = [];
    let sent = 0;
    sampling = true;
    let inWindow = true;
    sampler = (async () => {
      while (sampling) {
        const backlog = await readBacklog();
        const stats = invoker?.stats;
        const sample: Sample = {
          t: (Date.now() - windowStart) / 1000,
          window: inWindow,
          backlog,
          inFlight: consumer?.stats.inFlight ?? 0,
          processed: processedLines(logs, configuration.path).length,
          ...(stats
            ? { lambda: { waiting: stats.waiting, busy: stats.busy, environments: stats.environments, coldStarts: stats.coldStarts, throttles: stats.throttles } }
            : {}),
        };
        samples.push(sample);
        if (inWindow) onProgress({ phase: 'running', elapsedMs: Date.now() - windowStart, sent, processed: sample.processed, backlog });
        await sleep(500);
      }
    })();

    const arrivals: Arrival[] = await driveArrivals({
      url: stack.receiverUrl,
      rate: settings.rate,
      durationMs: settings.durationMs,
      idPrefix: configuration.label.replace(/[^A-Za-z0-9]/g, ''),
      onSent: (count) => (sent = count),
    });
    const windowEnd = windowStart + settings.durationMs;
    await sleep(Math.max(0, windowEnd - Date.now()));
    inWindow = false;
    const backlogAtEnd = await readBacklog();

    // Drain: scale out (ECS) or let the throttled events come back (Lambda) until every accepted order is processed.
    const accepted = new Set(arrivals.filter((arrival) => arrival.status === 202).map((arrival) => arrival.orderId));
    const acceptedOrders = arrivals.filter((arrival) => arrival.status === 202).map((arrival) => arrival.order);
    const injectedDuplicates = settings.duplicates
      ? await publishDuplicates({ aws: stack.aws, topicArn: stack.resources.topicArn, records: table.records, orders: spreadPick(acceptedOrders, settings.duplicates) })
      : 0;
    // Every accepted order processed, and every copy delivered (as a duplicate, or as a second effect).
    const settled = () => {
      const processed = processedLines(logs, configuration.path).length;
      const duplicates = logs.events('order.duplicate', (line) => line.path === configuration.path).length;
      return processed >= accepted.size && processed + duplicates >= accepted.size + injectedDuplicates;
    };
    const drainStart = Date.now();
    if (configuration.path === 'ecs' && processedLines(logs, 'ecs').length < accepted.size) {
      drain = createProcessor(
        {
          aws: stack.aws,
          logLevel: 'info',
          processingTimeMs: settings.processingMs,
          ordersTableName: stack.ordersTableName,
          queueUrl,
          concurrency: 1000,
          waitTimeSeconds: 1,
          retryDelaySeconds: 1,
          shutdownTimeoutMs: settings.processingMs + 5000,
        },
        createLogger({ component: 'processor-drain', destination: logs }),
      );
      drain.start();
    }
    const timeoutMs = drainTimeoutMs(configuration, settings);
    while (!settled() && Date.now() - drainStart < timeoutMs) {
      onProgress({
        phase: 'draining',
        elapsedMs: Date.now() - windowStart,
        sent,
        processed: processedLines(logs, configuration.path).length,
        backlog: accepted.size - processedLines(logs, configuration.path).length,
      });
      await sleep(200);
    }
    const drainMs = Date.now() - drainStart;
    const drained = settled();
    await sleep(500); // let a duplicate delivery, if any, show up before counting
    sampling = false;
    await sampler;

    const lines = processedLines(logs, configuration.path);
    const effects = await countEffects({ records: table.records, path: configuration.path, orderIds: accepted, logs });
    const counts = new Map<string, number>();
    for (const line of lines) counts.set(String(line.order_id), (counts.get(String(line.order_id)) ?? 0) + 1);
    const receiveCounts: Record<string, number> = {};
    for (const line of lines) {
      const attempt = String(line.attempt ?? 1);
      receiveCounts[attempt] = (receiveCounts[attempt] ?? 0) + 1;
    }

    const warmupMs = Math.min(settings.processingMs, settings.durationMs / 2);
    const processedAt = (line: LogLine) => Date.parse(String(line.processed_at)) - windowStart;
    const steady = lines.filter((line) => processedAt(line) >= warmupMs && processedAt(line) <= settings.durationMs);
    const finishedInWindow = lines.filter((line) => processedAt(line) <= settings.durationMs);

    let lambda: LambdaFigures | undefined;
    if (invoker) {
      const stats = invoker.stats;
      lambda = {
        concurrencyLimit: stats.concurrencyLimit,
        reserved: configuration.reservedConcurrency !== undefined,
        reports: summarizeReports(logs.reports()),
        coldStarts: stats.coldStarts,
        throttles: stats.throttles,
        peakBusy: stats.peakBusy,
        peakEnvironments: stats.peakEnvironments,
        invocations: stats.invocations,
        errors: stats.errors,
        peakBacklog: Math.max(backlogAtEnd, ...samples.map((sample) => sample.backlog)),
      };
    }

    onProgress({ phase: 'done', elapsedMs: Date.now() - windowStart, sent, processed: lines.length, backlog: 0 });
    const result: ConfigurationResult = {
      configuration,
      settings,
      sent: arrivals.length,
      accepted: accepted.size,
      rejected: arrivals.length - accepted.size,
      acceptedPerSecond: accepted.size / (settings.durationMs / 1000),
      processedPerSecond: steady.length / ((settings.durationMs - warmupMs) / 1000),
      capacityPerSecond: configuration.workers / (settings.processingMs / 1000),
      backlogAtEnd,
      samples,
      endToEndMs: percentiles(finishedInWindow.map((line) => Number(line.end_to_end_ms))),
      acceptMs: percentiles(arrivals.filter((arrival) => arrival.status === 202).map((arrival) => arrival.latencyMs)),
      receiveCounts,
      lost: accepted.size - effects.effects,
      duplicated: [...counts.values()].filter((count) => count > 1).length,
      ...effects,
      injectedDuplicates,
      drainMs,
      drained,
      ...(lambda ? { lambda } : {}),
    };
    return { result, lambdaLog: invoker ? [...logs.text] : [] };
  } finally {
    sampling = false;
    await sampler?.catch(() => undefined);
    await drain?.stop();
    table.close();
    await stack.stop();
  }
}
