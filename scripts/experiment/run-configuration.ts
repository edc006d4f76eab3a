import { setTimeout as sleep } from 'node:timers/promises';
import { createSqsClient } from '../../lib/aws-clients.ts';
import { createLogger } from '../../lib/logger.ts';
import { readQueueDepth } from '../../lib/queue-attributes.ts';
import { createProcessor } from '../../containers/processor/processor.ts';
import { LogCollector, type LogLine } from '../../local/log-collector.ts';
import { startLocalStack } from '../../local/stack.ts';
import { driveArrivals, type Arrival } from './arrivals.ts';
import { percentiles, type Percentiles } from './statistics.ts';

/** The local invoker's concurrency, as Lambda's default account limit. */
export const LAMBDA_CONCURRENCY = 1000;

export interface Configuration {
  /** e.g. "ecs×20" or "lambda". */
  label: string;
  path: 'ecs' | 'lambda';
  /** ECS: PROCESSOR_CONCURRENCY; Lambda: the concurrency limit. */
  workers: number;
}

export interface ExperimentSettings {
  /** Orders per second sent to POST /orders/async. */
  rate: number;
  durationMs: number;
  processingMs: number;
}

export interface Sample {
  /** Seconds since the window opened. */
  t: number;
  /** Orders waiting in the queue (ECS: orders queue; Lambda: the invoker's event queue). */
  backlog: number;
  /** Orders being worked on. */
  inFlight: number;
  /** Orders processed so far on this path. */
  processed: number;
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
  lost: number;
  duplicated: number;
  /** Time after the window until every accepted order was processed (the drain scales out). */
  drainMs: number;
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
 * One configuration of the experiment on a fresh local stack: steady arrivals for the window
 * while the backlog is sampled every half second, then a drain (the ECS processor scales out to
 * 1000 workers, like an autoscaler catching up) until every accepted order is processed, and a
 * count of what was lost or processed twice.
 */
export async function runConfiguration(
  configuration: Configuration,
  settings: ExperimentSettings,
  onProgress: (update: ProgressUpdate) => void = () => undefined,
): Promise<ConfigurationResult> {
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
  });
  const sqs = createSqsClient(stack.aws);
  const queueUrl = configuration.path === 'ecs' ? stack.resources.ordersQueueUrl : stack.resources.lambdaInvokerQueueUrl;
  const consumer = configuration.path === 'ecs' ? stack.processor : stack.invoker;
  let drain: ReturnType<typeof createProcessor> | undefined;

  try {
    const windowStart = Date.now();
    const samples: Sample[] = [];
    let sent = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const depth = await readQueueDepth(sqs, queueUrl);
        const sample: Sample = {
          t: (Date.now() - windowStart) / 1000,
          backlog: depth.visible,
          inFlight: consumer?.stats.inFlight ?? 0,
          processed: processedLines(logs, configuration.path).length,
        };
        samples.push(sample);
        onProgress({ phase: 'running', elapsedMs: Date.now() - windowStart, sent, processed: sample.processed, backlog: sample.backlog });
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
    sampling = false;
    await sampler;
    const backlogAtEnd = (await readQueueDepth(sqs, queueUrl)).visible;

    // Drain: scale out so that every accepted order is processed, then check none was lost.
    const accepted = new Set(arrivals.filter((arrival) => arrival.status === 202).map((arrival) => arrival.orderId));
    const drainStart = Date.now();
    if (configuration.path === 'ecs' && processedLines(logs, 'ecs').length < accepted.size) {
      drain = createProcessor(
        {
          aws: stack.aws,
          logLevel: 'info',
          processingTimeMs: settings.processingMs,
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
    const drainTimeoutMs = 60_000 + settings.processingMs * 10;
    while (processedLines(logs, configuration.path).length < accepted.size && Date.now() - drainStart < drainTimeoutMs) {
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
    await sleep(500); // let a duplicate delivery, if any, show up before counting

    const lines = processedLines(logs, configuration.path);
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
    const inWindow = lines.filter((line) => processedAt(line) <= settings.durationMs);

    onProgress({ phase: 'done', elapsedMs: Date.now() - windowStart, sent, processed: lines.length, backlog: 0 });
    return {
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
      endToEndMs: percentiles(inWindow.map((line) => Number(line.end_to_end_ms))),
      acceptMs: percentiles(arrivals.filter((arrival) => arrival.status === 202).map((arrival) => arrival.latencyMs)),
      receiveCounts,
      lost: [...accepted].filter((id) => !counts.has(id)).length,
      duplicated: [...counts.values()].filter((count) => count > 1).length,
      drainMs,
    };
  } finally {
    await drain?.stop();
    await stack.stop();
  }
}
