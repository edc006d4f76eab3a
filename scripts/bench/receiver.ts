import { DEFAULT_INPUTS } from '../../cost/model.ts';
import { runLoad, type LoadResult } from './load.ts';
import type { BenchSection } from './report.ts';
import { fmt, median, ratio, summarize, type Table } from './stats.ts';
import { startTarget, type Target } from './targets.ts';

export interface ReceiverBenchSettings {
  /** Async accept: connections, requests per round, interleaved rounds per target. */
  connections: number;
  requestsPerRound: number;
  rounds: number;
  warmupRequests: number;
  /** Sync endpoint: concurrent users, requests, processing time. */
  syncUsers: number;
  syncRequests: number;
  syncProcessingMs: number;
  /** Upper bound on any one load. */
  maxLoadMs: number;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The seed order with a distinct id per request. */
function orderBody(index: number): string {
  return `{"order_id":"bench-${index}","customer_id":123,"items":[{"product_id":"SKU-001","quantity":1,"price":19.99}]}`;
}

function unexpected(result: LoadResult, status: number): string {
  const others = Object.entries(result.statuses).filter(([code]) => Number(code) !== status).reduce((sum, [, count]) => sum + count, 0);
  return String(others + result.errors);
}

/** The round with the median throughput, and every round's latencies pooled. */
function combine(rounds: LoadResult[]): { perSecond: number; latencies: number[]; requests: number; unexpected202: string } {
  const perSecond = median(rounds.map((round) => round.perSecond));
  return {
    perSecond,
    latencies: rounds.flatMap((round) => round.latenciesMs),
    requests: rounds.reduce((sum, round) => sum + round.completed, 0),
    unexpected202: String(rounds.reduce((sum, round) => sum + Number(unexpected(round, 202)), 0)),
  };
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

/**
 * Async accept throughput and latency of the real receiver publishing to the emulator, against a
 * bare node:http server answering 202 (and the receiver with its publisher stubbed, which splits
 * the difference), in interleaved rounds; then the sync endpoint's overhead above its processing
 * time, against a bare server that answers after the same delay.
 */
export async function benchReceiver(settings: ReceiverBenchSettings, log: (line: string) => void): Promise<BenchSection> {
  const s = settings;
  return withTargets(async (start) => {
    const emulator = await start('emulator');
    const asyncTargets = [
      { name: 'bare node:http, 202', target: await start('bare') },
      { name: 'receiver, publisher stubbed (no SNS call)', target: await start('receiver-stub') },
      { name: 'receiver POST /orders/async → SNS (emulator)', target: await start('receiver', { BENCH_EMULATOR_URL: emulator.url, BENCH_STAGE: 'bench-async', PROCESSING_TIME_MS: '0' }) },
    ];
    const bareDelayed = await start('bare', { BARE_DELAY_MS: String(s.syncProcessingMs) });
    const syncReceiver = await start('receiver', { BENCH_EMULATOR_URL: emulator.url, BENCH_STAGE: 'bench-sync', PROCESSING_TIME_MS: String(s.syncProcessingMs) });

    const asyncLoad = (target: Target, requests: number) =>
      runLoad({ url: target.url, method: 'POST', path: '/orders/async', body: orderBody, headers: JSON_HEADERS, connections: s.connections, requests, maxDurationMs: s.maxLoadMs });
    log(`receiver: warming up (${s.warmupRequests} requests each)`);
    for (const { target } of asyncTargets) await asyncLoad(target, s.warmupRequests);
    const rounds: LoadResult[][] = asyncTargets.map(() => []);
    // CPU time per request of the target and of the emulator, from /proc: steadier than wall-clock rates on a busy machine.
    const targetCpu: number[][] = asyncTargets.map(() => []);
    const emulatorCpu: number[][] = asyncTargets.map(() => []);
    for (let round = 1; round <= s.rounds; round += 1) {
      for (const [index, { target }] of asyncTargets.entries()) {
        const before = [target.cpuMs(), emulator.cpuMs()];
        const result = await asyncLoad(target, s.requestsPerRound);
        const after = [target.cpuMs(), emulator.cpuMs()];
        rounds[index]?.push(result);
        targetCpu[index]?.push(((after[0] ?? Number.NaN) - (before[0] ?? Number.NaN)) / result.completed);
        emulatorCpu[index]?.push(((after[1] ?? Number.NaN) - (before[1] ?? Number.NaN)) / result.completed);
      }
      log(`receiver: async round ${round}/${s.rounds}: ${rounds.map((list) => `${fmt(list.at(-1)?.perSecond ?? 0)}/s`).join(', ')}`);
    }
    const combined = rounds.map(combine);
    const baseline = combined[0] ?? combine([]);
    const baseLatency = summarize(baseline.latencies);
    const asyncTable: Table = {
      headers: ['target', 'requests/s', 'vs bare', 'each round', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'p50 vs bare', 'target CPU ms/req', 'CPU vs bare', 'emulator CPU ms/req', 'not 202'],
      rows: asyncTargets.map(({ name }, index) => {
        const data = combined[index] ?? baseline;
        const latency = summarize(data.latencies);
        const cpu = median(targetCpu[index] ?? []);
        const emulatorShare = index === asyncTargets.length - 1 ? fmt(median(emulatorCpu[index] ?? [])) : '—';
        const each = (rounds[index] ?? []).map((round) => fmt(round.perSecond)).join(' / ');
        return [name, fmt(data.perSecond), ratio(data.perSecond, baseline.perSecond), each, fmt(latency.p50), fmt(latency.p90), fmt(latency.p99), fmt(latency.max), ratio(latency.p50, baseLatency.p50), fmt(cpu, ''), ratio(cpu, median(targetCpu[0] ?? [])), emulatorShare, data.unexpected202];
      }),
    };

    const syncLoad = (target: Target, requests: number) =>
      runLoad({ url: target.url, method: 'POST', path: '/orders/sync', body: orderBody, headers: JSON_HEADERS, connections: s.syncUsers, requests, maxDurationMs: s.maxLoadMs });
    log(`receiver: sync endpoint, ${s.syncUsers} users, ${s.syncRequests} requests at ${s.syncProcessingMs} ms`);
    await syncLoad(bareDelayed, s.syncUsers * 2);
    await syncLoad(syncReceiver, s.syncUsers * 2);
    const bareSync = await syncLoad(bareDelayed, s.syncRequests);
    const realSync = await syncLoad(syncReceiver, s.syncRequests);
    const ideal = (s.syncUsers * 1000) / s.syncProcessingMs;
    const syncRow = (name: string, result: LoadResult, status: number) => {
      const overhead = summarize(result.latenciesMs.map((latency) => latency - s.syncProcessingMs));
      return [name, fmt(overhead.p50), fmt(overhead.p90), fmt(overhead.p99), fmt(overhead.max), fmt(result.perSecond), ratio(result.perSecond, ideal), unexpected(result, status)];
    };
    const syncTable: Table = {
      headers: ['target', 'overhead p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'requests/s', `vs ideal ${fmt(ideal)}/s`, 'not 2xx'],
      rows: [syncRow(`bare node:http, answers after ${s.syncProcessingMs} ms`, bareSync, 202), syncRow('receiver POST /orders/sync', realSync, 200)],
    };
    const cutShort = [...rounds.flat(), bareSync, realSync].some((result) => result.cutShort);

    return {
      title: 'Receiver',
      method: [
        `Separate processes for the load generator, each target and the SNS/SQS emulator (fauxqs) the receiver publishes to. The load generator (scripts/bench/load.ts) keeps ${s.connections} keep-alive connections busy on loopback, each sending the next \`POST\` of the seed order (a distinct \`order_id\` each) as soon as the previous answer ends. The receiver is the real one (\`startReceiver\` through \`startLocalStack\`, no processor running), logging its JSON lines as in production, to /dev/null. The baseline is a bare \`node:http\` server that reads the body and answers 202 with a similar JSON body; between them, the same receiver with a publisher that answers at once shows what Koa, validation and logging cost without the SNS call.`,
        '',
        `Async accept: ${s.rounds} interleaved round(s) of ${s.requestsPerRound.toLocaleString('en-US')} requests per target after ${s.warmupRequests} warm-up requests; requests/s is the median round, latencies pool every round. Sync endpoint: ${s.syncUsers} concurrent users, ${s.syncRequests.toLocaleString('en-US')} requests at PROCESSING_TIME_MS=${s.syncProcessingMs}; overhead = latency − ${s.syncProcessingMs} ms; the baseline is a bare server that answers after a ${s.syncProcessingMs} ms timer.`,
      ],
      tables: [
        { caption: `Async accept, ${s.connections} connections`, table: asyncTable },
        { caption: `Sync endpoint, ${s.syncUsers} users, PROCESSING_TIME_MS=${s.syncProcessingMs}`, table: syncTable },
      ],
      notes: [
        'An async order costs the receiver Koa routing, body parsing, zod validation, two log lines and an SNS Publish (an HTTP call to the emulator, signed by the AWS SDK, which the emulator then fans out to the queue on the same two cores); the bare server does none of it. The stubbed row separates the first four from the publish.',
        "At a fixed number of connections latency is connections ÷ throughput (Little's law): the latency ratios mirror the throughput ratios.",
        `CPU ms per request is the target process's own CPU time (user + system, /proc) over a round, divided by its requests (median round); it holds up better than requests/s on a shared machine. One 0.25 vCPU Fargate task has a quarter of a core: at ${fmt(median(targetCpu.at(-1) ?? []))} ms per order, a receiver task would take about ${fmt(250 / median(targetCpu.at(-1) ?? []))} orders/s at full CPU on cores like these; \`npm run cost\` assumes ${DEFAULT_INPUTS.receiverTaskRate} (\`--receiver-rate\`), leaving room for the 60 % CPU target the receiver scales at and for TLS to SNS, which the emulator does not use.`,
        ...(cutShort ? [`At least one load stopped at the ${s.maxLoadMs / 1000} s cap before its request count.`] : []),
      ],
    };
  });
}
