import { DELETE_BATCH_DELAY_MS, SQS_BATCH_LIMIT } from '../lib/delete-batcher.ts';
import { messagingSettings } from '../lib/messaging-settings.ts';
import { ORDER_RETENTION_DAYS } from '../lib/orders-table.ts';
import { pollerCount } from '../lib/queue-consumer.ts';
import { pathTableUsage, receiverTableUsage, type TableUsagePerOrder } from './dynamodb.ts';
import type { MeasuredRequests } from './measured.ts';
import type { Prices } from './prices.ts';

/**
 * The monthly cost of ordersync's two processing paths, as pure functions of a workload and a
 * price file. Every order enters through the same front door (the receiver on Fargate behind the
 * ALB, publishing to SNS through the NAT gateway), which both paths pay; then either the ECS path
 * (SNS → SQS → Fargate processor) or the Lambda path (SNS → Lambda) processes it.
 * docs/cost-model.md explains each line and its assumptions.
 */

/** What the user chooses (the CLI's flags). */
export interface CostInputs {
  ordersPerMonth: number;
  /** Simulated work per order (PROCESSING_TIME_MS). */
  processingMs: number;
  /** The Lambda's memory size. */
  lambdaMemoryMb: number;
  /** Orders in flight per processor task (PROCESSOR_CONCURRENCY). */
  processorConcurrency: number;
  /** Task counts; `auto` runs as many as the peak rate needs (at least one). */
  receiverTasks: number | 'auto';
  processorTasks: number | 'auto';
  /** Size of every Fargate task (serverless.yml: cpu 256 = 0.25 vCPU, memory 0.5 GB). */
  taskVcpu: number;
  taskMemoryGb: number;
  /** Peak rate ÷ average rate: `auto` task counts are sized for the peak and run all month. */
  peakFactor: number;
  /** Messages per non-empty receive (1 to 10). */
  receiveBatch: number;
  natGateways: number;
  /** Orders per second one receiver task takes at its task size (an estimate from BENCHMARKS.md; see the docs). */
  receiverTaskRate: number;
  /** Orders per second of queue work one processor task's CPU handles (an estimate). */
  processorTaskRate: number;
  /** Share of the ideal concurrency ÷ processing time a processor task reaches (BENCHMARKS.md). */
  processorEfficiency: number;
  /** Lambda billed time beyond the processing time (handler work, runtime), per invocation. */
  lambdaOverheadMs: number;
  /** The orders table's point-in-time recovery (on for a prod stage): billed per GB-month of the table. */
  pointInTimeRecovery: boolean;
  /**
   * Status requests (GET /orders/{order_id}) per order: each one more request through the load
   * balancer and one consistent Query of the order's records.
   */
  statusReadsPerOrder: number;
  /**
   * AWS requests per order as `npm run bench` measured them (cost/measured-requests.json): when
   * present, SNS publishing calls, SQS receives, deletes and (up to the handler time they were
   * measured at) visibility changes per order come from here instead of the rules below.
   */
  measuredRequests?: MeasuredRequests | undefined;
}

export const DEFAULT_INPUTS: Readonly<CostInputs> = {
  ordersPerMonth: 10_000_000,
  processingMs: 3000,
  lambdaMemoryMb: 256,
  processorConcurrency: 100,
  receiverTasks: 'auto',
  processorTasks: 'auto',
  taskVcpu: 0.25,
  taskMemoryGb: 0.5,
  peakFactor: 1,
  receiveBatch: 1,
  natGateways: 1,
  receiverTaskRate: 100,
  processorTaskRate: 150,
  processorEfficiency: 0.9,
  lambdaOverheadMs: 0,
  pointInTimeRecovery: false,
  statusReadsPerOrder: 1,
};

/**
 * Traffic estimates per order and per call (bytes), from the shapes of the requests, messages and
 * log lines this code sends; not measured on AWS. 1 GB = 2^30 bytes, as AWS bills.
 */
