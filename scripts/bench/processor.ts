import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import { createSnsClient, createSqsClient } from '../../lib/aws-clients.ts';
import type { AwsConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { messagingSettings } from '../../lib/messaging-settings.ts';
import { orderMessageAttributes } from '../../lib/order-message.ts';
import { createProcessor } from '../../containers/processor/processor.ts';
import { DEFAULT_INPUTS } from '../../cost/model.ts';
import { provisionMessaging } from '../../local/provision.ts';
import type { BenchSection } from './report.ts';
import { fmt, ratio, type Table } from './stats.ts';
import { startTarget } from './targets.ts';

export interface ProcessorBenchSettings {
  /** Drain at 0 ms: messages pre-filled per run, and the concurrencies. */
  drainMessages: number;
  drainConcurrencies: number[];
  /** Efficiency at a realistic processing time: rounds of `concurrency` orders each. */
  processingMs: number;
  efficiencyConcurrencies: number[];
  rounds: number;
  /** Upper bound on one drain. */
  timeoutMs: number;
}

interface Drain {
  orders: number;
  elapsedMs: number;
  perSecond: number;
  peakInFlight: number;
  /** CPU time (user + system) of this process per order while it drained. */
  cpuMsPerOrder: number;
}

/** CPU time this process has used so far, in ms. */
function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const SQS_BATCH = 10;

/** Puts `count` orders on the queue as the raw-delivery subscription does: order JSON plus attributes. */
async function prefill(sqs: SQSClient, queueUrl: string, count: number): Promise<void> {
  const batches = Array.from({ length: Math.ceil(count / SQS_BATCH) }, (_, batch) =>
    Array.from({ length: Math.min(SQS_BATCH, count - batch * SQS_BATCH) }, (_, index) => {
      const id = `p-${batch * SQS_BATCH + index}`;
      return {
        Id: `m${index}`,
        MessageBody: `{"order_id":"${id}","customer_id":123,"items":[{"product_id":"SKU-001","quantity":1,"price":19.99}]}`,
        MessageAttributes: orderMessageAttributes(`req-${id}`, Date.now()),
      };
    }),
  );
  for (let start = 0; start < batches.length; start += 10) {
    await Promise.all(batches.slice(start, start + 10).map((Entries) => sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }))));
  }
}

/** A fresh queue for one run (stage names keep runs apart). */
async function freshQueue(aws: AwsConfig, stage: string): Promise<string> {
  const resources = await provisionMessaging({ sns: createSnsClient(aws), sqs: createSqsClient(aws), stage, mode: 'ecs' });
  return resources.ordersQueueUrl;
}

