import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import { Consumer } from 'sqs-consumer';
import { createDynamoDbClient, createSnsClient, createSqsClient } from '../../lib/aws-clients.ts';
import type { AwsConfig, ProcessorConfig } from '../../lib/config.ts';
import { createLogger, type Logger } from '../../lib/logger.ts';
import { messagingSettings } from '../../lib/messaging-settings.ts';
import { decodeSqsMessage, orderMessageAttributes } from '../../lib/order-message.ts';
import { processOrder } from '../../lib/order-processing.ts';
import { parseOrder } from '../../lib/order-schema.ts';
import type { MessageHandler, QueueConsumer } from '../../lib/queue-consumer.ts';
import { createProcessor, createQueueConsumer } from '../../containers/processor/processor.ts';
import { DEFAULT_INPUTS } from '../../cost/model.ts';
import { createOrdersTable } from '../../local/dynamodb-emulator.ts';
import { provisionMessaging } from '../../local/provision.ts';
import { BASELINE_COMMIT, baselineTree } from './baseline.ts';
import { callsBetween, readCallCounts, sumCalls, type CallCounts } from './call-counter.ts';
import { describeCalls, fmtCalls } from './receiver.ts';
import type { BenchSection } from './report.ts';
import { fmt, median, ratio, rotation, type Table } from './stats.ts';
import { startTarget } from './targets.ts';

export interface ProcessorBenchSettings {
  /** Drain at a 0 ms handler: messages pre-filled per run, and the project's concurrencies. */
  drainMessages: number;
  drainConcurrencies: number[];
  /** Efficiency at a realistic handler time: rounds of `concurrency` orders each. */
  processingMs: number;
  efficiencyConcurrencies: number[];
  efficiencyRounds: number;
  /** Run sqs-consumer at the efficiency handler time too. */
  efficiencyPeers: boolean;
  /** Interleaved rounds of the drains. */
  rounds: number;
  /** Upper bound on one drain. */
  timeoutMs: number;
}

/** SQS actions by kind, as the tables and the cost model group them. */
export const SQS_ACTIONS = {
  receives: ['ReceiveMessage'],
  deletes: ['DeleteMessage', 'DeleteMessageBatch'],
  visibility: ['ChangeMessageVisibility', 'ChangeMessageVisibilityBatch'],
} as const;

/** The orders table's actions a path sends per delivery (issue 12's claims): counted apart from SQS's. */
export const TABLE_ACTIONS = ['GetItem', 'PutItem', 'UpdateItem', 'Query', 'BatchGetItem', 'BatchWriteItem'] as const;

export type ProcessorKey = 'raw' | 'sqs-consumer' | 'sqs-consumer-batch' | 'processor' | 'processor-unclaimed' | 'today';

export interface ProcessorRow {
  key: ProcessorKey;
  name: string;
  concurrency: number;
  handlerMs: number;
  orders: number;
  ordersPerSecond: number;
  /** Orders/s of each round, in the order they ran. */
  roundsPerSecond: number[];
  cpuMsPerOrder: number;
  /** Every SQS and orders-table call the consumer made (prefill excluded), by action, over all its runs. */
  calls: CallCounts;
  /** SQS calls per order by kind, `all` SQS calls; `table` the orders table's calls (claims). */
  perOrder: { receives: number; deletes: number; visibility: number; all: number; table: number };
  /** Throughput ÷ (concurrency ÷ handler time); NaN at a 0 ms handler. */
  efficiency: number;
  peakInFlight: number | undefined;
}

export interface ProcessorFigures {
  drains: ProcessorRow[];
  efficiency: ProcessorRow[];
  baseline: string;
}

/** A consumer under test: started on a pre-filled queue, told of every handled order, stopped after the last. */
interface Contestant {
  start(): void;
  stop(): Promise<void>;
  peakInFlight(): number | undefined;
}

interface RunContext {
  aws: AwsConfig;
  queueUrl: string;
  /** A table of the run's own: the pre-filled order ids repeat from run to run. */
  ordersTableName: string;
  concurrency: number;
  processingMs: number;
  logger: Logger;
  onHandled: () => void;
}