export const TRAFFIC = {
  /** Through the ALB per order: the POST with its headers and the JSON answer with its headers. */
  albBytesPerOrder: 1024,
  /** Through the ALB per status request: the GET and the order's status, with their headers. */
  albBytesPerStatusRead: 1024,
  /** Orders a client sends per TCP connection to the ALB: 1 assumes no reuse (the worst case). */
  requestsPerConnection: 1,
  /** Every AWS API call through the NAT: HTTP headers and SigV4 signature, both ways. */
  apiCallBytes: 800,
  /** SNS Publish body (the order and its attributes, form-encoded) and its XML answer. */
  publishBodyBytes: 1200,
  /** One message in a receive answer (body, receipt handle, attributes, checksums). */
  receivedMessageBytes: 700,
  /** One entry of DeleteMessageBatch and of its answer. */
  deleteEntryBytes: 450,
  /** Log lines per order: receiver (order.accepted; its http.request line is at debug for an answered request), processor (order.processed), Lambda (order.processed and the platform's START, END and REPORT lines). */
  logBytesPerOrder: { receiver: 325, processor: 450, lambda: 850 },
  /** Public IPv4 addresses of the internet-facing ALB (one per availability zone, two zones). */
  albPublicAddresses: 2,
  /** Concurrent executions an account may run before it asks for more. */
  lambdaDefaultConcurrencyQuota: 1000,
} as const;

const GB = 2 ** 30;
const MILLION = 1_000_000;

export type CostGroup = 'shared' | 'ecs' | 'lambda';

export interface CostLine {
  group: CostGroup;
  item: string;
  /** What is billed, in `unit`s per month (or the count, for hours of several resources). */
  quantity: number;
  unit: string;
  usd: number;
  /** How the quantity was reached, in a few words. */
  basis: string;
}

export interface FreeTierCredit {
  item: string;
  usd: number;
}

export interface Sizing {
  averageOrdersPerSecond: number;
  peakOrdersPerSecond: number;
  receiverTasks: number;
  receiverTasksNeeded: number;
  processorTasks: number;
  processorTasksNeeded: number;
  /** Orders per second one processor task sustains: min(concurrency × efficiency ÷ processing time, CPU rate). */
  processorTaskCapacity: number;
  pollersPerTask: number;
  /** SQS requests by kind, per month. */
  sqsRequests: { snsDeliveries: number; receives: number; emptyReceives: number; deletes: number; visibilityExtensions: number };
  lambdaBilledMs: number;
  lambdaGbSeconds: number;
  /** Concurrent Lambda executions at the peak rate. */
  lambdaPeakConcurrency: number;
  /** The orders table per order (cost/dynamodb.ts): the receiver's part and each path's. */
  ordersTable: { receiver: TableUsagePerOrder; ecs: TableUsagePerOrder; lambda: TableUsagePerOrder; retentionDays: number };
}

export interface CostReport {
  inputs: CostInputs;
  sizing: Sizing;
  lines: CostLine[];
  totals: { shared: number; ecsOnly: number; lambdaOnly: number; ecs: number; lambda: number };
  /** What the always-free allowances would take off each path's bill; never subtracted from the totals. */
  freeTier: { ecs: FreeTierCredit[]; lambda: FreeTierCredit[]; ecsUsd: number; lambdaUsd: number };
  warnings: string[];
}

/** Cost of `quantity` units under tiered prices (per single unit), the tiers filled in order. */
export function tieredCost(quantity: number, tiers: { upTo: number | null; perUnit: number }[]): number {
  let cost = 0;
  let floor = 0;
  for (const { upTo, perUnit } of tiers) {
    const ceiling = upTo ?? Infinity;
    if (quantity <= floor) break;
    cost += (Math.min(quantity, ceiling) - floor) * perUnit;
    floor = ceiling;
  }
  return cost;
}

function sqsTiers(prices: Prices) {
  return prices.sqs.requestTiers.map(({ upTo, perMillion }) => ({ upTo, perUnit: perMillion / MILLION }));
}

function lambdaTiers(prices: Prices) {
  return prices.lambda.gbSecondTiers.map(({ upTo, perGbSecond }) => ({ upTo, perUnit: perGbSecond }));
}

