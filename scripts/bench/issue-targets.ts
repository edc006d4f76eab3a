import type { ProcessorFigures, ProcessorRow } from './processor.ts';
import type { ReceiverFigures, ReceiverRow } from './receiver.ts';
import type { BenchSection } from './report.ts';
import { fmt, type Table } from './stats.ts';

/**
 * Issue 11's targets, each checked on the figures of one run with its figure beside its peer's.
 * Met or not met is printed, never asserted: nothing fails on a time.
 */
export interface TargetCheck {
  target: string;
  figure: string;
  beside: string;
  /** Undefined when a figure is missing (a row that did not run). */
  met: boolean | undefined;
}

const ms = (value: number) => `${fmt(value)} ms`;
const perS = (value: number) => `${fmt(value)}/s`;
const calls = (value: number) => (Number.isFinite(value) ? value.toFixed(3) : 'n/a');
const times = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');

/**
 * Half the spread of a contestant's rounds (max − min): how far its median could move between two
 * runs of the same code, so that "no slower" is not decided by noise. NaN with fewer than two rounds.
 */
export function noiseOf(rounds: number[]): number {
  if (rounds.length < 2) return Number.NaN;
  return (Math.max(...rounds) - Math.min(...rounds)) / 2;
}

/** A check on figures that may be missing: undefined then, not "not met". */
function check(values: number[], test: () => boolean): boolean | undefined {
  return values.every(Number.isFinite) ? test() : undefined;
}

export function receiverChecks({ rows }: ReceiverFigures): TargetCheck[] {
  const connections = rows.map((row) => row.connections);
  const many = Math.max(...connections);
  const one = Math.min(...connections);
  const find = (key: ReceiverRow['key'], at: number) => rows.find((row) => row.key === key && row.connections === at);
  const receiver = find('receiver', many);
  // Issue 12's records measured apart: the same receiver publishing only, in the same run.
  const unrecorded = find('receiver-unrecorded', many);
  const unrecorded1 = find('receiver-unrecorded', Math.min(...connections));
  const without = (figure: string) => (unrecorded ? `; without its records ${figure}` : '');
  const today = find('today', many);
  const fastify = find('fastify', many);
  // The receiver's intake, records and all, in the three frameworks: what its HTTP layer costs.
  const intakes = (['koa-intake', 'fastify-intake', 'node-http-intake'] as const).flatMap((key) => {
    const row = find(key, many);
    return row ? [{ label: { 'koa-intake': 'minimal Koa', 'fastify-intake': 'fastify', 'node-http-intake': 'node:http' }[key], row }] : [];
  });
  const inFrameworks = (figure: (row: ReceiverRow) => string) =>
    intakes.length > 0 ? `; its intake with its records in ${intakes.map(({ label, row }) => `${label} ${figure(row)}`).join(', ')}` : '';
  const receiver1 = find('receiver', one);
  const today1 = find('today', one);
  const nan = Number.NaN;
  const r = { ops: receiver?.ordersPerSecond ?? nan, cpu: receiver?.cpuMsPerOrder ?? nan, sns: receiver?.snsCallsPerOrder ?? nan };
  const todayOps = today?.ordersPerSecond ?? nan;
  const fastifyOps = fastify?.ordersPerSecond ?? nan;
  const p50 = receiver1?.p50Ms ?? nan;
  const todayP50 = today1?.p50Ms ?? nan;
  return [
    {
      target: `Receiver: ≥ 3.5× today's accepted orders/s at ${many} connections`,
      figure: `${perS(r.ops)} (${times(r.ops / todayOps)})`,
      beside: `today's ${perS(todayOps)}${without(`${perS(unrecorded?.ordersPerSecond ?? nan)} (${times((unrecorded?.ordersPerSecond ?? nan) / todayOps)})`)}${inFrameworks((row) => times(row.ordersPerSecond / todayOps))}`,
      met: check([r.ops, todayOps], () => r.ops >= 3.5 * todayOps),
    },
    {
      target: `Receiver: ≤ 0.2 ms of receiver CPU per order at ${many} connections`,
      figure: ms(r.cpu),
      beside: `today's ${ms(today?.cpuMsPerOrder ?? nan)}, fastify ${ms(fastify?.cpuMsPerOrder ?? nan)}${without(ms(unrecorded?.cpuMsPerOrder ?? nan))}${inFrameworks((row) => ms(row.cpuMsPerOrder))}`,
      met: check([r.cpu], () => r.cpu <= 0.2),
    },
    {
      target: `Receiver: ≥ 3× fastify-with-per-order-Publish orders/s at ${many} connections`,
      figure: `${perS(r.ops)} (${times(r.ops / fastifyOps)})`,
      beside: `fastify ${perS(fastifyOps)}${without(`${perS(unrecorded?.ordersPerSecond ?? nan)} (${times((unrecorded?.ordersPerSecond ?? nan) / fastifyOps)})`)}${inFrameworks((row) => times(row.ordersPerSecond / fastifyOps))}`,
      met: check([r.ops, fastifyOps], () => r.ops >= 3 * fastifyOps),
    },
    {
      target: `Receiver: p50 within 0.5 ms of today's at ${one} connection${one === 1 ? '' : 's'}`,
      figure: `${ms(p50)} (${Number.isFinite(p50 - todayP50) ? `${p50 - todayP50 >= 0 ? '+' : ''}${(p50 - todayP50).toFixed(2)} ms` : 'n/a'})`,
      beside: `today's ${ms(todayP50)}${unrecorded1 ? `; without its records ${ms(unrecorded1.p50Ms)}` : ''}`,
      met: check([p50, todayP50], () => p50 - todayP50 <= 0.5),
    },
    {
      target: `Receiver: SNS calls per order ≤ 0.12 at ${many} connections`,
      figure: calls(r.sns),
      beside: `today's ${calls(today?.snsCallsPerOrder ?? nan)}, fastify ${calls(fastify?.snsCallsPerOrder ?? nan)}`,
      met: check([r.sns], () => r.sns <= 0.12),
    },
  ];
}