interface ContestantSpec {
  key: ProcessorKey;
  name: string;
  concurrency: number;
  make: (context: RunContext) => Contestant;
}

interface Run {
  orders: number;
  elapsedMs: number;
  cpuMs: number;
  calls: CallCounts;
  peakInFlight: number | undefined;
}

/** CPU time this process has used so far, in ms. */
function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const SQS_BATCH = 10;
/** sqs-consumer's equivalent of concurrency 100: ten consumers, each receiving up to ten and handling them before its next receive. */
const PEER_CONSUMERS = 10;

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

const processorConfig = (context: RunContext): ProcessorConfig => ({
  aws: context.aws,
  logLevel: 'info',
  processingTimeMs: context.processingMs,
  ordersTableName: context.ordersTableName,
  queueUrl: context.queueUrl,
  concurrency: context.concurrency,
  waitTimeSeconds: messagingSettings.ordersQueue.receiveWaitTimeSeconds,
  retryDelaySeconds: 1,
  shutdownTimeoutMs: 5000,
});

/**
 * The same consumer as the processor's, its handler the same order core without the orders table:
 * decode, validate, process, log. What a path costs without its claims (issue 12), measured beside it.
 */
function unclaimedHandler(context: RunContext): MessageHandler {
  return async (message, delivery) => {
    const decoded = decodeSqsMessage(message);
    await processOrder(parseOrder(decoded.payload), {
      path: 'ecs',
      requestId: decoded.requestId,
      acceptedAt: decoded.acceptedAt,
      logger: context.logger,
      processingTimeMs: context.processingMs,
      attempt: delivery.receiveCount,
      signal: delivery.signal,
    });
  };
}

function unclaimedProcessor(context: RunContext): QueueConsumer {
  return createQueueConsumer(processorConfig(context), context.logger, unclaimedHandler(context));
}

function fromQueueConsumer(consumer: QueueConsumer, context: RunContext): Contestant {
  consumer.on('message_processed', context.onHandled);
  return { start: () => consumer.start(), stop: async () => void (await consumer.stop()), peakInFlight: () => consumer.stats.peakInFlight };
}

/** The ceiling: ten loops of receive-ten then delete-batch, no handler, no logging. */
function rawLoop(context: RunContext): Contestant {
  const sqs = createSqsClient(context.aws, { requestTimeoutMs: 30_000, maxAttempts: 1 });
  const stop = new AbortController();
  let loops: Promise<void>[] = [];
  const loop = async () => {
    while (!stop.signal.aborted) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: context.queueUrl, MaxNumberOfMessages: SQS_BATCH, WaitTimeSeconds: messagingSettings.ordersQueue.receiveWaitTimeSeconds, MessageAttributeNames: ['All'] }),
        { abortSignal: stop.signal },
      );
      if (Messages.length === 0) continue;
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: context.queueUrl, Entries: Messages.map((message, index) => ({ Id: `d${index}`, ReceiptHandle: message.ReceiptHandle ?? '' })) }));
      for (const _ of Messages) context.onHandled();
    }
  };
  return {
    start: () => (loops = Array.from({ length: SQS_BATCH }, () => loop().catch(() => undefined))),
    stop: async () => {
      stop.abort();
      await Promise.all(loops);
    },
    peakInFlight: () => undefined,
  };
}

/**
 * bbc's sqs-consumer, `PEER_CONSUMERS` consumers of batchSize 10, running the order core on each
 * message without the orders table, as the unclaimed processor does: the consumers compared on
 * the same work, their receives, deletes and scheduling, not on the claims' calls to dynalite.
 */
