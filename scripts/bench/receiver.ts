import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_INPUTS } from '../../cost/model.ts';
import { DEFAULT_RECORD_LINGER_MS } from '../../lib/accepted-records.ts';
import { BASELINE_COMMIT, baselineTree } from './baseline.ts';
import { callsBetween, readCallCounts, sumCalls, type CallCounts } from './call-counter.ts';
import { runLoad, type LoadResult } from './load.ts';
import type { BenchSection } from './report.ts';
import { fmt, median, ratio, rotation, summarize, type Table } from './stats.ts';
import { startTarget, type Target, type TargetKind } from './targets.ts';

export interface ReceiverBenchSettings {
  /** Async accept: each connection count, with its requests per round. */
  loads: { connections: number; requestsPerRound: number }[];
  /** Interleaved rounds per target and connection count. */
  rounds: number;
  /**
   * Each target is loaded this long before the rounds (at the first load's connections): the same
   * time for every target, since they reach their steady state after very different numbers of
   * requests (code run once per batch of ten reaches V8's optimising tiers ten times later).
   */
  warmupMs: number;
  /** Sync endpoint: concurrent users, requests, processing time. */
  syncUsers: number;
  syncRequests: number;
  syncProcessingMs: number;
  /** Upper bound on any one load. */
  maxLoadMs: number;
}

/** SNS actions that publish: each call counts once, whatever number of entries it carries. */
export const SNS_PUBLISH_ACTIONS = ['Publish', 'PublishBatch'] as const;

/** The orders table's actions the receiver sends: the accepted-record lookups and writes. */
export const RECEIVER_TABLE_ACTIONS = ['BatchGetItem', 'BatchWriteItem', 'GetItem', 'PutItem', 'Query'] as const;

/** One row of the async table: what the issue's targets and the cost model read. */
export interface ReceiverRow {
  key: ReceiverTargetKey;
  name: string;
  connections: number;
  /** Orders answered 202 per second (median round). */
  ordersPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time of the process under test per accepted order (median round). */
  cpuMsPerOrder: number;
  /** SNS publishing calls (Publish + PublishBatch) per accepted order, over every round. */
  snsCallsPerOrder: number;
  /** Orders table calls per accepted order, over every round (the receiver only). */
  tableCallsPerOrder: number;
  /** Every AWS call the emulator served during the rounds, by action. */
  calls: CallCounts;
  accepted: number;
  notAccepted: number;
}

export type ReceiverTargetKey = 'receiver' | 'receiver-unrecorded' | 'today' | 'koa' | 'fastify' | 'node-http' | 'koa-intake' | 'fastify-intake' | 'node-http-intake' | 'bare';