/**
 * Empty long polls per second of one poller that waits `waitSeconds` and gets messages at
 * `ratePerSecond` (Poisson arrivals): a poll ends empty when nothing came within the wait
 * (probability e^(−r·W)), and polls follow one another at the mean of min(arrival, W),
 * (1 − e^(−r·W)) ÷ r. With no arrivals this is one poll per W seconds.
 */
export function emptyPollsPerSecond(ratePerSecond: number, waitSeconds: number): number {
  const x = ratePerSecond * waitSeconds;
  if (x === 0) return 1 / waitSeconds;
  return (ratePerSecond * Math.exp(-x)) / -Math.expm1(-x);
}

/** Expected size of a delete batch: the first finished message opens a window that closes at 10 or after the delay. */
export function deleteBatchSize(completionsPerSecond: number): number {
  return Math.min(SQS_BATCH_LIMIT, 1 + completionsPerSecond * (DELETE_BATCH_DELAY_MS / 1000));
}

/** Visibility extensions one order causes: one every half visibility timeout while it is being worked on. */
export function visibilityExtensionsPerOrder(processingMs: number, visibilityTimeoutSeconds: number): number {
  const everyMs = Math.max(500, (visibilityTimeoutSeconds * 1000) / 2);
  return Math.floor(processingMs / everyMs);
}

function tasksFor(chosen: number | 'auto', needed: number): number {
  return chosen === 'auto' ? Math.max(1, needed) : chosen;
}