function sqsConsumer(mode: 'message' | 'batch', context: RunContext): Contestant {
  const sqs = createSqsClient(context.aws, { requestTimeoutMs: 30_000, maxAttempts: 1 });
  const handler = unclaimedHandler(context);
  const never = new AbortController().signal;
  const handle = async (message: Message): Promise<Message> => {
    await handler(message, { receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1), maxReceiveCount: undefined, signal: never });
    context.onHandled();
    return message;
  };
  const common = {
    queueUrl: context.queueUrl,
    sqs,
    batchSize: SQS_BATCH,
    waitTimeSeconds: messagingSettings.ordersQueue.receiveWaitTimeSeconds,
    messageAttributeNames: ['All'],
    messageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'] as ('ApproximateReceiveCount' | 'SentTimestamp')[],
  };
  const consumers = Array.from({ length: PEER_CONSUMERS }, () =>
    mode === 'message'
      ? Consumer.create({ ...common, handleMessage: handle })
      : Consumer.create({
          ...common,
          // The handler on every message of the batch at once; those that succeeded are deleted (one DeleteMessageBatch).
          handleMessageBatch: async (messages) => {
            const settled = await Promise.allSettled(messages.map(handle));
            return settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
          },
        }),
  );
  for (const consumer of consumers) consumer.on('error', () => undefined);
  return {
    start: () => consumers.forEach((consumer) => consumer.start()),
    stop: async () => {
      await Promise.all(
        consumers.map(async (consumer) => {
          const stopped = new Promise<void>((resolve) => consumer.once('stopped', () => resolve()));
          consumer.stop({ abort: true });
          await stopped;
        }),
      );
    },
    peakInFlight: () => undefined,
  };
}

/**
 * How fast each consumer drains a pre-filled queue at a 0 ms handler and how close it gets to
 * concurrency ÷ handler time at a realistic one, with the SQS calls it makes counted by action.
 */