export interface ReceiverFigures {
  rows: ReceiverRow[];
  baseline: string;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** After each round, before its CPU and calls are read: the longest a record write lingers, five times over. */
const ROUND_SETTLE_MS = 5 * DEFAULT_RECORD_LINGER_MS;

let ordersSent = 0;

/**
 * The seed order with an id of its own per request, across every load of the run: the receiver
 * answers a repeated order_id from its record without publishing, which is not the work measured.
 */
function orderBody(): string {
  ordersSent += 1;
  return `{"order_id":"bench-${ordersSent}","customer_id":123,"items":[{"product_id":"SKU-001","quantity":1,"price":19.99}]}`;
}

function unexpected(result: LoadResult, status: number): number {
  const others = Object.entries(result.statuses).filter(([code]) => Number(code) !== status).reduce((sum, [, count]) => sum + count, 0);
  return others + result.errors;
}

/** Runs `body` with targets it starts through `start`, and stops every one of them afterwards. */
async function withTargets<T>(body: (start: typeof startTarget) => Promise<T>): Promise<T> {
  const started: Target[] = [];
  try {
    return await body(async (...args) => {
      const target = await startTarget(...args);
      started.push(target);
      return target;
    });
  } finally {
    await Promise.all(started.map((target) => target.stop()));
  }
}

interface Contender {
  key: ReceiverTargetKey;
  name: string;
  kind: TargetKind;
  env: Record<string, string>;
}

interface Round {
  load: LoadResult;
  accepted: number;
  cpuMs: number;
  emulatorCpuMs: number;
  calls: CallCounts;
}

/**
 * The receiver as containers/receiver builds it, against today's (the receiver at BASELINE_COMMIT),
 * a minimal Koa app, a fastify app and bare node:http each doing the same work per order with one
 * SNS Publish each, and node:http doing no work at all; every target in its own process, the
 * load from autocannon in this one, the emulator in a third counting the AWS calls by action.
 * Interleaved rounds at each connection count; then the sync endpoint's overhead.
 */
export async function benchReceiver(settings: ReceiverBenchSettings, log: (line: string) => void): Promise<{ section: BenchSection; figures: ReceiverFigures }> {
  const s = settings;
  return withTargets(async (start) => {
    const emulator = await start('emulator');
    const env = (stage: string, extra: Record<string, string> = {}) => ({ BENCH_EMULATOR_URL: emulator.url, BENCH_DYNAMODB_URL: emulator.dynamodbUrl ?? '', BENCH_STAGE: stage, PROCESSING_TIME_MS: '0', ...extra });
    const baseline = baselineTree();
    const contenders: Contender[] = [
      { key: 'receiver', name: 'receiver (containers/receiver as built)', kind: 'receiver', env: env('bench-receiver') },
      { key: 'receiver-unrecorded', name: 'the same receiver without its order records (publish only: what the records cost)', kind: 'receiver-unrecorded', env: env('bench-unrecorded') },
      ...('dir' in baseline
        ? [{ key: 'today' as const, name: `today's receiver (${BASELINE_COMMIT}: per-order Publish)`, kind: 'receiver-baseline' as const, env: env('bench-today', { BENCH_BASELINE_DIR: baseline.dir }) }]
        : []),
      { key: 'koa', name: 'minimal Koa app, per-order Publish', kind: 'koa-peer', env: env('bench-koa') },
      { key: 'fastify', name: 'fastify app, per-order Publish', kind: 'fastify-peer', env: env('bench-fastify') },
      { key: 'node-http', name: 'bare node:http, per-order Publish (ceiling)', kind: 'http-peer', env: env('bench-http') },
      { key: 'koa-intake', name: "minimal Koa app, the receiver's intake (batched, with its records)", kind: 'koa-intake', env: env('bench-koa-intake') },
      { key: 'fastify-intake', name: "fastify app, the receiver's intake (batched, with its records)", kind: 'fastify-intake', env: env('bench-fastify-intake') },
      { key: 'node-http-intake', name: "bare node:http, the receiver's intake (batched, with its records)", kind: 'http-intake', env: env('bench-http-intake') },
      { key: 'bare', name: 'node:http, no work: no parse, validation or publish (not a peer)', kind: 'bare', env: {} },
    ];
    if ('error' in baseline) log(`receiver: no baseline row: ${baseline.error}`);
    const targets = await Promise.all(contenders.map((contender) => start(contender.kind, contender.env)));

    const asyncLoad = (target: Target, connections: number, requests: number) =>
      runLoad({ url: target.url, method: 'POST', path: '/orders/async', body: orderBody, headers: JSON_HEADERS, connections, requests, maxDurationMs: s.maxLoadMs });
    const firstLoad = s.loads[0];
    log(`receiver: warming up (${fmt(s.warmupMs / 1000)} s each)`);
    for (const target of targets) {
      await runLoad({ url: target.url, method: 'POST', path: '/orders/async', body: orderBody, headers: JSON_HEADERS, connections: firstLoad?.connections ?? 50, requests: Number.MAX_SAFE_INTEGER, maxDurationMs: s.warmupMs });
    }

    const rows: ReceiverRow[] = [];
    const tables: BenchSection['tables'] = [];
    let cutShort = false;
    for (const { connections, requestsPerRound } of s.loads) {
      const rounds: Round[][] = targets.map(() => []);
      for (let round = 1; round <= s.rounds; round += 1) {
        for (const index of rotation(targets.length, round)) {
          const target = targets[index] as Target;
          const callsBefore = await readCallCounts(emulator.url);
          const before = [target.cpuMs(), emulator.cpuMs()];
          const load = await asyncLoad(target, connections, requestsPerRound);
          // What a target still does for the round after its last answer (the receiver's record
          // writes linger, then take a call) is counted in its round, not in the next target's.
          await sleep(ROUND_SETTLE_MS);
          const after = [target.cpuMs(), emulator.cpuMs()];
          const calls = callsBetween(callsBefore, await readCallCounts(emulator.url));
          cutShort ||= load.cutShort;
          rounds[index]?.push({
            load,
            accepted: load.statuses[202] ?? 0,
            cpuMs: (after[0] ?? Number.NaN) - (before[0] ?? Number.NaN),
            emulatorCpuMs: (after[1] ?? Number.NaN) - (before[1] ?? Number.NaN),
            calls,
          });
        }
        log(`receiver: ${connections} connection(s), round ${round}/${s.rounds}: ${rounds.map((list) => `${fmt(acceptedPerSecond(list.at(-1)))}/s`).join(', ')}`);
      }
      const connectionRows = contenders.map((contender, index) => rowOf(contender, connections, rounds[index] ?? []));
      rows.push(...connectionRows);
      tables.push({ caption: `Async accept (POST /orders/async), ${connections} connection${connections === 1 ? '' : 's'}`, table: asyncTable(connectionRows, rounds) });
    }

    const bareDelayed = await start('bare', { BARE_DELAY_MS: String(s.syncProcessingMs) });
    const syncReceiver = await start('receiver', env('bench-sync', { PROCESSING_TIME_MS: String(s.syncProcessingMs) }));
    const syncLoad = (target: Target, requests: number) =>
      runLoad({ url: target.url, method: 'POST', path: '/orders/sync', body: orderBody, headers: JSON_HEADERS, connections: s.syncUsers, requests, maxDurationMs: s.maxLoadMs });
    log(`receiver: sync endpoint, ${s.syncUsers} users, ${s.syncRequests} requests at ${s.syncProcessingMs} ms`);
    await syncLoad(bareDelayed, s.syncUsers * 2);
    await syncLoad(syncReceiver, s.syncUsers * 2);
    const bareSync = await syncLoad(bareDelayed, s.syncRequests);
    const realSync = await syncLoad(syncReceiver, s.syncRequests);
    cutShort ||= bareSync.cutShort || realSync.cutShort;
    const ideal = (s.syncUsers * 1000) / s.syncProcessingMs;
    const syncRow = (name: string, result: LoadResult, status: number) => {
      const overhead = summarize(result.latenciesMs.map((latency) => latency - s.syncProcessingMs));
      return [name, fmt(overhead.p50), fmt(overhead.p90), fmt(overhead.p99), fmt(overhead.max), fmt(result.perSecond), ratio(result.perSecond, ideal), String(unexpected(result, status))];
    };
    tables.push({
      caption: `Sync endpoint, ${s.syncUsers} users, PROCESSING_TIME_MS=${s.syncProcessingMs}`,
      table: {
        headers: ['target', 'overhead p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'requests/s', `vs ideal ${fmt(ideal)}/s`, 'not 2xx'],
        rows: [syncRow(`bare node:http, answers after ${s.syncProcessingMs} ms`, bareSync, 202), syncRow('receiver POST /orders/sync', realSync, 200)],
      },
    });

    const receiverAt = (connections: number) => rows.find((row) => row.key === 'receiver' && row.connections === connections);
    const busiest = receiverAt(Math.max(...s.loads.map((load) => load.connections)));
    const section: BenchSection = {
      title: 'Receiver',
      method: [
        `Every target in its own process, the load generator in another, the SNS/SQS emulator (fauxqs) in a third. The load is [autocannon](https://github.com/mcollina/autocannon) (scripts/bench/load.ts): a fixed number of keep-alive connections, one request in flight on each, each \`POST\` carrying the seed order with a distinct \`order_id\`; latencies are autocannon's own per-response times (its \`response\` event), kept whole because its histogram counts whole milliseconds.`,
        '',
        `The targets: the receiver as \`containers/receiver\` builds it (wired as its main.ts wires it: its accepted records written to dynalite, in the emulator process, after each 202; logging its JSON lines as in production, to /dev/null); the same receiver without its records (publish only: what issue 12's records cost it, in the same run); today's receiver, the same code as of commit ${BASELINE_COMMIT} (taken from git, scripts/bench/baseline.ts: per-order SNS \`Publish\`); and three peers (scripts/bench/peers/) that each do the same work per order — read and parse the JSON body, validate it with lib/order-schema.ts, one SNS \`Publish\` with the same message attributes to a topic on the same emulator (subscribed by a queue, so the emulator fans out as for the receiver), answer 202 with the message id — in a minimal Koa app, a fastify app, and bare node:http as the ceiling; the peers do not log. The three rows after them are the same three apps taking each order through the receiver's own intake instead of a Publish (containers/receiver/order-intake.ts as main.ts wires it: batched publishes, the memory of recent acceptances, the accepted records written after the 202): what the receiver's work costs in each framework, without the receiver's request ids, error contract, body deadline, admission control and log lines. The last row does none of that work: it reads the body and answers 202, the ceiling of the HTTP layer alone.`,
        '',
        `${s.rounds} interleaved round(s) per connection count (every target once per round, in turn) after ${fmt(s.warmupMs / 1000)} s of warm-up each at ${s.loads[0]?.connections ?? 50} connections (the same time for every target: the receiver's per-batch code needs over ten thousand requests to reach its steady state, against a few thousand for a per-order Publish); orders/s counts 202 answers and is the median round; latencies pool every round. CPU ms per order is the target process's own CPU time (user + system, /proc) over a round and the ${ROUND_SETTLE_MS} ms after it (the receiver's last record writes of the round land then) ÷ its accepted orders (median round). SNS calls are counted by the emulator, one per HTTP request by action (scripts/bench/call-counter.ts: a \`PublishBatch\` of up to ten orders is one call), over all rounds ÷ accepted orders.`,
      ],
      tables,
      notes: [
        "At a fixed number of connections latency is connections ÷ throughput (Little's law): the latency ratios mirror the throughput ratios at 50 connections; at 1 connection p50 is the time one order takes end to end.",
        `Emulator CPU per order is the SNS/SQS emulator's process over the same rounds: it shares the two cores, and a call it does not have to serve leaves more CPU to the target.`,
        ...(busiest
          ? [`One 0.25 vCPU Fargate task has a quarter of a core: at ${fmt(busiest.cpuMsPerOrder)} ms per order (${busiest.connections} connections), a receiver task would take about ${fmt(250 / busiest.cpuMsPerOrder)} orders/s at full CPU on cores like these; \`npm run cost\` assumes ${DEFAULT_INPUTS.receiverTaskRate} (\`--receiver-rate\`), leaving room for the 60 % CPU target the receiver scales at and for TLS to SNS, which the emulator does not use.`]
          : []),
        ...('error' in baseline ? [`No row for today's receiver: ${baseline.error}.`] : []),
        ...(cutShort ? [`At least one load stopped at the ${s.maxLoadMs / 1000} s cap before its request count.`] : []),
      ],
    };
    return { section, figures: { rows, baseline: BASELINE_COMMIT } };
  });
}

function acceptedPerSecond(round: Round | undefined): number {
  return round && round.load.durationMs > 0 ? (round.accepted / round.load.durationMs) * 1000 : Number.NaN;
}

function rowOf(contender: Contender, connections: number, rounds: Round[]): ReceiverRow {
  const latency = summarize(rounds.flatMap((round) => round.load.latenciesMs));
  const accepted = rounds.reduce((sum, round) => sum + round.accepted, 0);
  const calls: CallCounts = {};
  for (const round of rounds) for (const [action, count] of Object.entries(round.calls)) calls[action] = (calls[action] ?? 0) + count;
  return {
    key: contender.key,
    name: contender.name,
    connections,
    ordersPerSecond: median(rounds.map(acceptedPerSecond)),
    p50Ms: latency.p50,
    p99Ms: latency.p99,
    cpuMsPerOrder: median(rounds.map((round) => round.cpuMs / round.accepted)),
    snsCallsPerOrder: accepted > 0 ? sumCalls(calls, SNS_PUBLISH_ACTIONS) / accepted : Number.NaN,
    tableCallsPerOrder: accepted > 0 ? sumCalls(calls, RECEIVER_TABLE_ACTIONS) / accepted : Number.NaN,
    calls,
    accepted,
    notAccepted: rounds.reduce((sum, round) => sum + unexpected(round.load, 202), 0),
  };
}

/** "Publish 1,000 · PublishBatch 12", or "—" for none. */
export function describeCalls(calls: CallCounts, actions?: readonly string[]): string {
  const entries = Object.entries(calls).filter(([action, count]) => count > 0 && (!actions || actions.includes(action)));
  return entries.length === 0 ? '—' : entries.map(([action, count]) => `${action} ${count.toLocaleString('en-US')}`).join(' · ');
}

function asyncTable(rows: ReceiverRow[], rounds: Round[][]): Table {
  const today = rows.find((row) => row.key === 'today');
  const fastify = rows.find((row) => row.key === 'fastify');
  return {
    headers: ['target', 'orders/s', "vs today's", 'vs fastify', 'each round', 'p50 ms', 'p99 ms', 'CPU ms/order', 'SNS calls/order', 'SNS calls (all rounds)', 'table calls/order', 'table calls (all rounds)', 'emulators CPU ms/order', 'not 202'],
    rows: rows.map((row, index) => [
      row.name,
      fmt(row.ordersPerSecond),
      today ? ratio(row.ordersPerSecond, today.ordersPerSecond) : 'n/a',
      fastify ? ratio(row.ordersPerSecond, fastify.ordersPerSecond) : 'n/a',
      (rounds[index] ?? []).map((round) => fmt(acceptedPerSecond(round))).join(' / '),
      fmt(row.p50Ms),
      fmt(row.p99Ms),
      fmt(row.cpuMsPerOrder),
      row.key === 'bare' ? '—' : fmtCalls(row.snsCallsPerOrder),
      describeCalls(row.calls, SNS_PUBLISH_ACTIONS),
      row.key === 'receiver' ? fmtCalls(row.tableCallsPerOrder) : '—',
      describeCalls(row.calls, RECEIVER_TABLE_ACTIONS),
      fmt(median((rounds[index] ?? []).map((round) => round.emulatorCpuMs / round.accepted))),
      String(row.notAccepted),
    ]),
  };
}

/** Calls per order with three decimals: 0.100, 1.000. */
export function fmtCalls(value: number): string {
  return Number.isFinite(value) ? value.toFixed(3) : 'n/a';
}