/**
 * Issue 11's processor targets are about the consumer (its receives, deletes and scheduling), so
 * they are judged on the processor's consumer running the order core without the orders table,
 * the work today's processor and the sqs-consumer peers do too; what issue 12's claims add on top
 * has its own table in the processor section.
 */
const CONSUMER: ProcessorRow['key'] = 'processor-unclaimed';

export function processorChecks({ drains, efficiency }: ProcessorFigures): TargetCheck[] {
  const nan = Number.NaN;
  const drain = (key: ProcessorRow['key'], concurrency: number) => drains.find((row) => row.key === key && row.concurrency === concurrency);
  const batch = drains.find((row) => row.key === 'sqs-consumer-batch');
  const p100 = drain(CONSUMER, 100);
  const ops = p100?.ordersPerSecond ?? nan;
  const cpu = p100?.cpuMsPerOrder ?? nan;
  const batchOps = batch?.ordersPerSecond ?? nan;
  const batchCpu = batch?.cpuMsPerOrder ?? nan;
  const busiestEfficiency = Math.max(...efficiency.filter((row) => row.key === CONSUMER).map((row) => row.concurrency));
  const eff = efficiency.find((row) => row.key === CONSUMER && row.concurrency === busiestEfficiency);
  const effPeer = efficiency.find((row) => row.key === 'sqs-consumer-batch') ?? efficiency.find((row) => row.key === 'today' && row.concurrency === busiestEfficiency);
  const effCalls = eff?.perOrder.all ?? nan;
  const effRatio = eff?.efficiency ?? nan;
  const handler = eff ? `${eff.handlerMs} ms handler` : 'the efficiency handler time';
  const noSlower = (concurrency: number): TargetCheck => {
    const now = drain(CONSUMER, concurrency)?.ordersPerSecond ?? nan;
    const today = drain('today', concurrency);
    const before = today?.ordersPerSecond ?? nan;
    const noise = noiseOf(today?.roundsPerSecond ?? []);
    return {
      target: `Processor: concurrency ${concurrency} (0 ms handler) no slower than today (beyond the spread of today's own rounds)`,
      figure: `${perS(now)} (${times(now / before)})`,
      beside: `today's ${perS(before)} ± ${perS(noise)}`,
      met: check([now, before, noise], () => now >= before - noise),
    };
  };
  return [
    {
      target: 'Processor: concurrency 100, 0 ms handler: ≥ 1.0× sqs-consumer handleMessageBatch orders/s',
      figure: `${perS(ops)} (${times(ops / batchOps)})`,
      beside: `handleMessageBatch ${perS(batchOps)}`,
      met: check([ops, batchOps], () => ops >= batchOps),
    },
    {
      target: 'Processor: concurrency 100, 0 ms handler: CPU per order ≤ sqs-consumer handleMessageBatch',
      figure: ms(cpu),
      beside: `handleMessageBatch ${ms(batchCpu)}`,
      met: check([cpu, batchCpu], () => cpu <= batchCpu),
    },
    {
      target: `Processor: SQS calls per order ≤ 0.25 with efficiency ≥ 0.97 at concurrency ${Number.isFinite(busiestEfficiency) ? busiestEfficiency : 'n/a'} and a ${handler}`,
      figure: `${calls(effCalls)} calls/order, efficiency ${Number.isFinite(effRatio) ? effRatio.toFixed(3) : 'n/a'}`,
      beside: effPeer ? `${effPeer.key === 'today' ? "today's" : 'handleMessageBatch'} ${calls(effPeer.perOrder.all)} calls/order, efficiency ${effPeer.efficiency.toFixed(3)}` : 'n/a',
      met: check([effCalls, effRatio], () => effCalls <= 0.25 && effRatio >= 0.97),
    },
    noSlower(1),
    noSlower(10),
  ];
}

export function targetsTable(checks: TargetCheck[]): Table {
  return {
    headers: ['target', 'this run', 'beside it, same run', 'met'],
    rows: checks.map((entry) => [entry.target, entry.figure, entry.beside, entry.met === undefined ? 'n/a' : entry.met ? 'met' : 'NOT met']),
  };
}

export function targetsSection(checks: TargetCheck[]): BenchSection {
  return {
    title: 'Targets (issue 11)',
    method: [
      "Each of issue 11's targets on this run's figures, beside the peer it is measured against in the same run. Printed, never asserted: no test fails on a time.",
      '',
      "Since issue 12 the receiver writes each order's accepted record to the orders table after its 202, in batches of 25, and its figures include that (the row without its records shows what they cost, in the same run). Beside the receiver's figures are those of its intake, records and all, in a minimal Koa app, a fastify app and bare node:http (Receiver section): the same work per order with less around it than the receiver's Koa app has (request ids, error contract, body deadline, admission control, log lines), so the part of its figures that is the HTTP layer's shows. The processor targets are judged on the processor's consumer running the order core without the table, the work today's processor and the sqs-consumer peers do: they are about the consumer, and what the claims add is shown apart, in the processor and Lambda sections.",
    ],
    tables: [{ caption: 'Targets', table: targetsTable(checks) }],
    notes: [],
  };
}