/** The real processor (createProcessor) drains `orders` pre-filled messages; timed from start() to the last one done. */
async function drainWithProcessor(aws: AwsConfig, queueUrl: string, orders: number, concurrency: number, processingMs: number, timeoutMs: number): Promise<Drain> {
  const logger = createLogger({ component: 'processor', destination: pino.destination({ dest: '/dev/null', sync: true }) });
  const processor = createProcessor(
    {
      aws,
      logLevel: 'info',
      processingTimeMs: processingMs,
      queueUrl,
      concurrency,
      waitTimeSeconds: messagingSettings.ordersQueue.receiveWaitTimeSeconds,
      retryDelaySeconds: 1,
      shutdownTimeoutMs: 5000,
    },
    logger,
  );
  let done = 0;
  let finished = 0;
  const allDone = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`processor drained ${done} of ${orders} orders within ${timeoutMs} ms`)), timeoutMs);
    processor.on('message_processed', () => {
      done += 1;
      if (done === orders) {
        finished = performance.now();
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const cpuBefore = ownCpuMs();
  const started = performance.now();
  processor.start();
  try {
    await allDone;
  } finally {
    await processor.stop();
  }
  const elapsedMs = finished - started;
  const cpuMsPerOrder = (ownCpuMs() - cpuBefore) / orders;
  return { orders, elapsedMs, perSecond: (orders / elapsedMs) * 1000, peakInFlight: processor.stats.peakInFlight, cpuMsPerOrder };
}

/** The ceiling the emulator allows: ten loops of receive-ten then delete-batch, no processing, no logging. */
async function drainRaw(sqs: SQSClient, queueUrl: string, orders: number, timeoutMs: number): Promise<Drain> {
  let deleted = 0;
  let finished = 0;
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  const cpuBefore = ownCpuMs();
  const started = performance.now();
  const loop = async () => {
    while (!stop.signal.aborted) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: SQS_BATCH, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
        { abortSignal: stop.signal },
      );
      if (Messages.length === 0) continue;
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((message, index) => ({ Id: `d${index}`, ReceiptHandle: message.ReceiptHandle ?? '' })),
        }),
      );
      deleted += Messages.length;
      if (deleted >= orders && !stop.signal.aborted) {
        finished = performance.now();
        stop.abort();
      }
    }
  };
  // A loop still waiting on an empty receive when the last message is done is aborted, not waited for.
  await Promise.all(Array.from({ length: 10 }, () => loop().catch(() => undefined)));
  clearTimeout(timer);
  if (deleted < orders) throw new Error(`raw loop drained ${deleted} of ${orders} orders within ${timeoutMs} ms`);
  const elapsedMs = finished - started;
  return { orders, elapsedMs, perSecond: (orders / elapsedMs) * 1000, peakInFlight: 0, cpuMsPerOrder: (ownCpuMs() - cpuBefore) / orders };
}

/**
 * How fast the ECS processor drains a pre-filled queue at 0 ms processing (its own overhead, against
 * a raw SDK loop), and how close it gets to concurrency ÷ processing time at a realistic one.
 */