export async function benchProcessor(settings: ProcessorBenchSettings, log: (line: string) => void): Promise<{ section: BenchSection; figures: ProcessorFigures }> {
  const s = settings;
  const emulator = await startTarget('emulator');
  try {
    const aws: AwsConfig = { region: 'us-east-1', endpoint: emulator.url, dynamodbEndpoint: emulator.dynamodbUrl };
    const sqs = createSqsClient(aws, { requestTimeoutMs: 30_000 });
    const logger = createLogger({ component: 'processor', destination: pino.destination({ dest: '/dev/null', sync: true }) });
    const baseline = baselineTree();
    const baselineProcessor =
      'dir' in baseline ? ((await import(`${baseline.dir}/containers/processor/processor.ts`)) as typeof import('../../containers/processor/processor.ts')) : undefined;
    if ('error' in baseline) log(`processor: no baseline rows: ${baseline.error}`);

    const project = (concurrency: number): ContestantSpec[] => [
      { key: 'processor', name: 'processor (lib/queue-consumer.ts as built)', concurrency, make: (context) => fromQueueConsumer(createProcessor(processorConfig(context), context.logger), context) },
      { key: 'processor-unclaimed', name: 'processor without its claims (the order core without the table)', concurrency, make: (context) => fromQueueConsumer(unclaimedProcessor(context), context) },
      ...(baselineProcessor
        ? [{ key: 'today' as const, name: `today's processor (${BASELINE_COMMIT})`, concurrency, make: (context: RunContext) => fromQueueConsumer(baselineProcessor.createProcessor(processorConfig(context), context.logger), context) }]
        : []),
    ];
    const peers = (concurrency: number): ContestantSpec[] => [
      { key: 'sqs-consumer', name: `sqs-consumer handleMessage, ${PEER_CONSUMERS} consumers × batchSize ${SQS_BATCH}`, concurrency, make: (context) => sqsConsumer('message', context) },
      { key: 'sqs-consumer-batch', name: `sqs-consumer handleMessageBatch, ${PEER_CONSUMERS} consumers × batchSize ${SQS_BATCH}`, concurrency, make: (context) => sqsConsumer('batch', context) },
    ];

    let queues = 0;
    const run = async (spec: ContestantSpec, orders: number, processingMs: number): Promise<Run> => {
      queues += 1;
      const { ordersQueueUrl: queueUrl } = await provisionMessaging({ sns: createSnsClient(aws), sqs, stage: `bp${queues}`, mode: 'ecs' });
      const ordersTableName = await createOrdersTable(createDynamoDbClient(aws), `bp${queues}`);
      await prefill(sqs, queueUrl, orders);
      let handled = 0;
      let finished = 0;
      let resolveDone: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (resolveDone = resolve));
      const contestant = spec.make({
        aws,
        queueUrl,
        ordersTableName,
        concurrency: spec.concurrency,
        processingMs,
        logger,
        onHandled: () => {
          handled += 1;
          if (handled === orders) {
            finished = performance.now();
            resolveDone();
          }
        },
      });
      const callsBefore = await readCallCounts(emulator.url);
      const cpuBefore = ownCpuMs();
      const started = performance.now();
      contestant.start();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([done, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${spec.name} handled ${handled} of ${orders} orders within ${s.timeoutMs} ms`)), s.timeoutMs)))]);
      } finally {
        clearTimeout(timer);
        await contestant.stop();
      }
      const cpuMs = ownCpuMs() - cpuBefore;
      // Read after stop(): the last deletes are flushed by then, and the long polls still open when the last order was handled are counted.
      const calls = callsBetween(callsBefore, await readCallCounts(emulator.url));
      return { orders, elapsedMs: finished - started, cpuMs, calls, peakInFlight: contestant.peakInFlight() };
    };

    log('processor: warming up (a small drain each)');
    const warmup = Math.min(100, s.drainMessages);
    for (const spec of [{ key: 'raw' as const, name: 'raw', concurrency: 100, make: rawLoop }, ...peers(100), ...project(10)]) await run(spec, warmup, 0);

    const drainSpecs: ContestantSpec[] = [
      { key: 'raw', name: `raw SDK loop: ${SQS_BATCH} × (receive 10, delete batch), no handler (ceiling)`, concurrency: 100, make: rawLoop },
      ...peers(100),
      ...s.drainConcurrencies.flatMap(project),
    ];
    const drainRuns: Run[][] = drainSpecs.map(() => []);
    for (let round = 1; round <= s.rounds; round += 1) {
      // Each round starts one further along the list, so that no consumer always runs right after the same neighbour.
      for (const index of rotation(drainSpecs.length, round)) drainRuns[index]?.push(await run(drainSpecs[index] as ContestantSpec, s.drainMessages, 0));
      log(`processor: drain round ${round}/${s.rounds}: ${drainRuns.map((runs) => `${fmt(perSecond(runs.at(-1)))}/s`).join(', ')}`);
    }
    const drains = drainSpecs.map((spec, index) => rowOf(spec, drainRuns[index] ?? [], 0));

    const efficiencySpecs = [...s.efficiencyConcurrencies.flatMap(project), ...(s.efficiencyPeers ? peers(100).filter((spec) => spec.key === 'sqs-consumer-batch') : [])];
    const efficiency: ProcessorRow[] = [];
    for (const spec of efficiencySpecs) {
      const result = await run(spec, spec.concurrency * s.efficiencyRounds, s.processingMs);
      efficiency.push(rowOf(spec, [result], s.processingMs));
      log(`processor: ${spec.name}, concurrency ${spec.concurrency} at ${s.processingMs} ms: ${fmt(perSecond(result))} orders/s`);
    }

    /** The last columns of both tables: SQS calls per order by kind, all calls, the peak in flight. */
    const callColumns = (row: ProcessorRow) => [
      fmtCalls(row.perOrder.receives),
      fmtCalls(row.perOrder.deletes),
      fmtCalls(row.perOrder.visibility),
      fmtCalls(row.perOrder.all),
      fmtCalls(row.perOrder.table),
      describeCalls(row.calls),
      row.peakInFlight === undefined ? '—' : String(row.peakInFlight),
    ];
    const batchPeer = drains.find((row) => row.key === 'sqs-consumer-batch');
    const raw = drains.find((row) => row.key === 'raw');
    const drainTable: Table = {
      headers: ['consumer', 'concurrency', 'orders/s', 'vs sqs-consumer batch', 'vs raw loop', 'each round', 'CPU ms/order', 'CPU vs sqs-consumer batch', 'receives/order', 'deletes/order', 'visibility/order', 'SQS calls/order', 'table calls/order', 'calls (all rounds)', 'peak in flight'],
      rows: drains.map((row, index) => [
        row.name,
        String(row.concurrency),
        fmt(row.ordersPerSecond),
        ratio(row.ordersPerSecond, batchPeer?.ordersPerSecond ?? Number.NaN),
        ratio(row.ordersPerSecond, raw?.ordersPerSecond ?? Number.NaN),
        (drainRuns[index] ?? []).map((one) => fmt(perSecond(one))).join(' / '),
        fmt(row.cpuMsPerOrder),
        ratio(row.cpuMsPerOrder, batchPeer?.cpuMsPerOrder ?? Number.NaN),
        ...callColumns(row),
      ]),
    };
    const efficiencyTable: Table = {
      headers: ['consumer', 'concurrency', 'orders', 'elapsed s', 'orders/s', 'ideal: concurrency ÷ handler time', 'efficiency', 'CPU ms/order', 'receives/order', 'deletes/order', 'visibility/order', 'SQS calls/order', 'table calls/order', 'calls', 'peak in flight'],
      rows: efficiency.map((row) => [
        row.name,
        String(row.concurrency),
        String(row.orders),
        fmt(row.orders / row.ordersPerSecond),
        fmt(row.ordersPerSecond),
        `${fmt((row.concurrency * 1000) / s.processingMs)}/s`,
        row.efficiency.toFixed(3),
        fmt(row.cpuMsPerOrder),
        ...callColumns(row),
      ]),
    };

    // Issue 12: each path's claims against the same consumer without them, in the same run.
    const claimRows = (rows: ProcessorRow[], setting: string) =>
      rows
        .filter((row) => row.key === 'processor')
        .flatMap((claimed) => {
          const bare = rows.find((row) => row.key === 'processor-unclaimed' && row.concurrency === claimed.concurrency);
          return bare
            ? [[
                setting,
                String(claimed.concurrency),
                fmt(claimed.ordersPerSecond),
                fmt(bare.ordersPerSecond),
                ratio(claimed.ordersPerSecond, bare.ordersPerSecond),
                fmt(claimed.cpuMsPerOrder),
                fmt(bare.cpuMsPerOrder),
                fmt(claimed.cpuMsPerOrder - bare.cpuMsPerOrder),
                fmtCalls(claimed.perOrder.table),
                ...(setting.startsWith('efficiency') ? [claimed.efficiency.toFixed(3), bare.efficiency.toFixed(3)] : ['—', '—']),
              ]]
            : [];
        });
    const claimTable: Table = {
      headers: ['run', 'concurrency', 'orders/s with claims', 'without', 'ratio', 'CPU ms/order with', 'without', 'claims add', 'table calls/order', 'efficiency with', 'without'],
      rows: [...claimRows(drains, 'drain, 0 ms handler'), ...claimRows(efficiency, `efficiency, ${s.processingMs} ms handler`)],
    };

    const busiest = drains.find((row) => row.key === 'processor' && row.concurrency === Math.max(...s.drainConcurrencies));
    const single = drains.find((row) => row.key === 'processor' && row.concurrency === Math.min(...s.drainConcurrencies));
    const section: BenchSection = {
      title: 'Processor',
      method: [
        `Every consumer runs in this process (its CPU is this process's, user + system, over the run ÷ its orders); the emulator runs in another and counts the SQS calls it serves by action (scripts/bench/call-counter.ts), read before the consumer starts and after it has stopped, so the pre-fill is not counted and the last deletes and the long polls still open at the end are. Every run gets a fresh queue, pre-filled before the consumer starts with orders as the raw-delivery subscription leaves them (order JSON, request id and acceptance time as attributes); timed from start to the last order handled. Long polls wait ${messagingSettings.ordersQueue.receiveWaitTimeSeconds} s as deployed.`,
        '',
        `The consumers: the project's processor (\`createProcessor\`: lib/queue-consumer.ts with the shared order handler, which claims each order in the orders table on dynalite before working and records its outcome after, logging to /dev/null); the same consumer without its claims (its handler the same order core without the table: what the claims cost, issue 12); today's (the same as of commit ${BASELINE_COMMIT}, taken from git: before the orders table, so without claims); bbc's [sqs-consumer](https://github.com/bbc/sqs-consumer) in both its modes, running the order core without the table (as the unclaimed processor does) on every message — \`handleMessage\` (each message of a receive handled at once, each deleted with its own DeleteMessage) and \`handleMessageBatch\` (the batch handled at once, the successes deleted with one DeleteMessageBatch) — each as ${PEER_CONSUMERS} consumers of batchSize ${SQS_BATCH}, the equivalent of concurrency 100 (up to ${PEER_CONSUMERS * SQS_BATCH} orders in flight; each consumer receives again only once its whole batch is done); and a raw SDK loop as the ceiling (${SQS_BATCH} loops of receive-ten then delete-batch, no handler, no logs).`,
        '',
        `Drain: ${s.drainMessages.toLocaleString('en-US')} orders at a 0 ms handler, ${s.rounds} interleaved round(s) (every consumer once per round, in turn); orders/s is the median round, CPU the median round, calls per order over all rounds. Efficiency: ${s.efficiencyRounds} rounds of orders (concurrency × ${s.efficiencyRounds}) at a ${s.processingMs} ms handler; efficiency = orders/s ÷ (concurrency ÷ handler time).`,
      ],
      tables: [
        { caption: `Drain of a pre-filled queue at a 0 ms handler (${s.drainMessages.toLocaleString('en-US')} orders)`, table: drainTable },
        { caption: `Efficiency at a ${s.processingMs} ms handler`, table: efficiencyTable },
        { caption: 'What the claims cost (issue 12): the processor against the same consumer without its orders table, same run', table: claimTable },
      ],
      notes: [
        'SQS calls per order count every call the consumer made during its run (GetQueueAttributes at start included in the total); "receives" include the empty long polls aborted at stop.',
        ...(busiest && single
          ? [`A 0.25 vCPU task has a quarter of a core: at ${fmt(single.cpuMsPerOrder)} to ${fmt(busiest.cpuMsPerOrder)} ms per order (concurrency ${single.concurrency} to ${busiest.concurrency}), about ${fmt(250 / single.cpuMsPerOrder)} to ${fmt(250 / busiest.cpuMsPerOrder)} orders/s at full CPU on cores like these; \`npm run cost\` assumes ${DEFAULT_INPUTS.processorTaskRate} (\`--processor-rate\`).`]
          : []),
        ...('error' in baseline ? [`No rows for today's processor: ${baseline.error}.`] : []),
      ],
    };
    return { section, figures: { drains, efficiency, baseline: BASELINE_COMMIT } };
  } finally {
    await emulator.stop();
  }
}

function perSecond(run: Run | undefined): number {
  return run && run.elapsedMs > 0 ? (run.orders / run.elapsedMs) * 1000 : Number.NaN;
}

function rowOf(spec: ContestantSpec, runs: Run[], handlerMs: number): ProcessorRow {
  const orders = runs.reduce((sum, one) => sum + one.orders, 0);
  const calls: CallCounts = {};
  for (const one of runs) for (const [action, count] of Object.entries(one.calls)) calls[action] = (calls[action] ?? 0) + count;
  const per = (count: number) => (orders > 0 ? count / orders : Number.NaN);
  const ordersPerSecond = median(runs.map(perSecond));
  return {
    key: spec.key,
    name: spec.name,
    concurrency: spec.concurrency,
    handlerMs,
    orders: runs.length === 1 ? orders : (runs[0]?.orders ?? 0),
    ordersPerSecond,
    roundsPerSecond: runs.map(perSecond),
    cpuMsPerOrder: median(runs.map((one) => one.cpuMs / one.orders)),
    calls,
    perOrder: {
      receives: per(sumCalls(calls, SQS_ACTIONS.receives)),
      deletes: per(sumCalls(calls, SQS_ACTIONS.deletes)),
      visibility: per(sumCalls(calls, SQS_ACTIONS.visibility)),
      all: per(Object.entries(calls).reduce((sum, [action, count]) => sum + ((TABLE_ACTIONS as readonly string[]).includes(action) ? 0 : count), 0)),
      table: per(sumCalls(calls, TABLE_ACTIONS)),
    },
    efficiency: handlerMs > 0 ? ordersPerSecond / ((spec.concurrency * 1000) / handlerMs) : Number.NaN,
    peakInFlight: runs.length > 0 && runs.every((one) => one.peakInFlight !== undefined) ? Math.max(...runs.map((one) => one.peakInFlight ?? 0)) : undefined,
  };
}