/** The monthly cost of both paths for one workload. */
export function estimateCosts(inputs: CostInputs, prices: Prices): CostReport {
  const hours = prices.hoursPerMonth;
  const seconds = hours * 3600;
  const orders = inputs.ordersPerMonth;
  const average = orders / seconds;
  const peak = average * inputs.peakFactor;
  const warnings: string[] = [];
  const lines: CostLine[] = [];
  const add = (line: CostLine) => lines.push(line);
  const gb = (bytes: number) => bytes / GB;

  // --- sizing
  const receiverTasksNeeded = Math.ceil(peak / inputs.receiverTaskRate);
  const receiverTasks = tasksFor(inputs.receiverTasks, receiverTasksNeeded);
  const concurrencyRate = inputs.processingMs === 0 ? Infinity : (inputs.processorConcurrency * inputs.processorEfficiency * 1000) / inputs.processingMs;
  const processorTaskCapacity = Math.min(concurrencyRate, inputs.processorTaskRate);
  const processorTasksNeeded = Math.ceil(peak / processorTaskCapacity);
  const processorTasks = tasksFor(inputs.processorTasks, processorTasksNeeded);
  if (receiverTasks < receiverTasksNeeded) {
    warnings.push(`${receiverTasks} receiver task(s) cannot take the peak of ${peak.toFixed(1)} orders/s: about ${receiverTasksNeeded} are needed`);
  }
  if (processorTasks < processorTasksNeeded) {
    warnings.push(`${processorTasks} processor task(s) cannot keep up with the peak of ${peak.toFixed(1)} orders/s: about ${processorTasksNeeded} are needed; the queue would grow`);
  }
  const taskHour = inputs.taskVcpu * prices.fargate.perVcpuHour + inputs.taskMemoryGb * prices.fargate.perGbHour;
  const taskSize = `${inputs.taskVcpu} vCPU, ${inputs.taskMemoryGb} GB`;

  // --- shared front door: receiver, ALB, NAT, public addresses, SNS publishes, receiver logs
  add({ group: 'shared', item: 'receiver tasks (Fargate)', quantity: receiverTasks * hours, unit: 'task-hours', usd: receiverTasks * hours * taskHour, basis: `${receiverTasks} × ${taskSize} × ${hours} h` });
  add({ group: 'shared', item: 'load balancer hours', quantity: hours, unit: 'ALB-hours', usd: hours * prices.alb.perHour, basis: `1 ALB × ${hours} h` });
  // Every POST and every status GET is a request through the load balancer.
  const requestsPerSecond = average * (1 + inputs.statusReadsPerOrder);
  const newConnections = requestsPerSecond / TRAFFIC.requestsPerConnection / prices.alb.lcu.newConnectionsPerSecond;
  const albBytesPerOrder = TRAFFIC.albBytesPerOrder + inputs.statusReadsPerOrder * TRAFFIC.albBytesPerStatusRead;
  const processedGbPerHour = gb(average * 3600 * albBytesPerOrder) / prices.alb.lcu.processedGbPerHour;
  const lcus = Math.max(newConnections, processedGbPerHour);
  add({ group: 'shared', item: 'load balancer LCUs', quantity: lcus * hours, unit: 'LCU-hours', usd: lcus * hours * prices.alb.perLcuHour, basis: `${lcus.toFixed(3)} LCU (${newConnections >= processedGbPerHour ? 'new connections' : 'processed bytes'}; ${1 + inputs.statusReadsPerOrder} request(s) per order: the POST and its status requests) × ${hours} h` });
  add({ group: 'shared', item: 'NAT gateway hours', quantity: inputs.natGateways * hours, unit: 'NAT-hours', usd: inputs.natGateways * hours * prices.natGateway.perHour, basis: `${inputs.natGateways} × ${hours} h` });
  const addresses = TRAFFIC.albPublicAddresses + inputs.natGateways;
  add({ group: 'shared', item: 'public IPv4 addresses', quantity: addresses * hours, unit: 'address-hours', usd: addresses * hours * prices.publicIpv4.perAddressHour, basis: `${TRAFFIC.albPublicAddresses} (ALB) + ${inputs.natGateways} (NAT) × ${hours} h` });
  const requests = requestsPerOrder(inputs);
  const publishes = orders * requests.snsPublishes.perOrder;
  add({ group: 'shared', item: 'SNS publishes', quantity: publishes, unit: 'publishes', usd: (publishes / MILLION) * prices.sns.perMillionPublishes, basis: requests.snsPublishes.basis });
  const receiverLogBytes = orders * TRAFFIC.logBytesPerOrder.receiver;
  add({ group: 'shared', item: 'receiver logs (CloudWatch)', quantity: gb(receiverLogBytes), unit: 'GB', usd: gb(receiverLogBytes) * prices.cloudwatchLogs.perGbIngested, basis: `${TRAFFIC.logBytesPerOrder.receiver} B per order` });
  // The orders table: request units per order and the records kept for the retention (cost/dynamodb.ts).
  const ordersTable = { receiver: receiverTableUsage(inputs.statusReadsPerOrder), ecs: pathTableUsage('ecs'), lambda: pathTableUsage('lambda'), retentionDays: ORDER_RETENTION_DAYS };
  const storagePrice = prices.dynamodb.perGbMonthStorage + (inputs.pointInTimeRecovery ? prices.dynamodb.perGbMonthPointInTimeRecovery : 0);
  const storageBasis = (bytes: string) =>
    `${bytes} × ${ORDER_RETENTION_DAYS} days of orders kept (${ORDER_RETENTION_DAYS} ÷ ${(hours / 24).toFixed(2)} of a month's)${inputs.pointInTimeRecovery ? ', with point-in-time recovery' : ''}`;
  /** GB-months stored at steady state: each order's bytes for the retention, out of a month of orders. */
  const storedGbMonths = (bytesPerOrder: number) => gb(orders * bytesPerOrder) * (ORDER_RETENTION_DAYS / (hours / 24));
  const tableLines = (group: CostGroup, usage: TableUsagePerOrder, what: string, records: string) => {
    const writes = orders * usage.writeUnits;
    add({ group, item: `orders table writes (${what})`, quantity: writes, unit: 'WRU', usd: (writes / MILLION) * prices.dynamodb.perMillionWriteRequestUnits, basis: usage.basis.writes });
    if (usage.readUnits > 0) {
      const reads = orders * usage.readUnits;
      add({ group, item: `orders table reads (${what})`, quantity: reads, unit: 'RRU', usd: (reads / MILLION) * prices.dynamodb.perMillionReadRequestUnits, basis: usage.basis.reads });
    }
    const stored = storedGbMonths(usage.storedBytes);
    add({ group, item: `orders table storage (${records})`, quantity: stored, unit: 'GB-months', usd: stored * storagePrice, basis: storageBasis(usage.basis.storage) });
  };
  tableLines('shared', ordersTable.receiver, 'receiver', 'accepted records');

  const natShare = inputs.natGateways > 0 ? 1 : 0;
  // The orders table's calls take the VPC's gateway endpoint (resources/network.yml), not the NAT.
  const receiverNatBytesPerOrder = requests.snsPublishes.perOrder * TRAFFIC.apiCallBytes + TRAFFIC.publishBodyBytes + TRAFFIC.logBytesPerOrder.receiver;
  const receiverNatBytes = orders * receiverNatBytesPerOrder;
  add({ group: 'shared', item: 'NAT data: publishes, receiver logs', quantity: gb(receiverNatBytes) * natShare, unit: 'GB', usd: gb(receiverNatBytes) * natShare * prices.natGateway.perGbProcessed, basis: `${fmtBytes(receiverNatBytesPerOrder)} B per order` });

  // --- ECS path: processor tasks, SQS requests, processor traffic and logs
  add({ group: 'ecs', item: 'processor tasks (Fargate)', quantity: processorTasks * hours, unit: 'task-hours', usd: processorTasks * hours * taskHour, basis: `${processorTasks} × ${taskSize} × ${hours} h` });
  const pollersPerTask = pollerCount(inputs.processorConcurrency);
  const perTask = average / processorTasks;
  const waitSeconds = messagingSettings.ordersQueue.receiveWaitTimeSeconds;
  const sqsRequests = {
    snsDeliveries: prices.sqs.snsDeliveryCountsAsRequest ? orders : 0,
    receives: orders * (requests.receives?.perOrder ?? 1 / inputs.receiveBatch),
    emptyReceives: processorTasks * pollersPerTask * emptyPollsPerSecond(perTask / pollersPerTask, waitSeconds) * seconds,
    deletes: orders * (requests.deletes?.perOrder ?? 1 / deleteBatchSize(perTask)),
    visibilityExtensions: orders * (requests.visibility?.perOrder ?? visibilityExtensionsPerOrder(inputs.processingMs, messagingSettings.ordersQueue.visibilityTimeoutSeconds)),
  };
  const sqsTotal = Object.values(sqsRequests).reduce((sum, count) => sum + count, 0);
  add({
    group: 'ecs',
    item: 'SQS requests',
    quantity: sqsTotal,
    unit: 'requests',
    usd: tieredCost(sqsTotal, sqsTiers(prices)),
    basis: `SNS deliveries ${fmtCount(sqsRequests.snsDeliveries)}, receives ${fmtCount(sqsRequests.receives)}, empty long polls ${fmtCount(sqsRequests.emptyReceives)}, deletes ${fmtCount(sqsRequests.deletes)}, visibility extensions ${fmtCount(sqsRequests.visibilityExtensions)}${requests.sqsBasis ? `; ${requests.sqsBasis}` : ''}`,
  });
  add({ group: 'ecs', item: 'SNS → SQS deliveries', quantity: orders, unit: 'deliveries', usd: (orders / MILLION) * prices.sns.perMillionSqsDeliveries, basis: '1 per order' });
  const processorLogBytes = orders * TRAFFIC.logBytesPerOrder.processor;
  add({ group: 'ecs', item: 'processor logs (CloudWatch)', quantity: gb(processorLogBytes), unit: 'GB', usd: gb(processorLogBytes) * prices.cloudwatchLogs.perGbIngested, basis: `${TRAFFIC.logBytesPerOrder.processor} B per order` });
  tableLines('ecs', ordersTable.ecs, 'ECS claims, completions', 'ECS path records');
  // The claims and completions take the gateway endpoint too: only SQS and the logs cross the NAT.
  const processorCalls = sqsRequests.receives + sqsRequests.emptyReceives + sqsRequests.deletes + sqsRequests.visibilityExtensions;
  const processorBytesPerOrder = TRAFFIC.receivedMessageBytes + TRAFFIC.deleteEntryBytes + TRAFFIC.logBytesPerOrder.processor;
  const processorNatBytes = processorCalls * TRAFFIC.apiCallBytes + orders * processorBytesPerOrder;
  add({ group: 'ecs', item: 'NAT data: SQS calls, processor logs', quantity: gb(processorNatBytes) * natShare, unit: 'GB', usd: gb(processorNatBytes) * natShare * prices.natGateway.perGbProcessed, basis: `${fmtCount(processorCalls)} calls × ${TRAFFIC.apiCallBytes} B + ${processorBytesPerOrder} B per order` });

  // --- Lambda path: requests, duration, logs; SNS delivers to Lambda for nothing
  const lambdaBilledMs = Math.max(1, Math.ceil(inputs.processingMs + inputs.lambdaOverheadMs));
  const lambdaGbSeconds = orders * (inputs.lambdaMemoryMb / 1024) * (lambdaBilledMs / 1000);
  add({ group: 'lambda', item: 'Lambda requests', quantity: orders, unit: 'requests', usd: (orders / MILLION) * prices.lambda.perMillionRequests, basis: '1 invocation per order (one SNS record each)' });
  add({ group: 'lambda', item: 'Lambda duration', quantity: lambdaGbSeconds, unit: 'GB-seconds', usd: tieredCost(lambdaGbSeconds, lambdaTiers(prices)), basis: `${inputs.lambdaMemoryMb} MB × ${lambdaBilledMs} ms billed per order` });
  add({ group: 'lambda', item: 'SNS → Lambda deliveries', quantity: orders, unit: 'deliveries', usd: (orders / MILLION) * prices.sns.perMillionLambdaDeliveries, basis: '1 per order' });
  const lambdaLogBytes = orders * TRAFFIC.logBytesPerOrder.lambda;
  add({ group: 'lambda', item: 'Lambda logs (CloudWatch)', quantity: gb(lambdaLogBytes), unit: 'GB', usd: gb(lambdaLogBytes) * prices.cloudwatchLogs.perGbIngested, basis: `${TRAFFIC.logBytesPerOrder.lambda} B per order` });
  // The function runs outside the VPC: its table calls do not cross the NAT gateway.
  tableLines('lambda', ordersTable.lambda, 'Lambda claims, completions', 'Lambda path records');
  const lambdaPeakConcurrency = peak * (lambdaBilledMs / 1000);
  if (lambdaPeakConcurrency > TRAFFIC.lambdaDefaultConcurrencyQuota) {
    warnings.push(`the Lambda path needs about ${Math.ceil(lambdaPeakConcurrency)} concurrent executions at the peak; an account starts with a quota of ${TRAFFIC.lambdaDefaultConcurrencyQuota}`);
  }

  const sum = (group: CostGroup) => lines.filter((line) => line.group === group).reduce((total, line) => total + line.usd, 0);
  const shared = sum('shared');
  const ecsOnly = sum('ecs');
  const lambdaOnly = sum('lambda');

  // --- always-free allowances (per account, shared with whatever else it runs)
  const snsFree = (Math.min(orders, prices.sns.free.publishesPerMonth) / MILLION) * prices.sns.perMillionPublishes;
  const logsFree = (pathLogBytes: number) => Math.min(gb(receiverLogBytes + pathLogBytes), prices.cloudwatchLogs.free.gbIngestedPerMonth) * prices.cloudwatchLogs.perGbIngested;
  const ecsFree: FreeTierCredit[] = [
    { item: 'SQS requests (1M)', usd: tieredCost(Math.min(sqsTotal, prices.sqs.free.requestsPerMonth), sqsTiers(prices)) },
    { item: 'SNS publishes (1M)', usd: snsFree },
    { item: 'CloudWatch Logs ingestion (5 GB)', usd: logsFree(processorLogBytes) },
  ];
  const lambdaFree: FreeTierCredit[] = [
    { item: 'Lambda requests (1M)', usd: (Math.min(orders, prices.lambda.free.requestsPerMonth) / MILLION) * prices.lambda.perMillionRequests },
    { item: 'Lambda GB-seconds (400,000)', usd: tieredCost(Math.min(lambdaGbSeconds, prices.lambda.free.gbSecondsPerMonth), lambdaTiers(prices)) },
    { item: 'SNS publishes (1M)', usd: snsFree },
    { item: 'CloudWatch Logs ingestion (5 GB)', usd: logsFree(lambdaLogBytes) },
  ];
  const tableFree = (pathUsage: TableUsagePerOrder) =>
    Math.min(storedGbMonths(ordersTable.receiver.storedBytes + pathUsage.storedBytes), prices.dynamodb.free.storageGbPerMonth) * prices.dynamodb.perGbMonthStorage;
  ecsFree.push({ item: 'DynamoDB storage (25 GB)', usd: tableFree(ordersTable.ecs) });
  lambdaFree.push({ item: 'DynamoDB storage (25 GB)', usd: tableFree(ordersTable.lambda) });
  const total = (credits: FreeTierCredit[]) => credits.reduce((sumUsd, credit) => sumUsd + credit.usd, 0);

  return {
    inputs: { ...inputs },
    sizing: {
      averageOrdersPerSecond: average,
      peakOrdersPerSecond: peak,
      receiverTasks,
      receiverTasksNeeded,
      processorTasks,
      processorTasksNeeded,
      processorTaskCapacity,
      pollersPerTask,
      sqsRequests,
      lambdaBilledMs,
      lambdaGbSeconds,
      lambdaPeakConcurrency,
      ordersTable,
    },
    lines,
    totals: { shared, ecsOnly, lambdaOnly, ecs: shared + ecsOnly, lambda: shared + lambdaOnly },
    freeTier: { ecs: ecsFree, lambda: lambdaFree, ecsUsd: total(ecsFree), lambdaUsd: total(lambdaFree) },
    warnings,
  };
}