export async function benchProcessor(settings: ProcessorBenchSettings, log: (line: string) => void): Promise<BenchSection> {
  const s = settings;
  const emulator = await startTarget('emulator');
  try {
    const aws: AwsConfig = { region: 'us-east-1', endpoint: emulator.url };
    const sqs = createSqsClient(aws, { requestTimeoutMs: 30_000 });
    let run = 0;
    const prepared = async (orders: number) => {
      run += 1;
      const queueUrl = await freshQueue(aws, `bp${run}`);
      await prefill(sqs, queueUrl, orders);
      return queueUrl;
    };

    log('processor: warming up (a small drain each way)');
    const warmup = Math.min(100, s.drainMessages);
    await drainRaw(sqs, await prepared(warmup), warmup, s.timeoutMs);
    await drainWithProcessor(aws, await prepared(warmup), warmup, 10, 0, s.timeoutMs);
    log(`processor: raw SDK drain of ${s.drainMessages} messages`);
    const raw = await drainRaw(sqs, await prepared(s.drainMessages), s.drainMessages, s.timeoutMs);
    const drains: { concurrency: number; drain: Drain }[] = [];
    for (const concurrency of s.drainConcurrencies) {
      const queueUrl = await prepared(s.drainMessages);
      drains.push({ concurrency, drain: await drainWithProcessor(aws, queueUrl, s.drainMessages, concurrency, 0, s.timeoutMs) });
      log(`processor: concurrency ${concurrency} at 0 ms: ${fmt(drains.at(-1)?.drain.perSecond ?? 0)} orders/s`);
    }
    const drainTable: Table = {
      headers: ['consumer', 'concurrency', 'orders/s', 'vs raw loop', 'CPU ms/order', 'CPU vs raw loop', 'peak in flight'],
      rows: [
        ['raw SDK loop: 10 × (receive 10, delete batch)', '—', fmt(raw.perSecond), '1.00×', fmt(raw.cpuMsPerOrder), '1.00×', '—'],
        ...drains.map(({ concurrency, drain }) => [
          'processor (createProcessor)',
          String(concurrency),
          fmt(drain.perSecond),
          ratio(drain.perSecond, raw.perSecond),
          fmt(drain.cpuMsPerOrder),
          ratio(drain.cpuMsPerOrder, raw.cpuMsPerOrder),
          String(drain.peakInFlight),
        ]),
      ],
    };

    const efficiency: { concurrency: number; drain: Drain }[] = [];
    for (const concurrency of s.efficiencyConcurrencies) {
      const orders = concurrency * s.rounds;
      const queueUrl = await prepared(orders);
      efficiency.push({ concurrency, drain: await drainWithProcessor(aws, queueUrl, orders, concurrency, s.processingMs, s.timeoutMs) });
      log(`processor: concurrency ${concurrency} at ${s.processingMs} ms: ${fmt(efficiency.at(-1)?.drain.perSecond ?? 0)} orders/s`);
    }
    const busiestConcurrency = Math.max(...s.drainConcurrencies);
    const busiest = drains.find(({ concurrency }) => concurrency === busiestConcurrency)?.drain ?? raw;
    const singleConcurrency = Math.min(...s.drainConcurrencies);
    const single = drains.find(({ concurrency }) => concurrency === singleConcurrency)?.drain ?? raw;
    const efficiencyTable: Table = {
      headers: ['concurrency', 'orders', 'elapsed s', 'orders/s', 'ideal: concurrency ÷ processing time', 'efficiency', 'peak in flight'],
      rows: efficiency.map(({ concurrency, drain }) => {
        const ideal = (concurrency * 1000) / s.processingMs;
        return [String(concurrency), String(drain.orders), fmt(drain.elapsedMs / 1000), fmt(drain.perSecond), `${fmt(ideal)}/s`, ratio(drain.perSecond, ideal), String(drain.peakInFlight)];
      }),
    };

    return {
      title: 'Processor',
      method: [
        'The real processor (`createProcessor`: the queue consumer and the shared order core, logging to /dev/null) in this process; the emulator in another. Every run gets a fresh queue, pre-filled before the processor starts with orders as the raw-delivery subscription leaves them (order JSON, request id and acceptance time as attributes). Timed from `start()` to the last `message_processed`, so the first receive and the queue-attribute lookup count. Long polls wait 20 s as deployed; deletes are batched as in production.',
        '',
        `Drain: ${s.drainMessages.toLocaleString('en-US')} orders at PROCESSING_TIME_MS=0 per concurrency, against a raw SDK loop on the same emulator (ten loops of receive-ten and delete-batch, no processing, no logs), measured in the same run. Efficiency: ${s.rounds} rounds of orders (concurrency × ${s.rounds}) at PROCESSING_TIME_MS=${s.processingMs}; efficiency = measured orders/s ÷ (concurrency ÷ processing time).`,
      ],
      tables: [
        { caption: `Drain of a pre-filled queue at 0 ms processing (${s.drainMessages.toLocaleString('en-US')} orders)`, table: drainTable },
        { caption: `Efficiency at PROCESSING_TIME_MS=${s.processingMs}`, table: efficiencyTable },
      ],
      notes: [
        'At concurrency 1 every order waits for its own receive round trip; at 10 and more, receives of up to ten run side by side and the emulator, on the same two cores, becomes the limit.',
        'The efficiency shortfall is the time to the first receive plus one receive round trip per round, against rounds of the processing time; `--efficiency` in `npm run cost` (0.9 by default) stands for it.',
        `CPU ms per order is this process's CPU time (user + system) over the drain, divided by the orders: the processor's own cost, apart from the emulator's. It runs from ${fmt(busiest.cpuMsPerOrder)} ms with full receives (concurrency ${busiestConcurrency}) to ${fmt(single.cpuMsPerOrder)} ms with one message per receive (concurrency ${singleConcurrency}), which is what a long-polling task sees at moderate load. A 0.25 vCPU task has a quarter of a core: about ${fmt(250 / single.cpuMsPerOrder)} to ${fmt(250 / busiest.cpuMsPerOrder)} orders/s at full CPU on cores like these; \`npm run cost\` assumes ${DEFAULT_INPUTS.processorTaskRate} (\`--processor-rate\`).`,
      ],
    };
  } finally {
    await emulator.stop();
  }
}