/** A per-order figure taken from the benchmark, and how the line says so. */
interface PerOrder {
  perOrder: number;
}

/**
 * Requests per order: the benchmark's measured figures where the inputs carry them, otherwise the
 * model's own rules (1 Publish per order; receives, deletes and visibility changes left undefined
 * here and computed from the consumer's rules by estimateCosts). Visibility changes are taken from
 * the measurement only up to the handler time it ran at: past it, heartbeats it never saw are due.
 */
export function requestsPerOrder(inputs: CostInputs): {
  snsPublishes: PerOrder & { basis: string };
  receives: PerOrder | undefined;
  deletes: PerOrder | undefined;
  visibility: PerOrder | undefined;
  sqsBasis: string | undefined;
} {
  const measured = inputs.measuredRequests;
  const when = measured ? `npm run bench on ${measured.measuredAt.slice(0, 10)}` : '';
  const sns = measured?.sns;
  const sqs = measured?.sqs;
  const visibilityMeasured = sqs !== undefined && sqs !== null && inputs.processingMs <= sqs.handlerMs;
  return {
    snsPublishes: sns
      ? { perOrder: sns.publishCallsPerOrder, basis: `${sns.publishCallsPerOrder} per order, measured by ${when} at ${sns.connections} connections` }
      : { perOrder: 1, basis: '1 per order' },
    receives: sqs ? { perOrder: sqs.receivesPerOrder } : undefined,
    deletes: sqs ? { perOrder: sqs.deletesPerOrder } : undefined,
    visibility: visibilityMeasured ? { perOrder: sqs.visibilityChangesPerOrder } : undefined,
    sqsBasis: sqs
      ? `receives, deletes${visibilityMeasured ? ' and visibility changes' : ''} per order measured by ${when} at concurrency ${sqs.concurrency} and a ${sqs.handlerMs} ms handler`
      : undefined,
  };
}

function fmtBytes(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(0);
}

/** A count in words a reader scans: 1,234,567 → "1.23M". */
export function fmtCount(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(2)}B`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  if (abs < 0.5) return '0';
  return value.toFixed(abs >= 10 || Number.isInteger(value) ? 0 : 2);
}
