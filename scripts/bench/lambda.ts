import { spawn } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createDynamoDbClient } from '../../lib/aws-clients.ts';
import { messagingSettings } from '../../lib/messaging-settings.ts';
import { createOrdersTable, startDynamoEmulator } from '../../local/dynamodb-emulator.ts';
import { ExecutionEnvironment, type FunctionSettings } from '../../local/lambda-runtime/execution-environment.ts';
import { buildLambdaBundle, localBundleDir } from '../../local/lambda-runtime/lambda-bundle.ts';
import { processOrderFunction } from '../../local/lambda-runtime/process-order-function.ts';
import { parseReportLine, type InvocationReport } from '../../local/lambda-runtime/platform-lines.ts';
import { snsEventFor } from '../../local/sns-event.ts';
import type { BenchSection } from './report.ts';
import { fmt, percentile, ratio, type Table } from './stats.ts';

export interface LambdaBenchSettings {
  /** New execution environments per module (bundle and empty handler, alternating) for the cold-start figures. */
  coldStarts: number;
  /** Fresh `node` processes per module for the whole-process row (0: leave it out). */
  processColdStarts: number;
  /** Upper bound on one whole-process cold start. */
  timeoutMs: number;
  /** Warm invocations per handler (with its claims, and without) for what the claims cost (issue 12). */
  warmInvocations: number;
}

/** The benchmark's handler without the orders table: scripts/bench/unclaimed-handler.ts. */
const UNCLAIMED_ENTRY = 'scripts/bench/unclaimed-handler.ts';

/**
 * Warm invocations of two handlers, each in one execution environment kept open, alternating one
 * of each (an order of its own every time): the REPORT Durations of each, after one invocation
 * each not counted (the cold start).
 */
async function warmDurations(
  a: FunctionSettings,
  b: FunctionSettings,
  invocations: number,
  eventFor: (orderId: string) => unknown,
  sink: ReturnType<typeof platformLineSink>,
): Promise<[number[], number[]]> {
  const environments = [new ExecutionEnvironment(a, sink.write), new ExecutionEnvironment(b, sink.write)] as const;
  const durations: [number[], number[]] = [[], []];
  try {
    for (let run = -1; run < invocations; run += 1) {
      for (const [index, environment] of environments.entries()) {
        const id = `bench-warm-${index}-${run}`;
        const outcome = await environment.invoke(eventFor(id), id);
        if (!outcome.ok) throw new Error(`warm invocation ${id} failed: ${outcome.error.errorType}: ${outcome.error.message}`);
        if (run >= 0) durations[index]?.push(outcome.report.durationMs);
      }
    }
    return durations;
  } finally {
    await Promise.all(environments.map((environment) => environment.shutdown()));
  }
}

/** The smallest module with the handler's shape: the baseline of a cold start. */
const EMPTY_HANDLER = 'export const handler = async (event) => event.Records.map(() => ({}));\n';

/**
 * What a local execution environment writes (START, the function's own output, END, REPORT),
 * counted and thrown away; the REPORT lines are parsed, so a run can be checked against the
 * figures the local invoker would have logged.
 */
export function platformLineSink(): { write: (line: string) => void; counts: { lines: number; starts: number; reports: number; output: number }; reports: InvocationReport[] } {
  const counts = { lines: 0, starts: 0, reports: 0, output: 0 };
  const reports: InvocationReport[] = [];
  return {
    counts,
    reports,
    write: (line) => {
      counts.lines += 1;
      const report = parseReportLine(line);
      if (report) {
        counts.reports += 1;
        reports.push(report);
      } else if (line.startsWith('START RequestId: ')) counts.starts += 1;
      else if (!line.startsWith('END RequestId: ')) counts.output += 1;
    },
  };
}

/** Median and 90th percentile (nearest rank) of some runs. */
export function medianAndP90(values: readonly number[]): { p50: number; p90: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9) };
}

/** Bytes in the bundle per package (node_modules/<name>) or project folder, largest first. */
export function bundleContributors(metafile: { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> }, output: string): [string, number][] {
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[output]?.inputs ?? {})) {
    const parts = input.split('/');
    const at = parts.lastIndexOf('node_modules');
    const name = at >= 0 ? (parts[at + 1]?.startsWith('@') ? `${parts[at + 1]}/${parts[at + 2]}` : (parts[at + 1] ?? input)) : `ordersync ${parts[0]}/`;
    totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}

/** One cold start in a local execution environment, as the local invoker's REPORT line gives it. */
interface EnvironmentColdStart {
  initDurationMs: number;
  durationMs: number;
  maxMemoryUsedMb: number;
  /** Wall clock from constructing the environment to the resolved first invocation. */
  firstResultMs: number;
}

/**
 * A new execution environment (what the local invoker starts on a cold start), invoked once with
 * the event, then shut down.
 */
async function environmentColdStart(settings: FunctionSettings, event: unknown, requestId: string, sink: ReturnType<typeof platformLineSink>): Promise<EnvironmentColdStart> {
  const started = performance.now();
  const environment = new ExecutionEnvironment(settings, sink.write);
  try {
    const outcome = await environment.invoke(event, requestId);
    const firstResultMs = performance.now() - started;
    if (!outcome.ok) throw new Error(`cold start of ${settings.modulePath} failed: ${outcome.error.errorType}: ${outcome.error.message}`);
    const { initDurationMs, durationMs, maxMemoryUsedMb } = outcome.report;
    if (initDurationMs === undefined) throw new Error(`the first invocation of ${settings.modulePath} reported no Init Duration`);
    return { initDurationMs, durationMs, maxMemoryUsedMb, firstResultMs };
  } finally {
    await environment.shutdown();
  }
}

/** Imports a handler module, invokes it once with the event, prints its timings as the last line. */
const PROCESS_DRIVER = `import { readFileSync } from 'node:fs';
const [modulePath, eventPath] = process.argv.slice(2);
const importStart = performance.now();
const { handler } = await import(modulePath);
const importEnd = performance.now();
const event = JSON.parse(readFileSync(eventPath, 'utf8'));
const deadline = Date.now() + 30000;
await handler(event, { awsRequestId: 'bench-cold-start', getRemainingTimeInMillis: () => deadline - Date.now() });
const invokeEnd = performance.now();
// The DynamoDB client's keep-alive socket would hold the process open: exit once the line is out.
process.stdout.write('\\n' + JSON.stringify({ bootMs: importStart, importMs: importEnd - importStart, resultAtEpochMs: performance.timeOrigin + invokeEnd }) + '\\n', () => process.exit(0));
`;

interface ProcessColdStart {
  /** The process's own clock when the driver started: Node's boot. */
  bootMs: number;
  importMs: number;
  /** From spawning `node` to the handler's resolved result (epoch clocks of both processes). */
  firstResultMs: number;
}

/** The same module in a fresh `node` process: Node's own start included, which an environment (a worker thread) does not have. */
function processColdStart(driver: string, modulePath: string, eventPath: string, environment: Record<string, string>, timeoutMs: number): Promise<ProcessColdStart> {
  return new Promise((resolve, reject) => {
    const spawnedAt = performance.timeOrigin + performance.now();
    const child = spawn(process.execPath, [driver, modulePath, eventPath], {
      env: { ...process.env, ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{"bootMs"')) {
        reject(new Error(`cold start of ${modulePath} in a new process failed (status ${String(code)}): ${err.trim() || out.trim()}`));
        return;
      }
      const figures = JSON.parse(last) as { bootMs: number; importMs: number; resultAtEpochMs: number };
      resolve({ bootMs: figures.bootMs, importMs: figures.importMs, firstResultMs: figures.resultAtEpochMs - spawnedAt });
    });
  });
}

/**
 * The Lambda as it ships: the bundle `sls package` builds (buildLambdaBundle), its size, and its
 * cold start measured as the local invoker measures it: new execution environments with the local
 * stack's settings, alternating with an empty handler, each invoked once and shut down.
 */
export async function benchLambda(settings: LambdaBenchSettings, log: (line: string) => void): Promise<BenchSection> {
  // Under the project's node_modules: the bundle imports the AWS SDK, external as on Lambda.
  const dir = await localBundleDir('bench-');
  // The orders table the handler claims each order in (dynalite in this process, in memory).
  const dynamodbEmulator = await startDynamoEmulator();
  try {
    const ordersTableName = await createOrdersTable(createDynamoDbClient({ region: 'us-east-1', endpoint: undefined, dynamodbEndpoint: dynamodbEmulator.url }), 'bench');
    const buildStarted = performance.now();
    const { outfile, metafile } = await buildLambdaBundle(dir);
    const buildMs = performance.now() - buildStarted;
    const code = await readFile(outfile);
    const mapBytes = (await stat(`${outfile}.map`)).size;
    const outputKey = Object.keys(metafile.outputs).find((key) => key.endsWith('process-order.mjs')) ?? '';
    const top = bundleContributors(metafile, outputKey);
    log(`lambda: bundle ${fmt(code.length / 1024)} KiB in ${fmt(buildMs)} ms`);

    const empty = join(dir, 'empty-handler.mjs');
    await writeFile(empty, EMPTY_HANDLER);
    // An order of its own per invocation: a repeated one would be a duplicate, acknowledged without the work.
    const eventFor = (orderId: string) =>
      snsEventFor(`{"order_id":"${orderId}","customer_id":123,"items":[{"product_id":"SKU-001","quantity":1,"price":19.99}]}`, {
        attributes: { request_id: 'bench-cold-start', accepted_at: String(Date.now()) },
      });

    // The local stack's function (serverless.yml's processOrder), at PROCESSING_TIME_MS=0.
    const lambda = messagingSettings.lambda;
    const functionSettings = (modulePath: string): FunctionSettings =>
      processOrderFunction({ stage: 'bench', modulePath, processingTimeMs: 0, logLevel: 'info', ordersTableName, dynamodbEndpoint: dynamodbEmulator.url });
    // The whole-process rows get the same environment variables.
    const environmentVariables = functionSettings(outfile).environment;
    const sink = platformLineSink();
    const baseline: EnvironmentColdStart[] = [];
    const bundle: EnvironmentColdStart[] = [];
    // One pair first, not counted: the first worker of this process pays for loading the bootstrap itself.
    await environmentColdStart(functionSettings(empty), eventFor('bench-warm-up-empty'), 'bench-warm-up-empty', sink);
    await environmentColdStart(functionSettings(outfile), eventFor('bench-warm-up-bundle'), 'bench-warm-up-bundle', sink);
    for (let run = 0; run < settings.coldStarts; run += 1) {
      baseline.push(await environmentColdStart(functionSettings(empty), eventFor(`bench-empty-${run}`), `bench-empty-${run}`, sink));
      bundle.push(await environmentColdStart(functionSettings(outfile), eventFor(`bench-bundle-${run}`), `bench-bundle-${run}`, sink));
    }
    const environments = 2 * (settings.coldStarts + 1);
    if (sink.counts.reports !== environments || sink.reports.some((report) => report.initDurationMs === undefined)) {
      throw new Error(`expected ${environments} REPORT lines with Init Duration, got ${sink.counts.reports}`);
    }
    log(`lambda: ${settings.coldStarts} new execution environments each (${sink.counts.lines} platform and function lines discarded)`);

    // Issue 12: the claim and its completion, against the same core without the table, warm.
    const unclaimed = await buildLambdaBundle(dir, UNCLAIMED_ENTRY);
    const [claimedDurations, unclaimedDurations] = await warmDurations(functionSettings(outfile), functionSettings(unclaimed.outfile), settings.warmInvocations, eventFor, sink);
    log(`lambda: ${settings.warmInvocations} warm invocations each, with and without claims`);

    const processBaseline: ProcessColdStart[] = [];
    const processBundle: ProcessColdStart[] = [];
    if (settings.processColdStarts > 0) {
      const driver = join(dir, 'driver.mjs');
      await writeFile(driver, PROCESS_DRIVER);
      for (let run = 0; run < settings.processColdStarts; run += 1) {
        const eventPath = join(dir, `event-${run}.json`);
        await writeFile(eventPath, JSON.stringify(eventFor(`bench-process-${run}`)));
        processBaseline.push(await processColdStart(driver, empty, eventPath, environmentVariables, settings.timeoutMs));
        processBundle.push(await processColdStart(driver, outfile, eventPath, environmentVariables, settings.timeoutMs));
      }
      log(`lambda: ${settings.processColdStarts} whole node processes each`);
    }

    const stats = (runs: EnvironmentColdStart[]) => ({
      init: medianAndP90(runs.map((r) => r.initDurationMs)),
      duration: medianAndP90(runs.map((r) => r.durationMs)),
      firstResult: medianAndP90(runs.map((r) => r.firstResultMs)),
      memory: medianAndP90(runs.map((r) => r.maxMemoryUsedMb)),
    });
    const base = stats(baseline);
    const real = stats(bundle);
    const row = (name: string, s: typeof base) => [
      name,
      fmt(s.init.p50),
      fmt(s.init.p90),
      ratio(s.init.p50, base.init.p50),
      fmt(s.duration.p50),
      fmt(s.firstResult.p50),
      fmt(s.firstResult.p90),
      ratio(s.firstResult.p50, base.firstResult.p50),
      String(s.memory.p50),
    ];

    const sizeTable: Table = {
      headers: ['file', 'bytes', 'KiB', 'gzip -9 KiB'],
      rows: [
        ['process-order.mjs (minified bundle)', code.length.toLocaleString('en-US'), fmt(code.length / 1024), fmt(gzipSync(code, { level: 9 }).length / 1024)],
        ['process-order.mjs.map (source map, separate)', mapBytes.toLocaleString('en-US'), fmt(mapBytes / 1024), '—'],
      ],
    };
    const topTable: Table = {
      headers: ['package', 'bytes in bundle', 'share'],
      rows: top.slice(0, 6).map(([name, bytes]) => [name, bytes.toLocaleString('en-US'), `${((bytes / code.length) * 100).toFixed(0)} %`]),
    };
    const coldTable: Table = {
      headers: ['module', 'Init Duration ms', 'p90', 'vs empty', 'first Duration ms', 'new environment → first result ms', 'p90', 'vs empty', 'Max Memory Used MB'],
      rows: [row('empty handler (baseline)', base), row('process-order.mjs bundle', real)],
    };
    const claimed = medianAndP90(claimedDurations);
    const bare = medianAndP90(unclaimedDurations);
    const claimTable: Table = {
      headers: ['handler, warm', 'Duration ms p50', 'p90', 'vs without claims', 'table calls per invocation'],
      rows: [
        ['process-order.mjs: claim, process, complete', fmt(claimed.p50), fmt(claimed.p90), ratio(claimed.p50, bare.p50), '2 (UpdateItem claim, UpdateItem completion)'],
        ['the same core without the table (scripts/bench/unclaimed-handler.ts)', fmt(bare.p50), fmt(bare.p90), '1.00×', '0'],
      ],
    };
    const tables: BenchSection['tables'] = [
      { caption: 'Bundle size', table: sizeTable },
      { caption: 'What fills the bundle', table: topTable },
      { caption: `Cold start in a local execution environment, median of ${settings.coldStarts}`, table: coldTable },
      { caption: `What the claims cost (issue 12): warm invocations at PROCESSING_TIME_MS=0, ${settings.warmInvocations} each, alternating`, table: claimTable },
    ];
    if (settings.processColdStarts > 0) {
      const processStats = (runs: ProcessColdStart[]) => ({
        bootMs: medianAndP90(runs.map((r) => r.bootMs)).p50,
        importMs: medianAndP90(runs.map((r) => r.importMs)).p50,
        firstResultMs: medianAndP90(runs.map((r) => r.firstResultMs)).p50,
      });
      const processBase = processStats(processBaseline);
      const processRow = (name: string, s: typeof processBase) => [name, fmt(s.bootMs), fmt(s.importMs), fmt(s.firstResultMs), ratio(s.firstResultMs, processBase.firstResultMs)];
      tables.push({
        caption: `For comparison, a whole \`node\` process (not what the local invoker measures), median of ${settings.processColdStarts}`,
        table: {
          headers: ['module', 'node boot ms', 'import ms', 'spawn → first result ms', 'vs empty'],
          rows: [processRow('whole node process, empty handler', processBase), processRow('whole node process, process-order.mjs bundle', processStats(processBundle))],
        },
      });
    }

    return {
      title: 'Lambda',
      method: [
        `The bundle is the one the Lambda ships, built by \`buildLambdaBundle\` from the same definition as \`sls package\` (scripts/lambda-bundle.cjs: esbuild, handlers/process-order.ts, platform node, target node24, ESM with a \`require\` shim, minified, \`@aws-sdk/*\` external as the runtime provides it, hence built under the project's node_modules so that the import resolves, linked source map in a separate file); it took ${fmt(buildMs)} ms here.`,
        '',
        `Cold start, measured as the local invoker measures it: ${settings.coldStarts} new execution environments per module (local/lambda-runtime/execution-environment.ts, a worker thread, the one the local stack starts on a cold start), alternating with the baseline (a module whose handler does nothing), after one pair not counted. Each has the local stack's settings for the function (Memory Size ${lambda.memorySizeMb} MB from resources/messaging.json, which bounds the worker's heap; PROCESSING_TIME_MS=0, LOG_LEVEL=info, NODE_OPTIONS=--enable-source-maps), is invoked once with a real-shaped SNS event (\`snsEventFor\`, an order of its own each time, which the handler claims and completes in the orders table, dynalite in this process) and is then shut down; its START/END/REPORT lines and the function's own log lines go to a sink that counts them. Init Duration, Duration and Max Memory Used are the REPORT figures the invoker logs: Init Duration is timed inside the environment around the module's import, Duration around the first invocation, Max Memory Used is the environment's V8 heap and external memory (not a process's RSS). "New environment → first result" is the wall clock from constructing the environment to the resolved first invocation: the worker's start, the import, the invocation and the messages between them. Medians and 90th percentiles (nearest rank).`,
        ...(settings.processColdStarts > 0
          ? [
              '',
              `For comparison, the same two modules in ${settings.processColdStarts} fresh \`node\` processes each (alternating, the same event and environment variables): "node boot" is the process's own clock when the driver starts, "spawn → first result" the time from spawning \`node\` to the handler's resolved result. It shows the start of a Node runtime, which an environment (a thread of an already running process) does not reproduce.`,
            ]
          : []),
      ],
      tables,
      notes: [
        `Locally, Init Duration is the import of the bundle by an environment that already has a running Node (a worker thread of this process). On Lambda the init phase also bootstraps the runtime itself, a new Node process${settings.processColdStarts > 0 ? ' (roughly the "node boot" of the whole-process table, on a slower share of CPU)' : ''}, and before it the micro-VM is created and the code downloaded and unpacked, which no REPORT figure shows. The local stack reproduces none of these.`,
        `The empty handler's "new environment → first result" (${fmt(base.firstResult.p50)} ms) is the environment's own start, outside its Init Duration: a worker thread is a new V8 isolate with Node bootstrapped in it${settings.processColdStarts > 0 ? ' (compare the whole process\'s "spawn → first result")' : ''}, plus the messages to and from it. The bundle's own cost is the difference between the rows: ${fmt(real.firstResult.p50 - base.firstResult.p50)} ms to the first result, of which Init Duration ${fmt(real.init.p50 - base.init.p50)} ms and the first Duration ${fmt(real.duration.p50 - base.duration.p50)} ms (medians do not add up exactly).`,
        `A ${lambda.memorySizeMb} MB function gets a fraction of a vCPU (Lambda gives CPU in proportion to memory, a full vCPU at 1,769 MB), where an environment here has a whole core of this machine: expect Init Duration and the first Duration several times these on AWS. The difference against the empty handler holds up better than the absolute figures; the ratio of Init Durations is large and unsteady because the empty module imports in under a millisecond.`,
        'Max Memory Used on AWS also counts the runtime process itself (its RSS), so it reads several tens of MB higher there than the heap figure a worker thread can report.',
        `The claims add ${fmt(claimed.p50 - bare.p50)} ms to a warm invocation's median Duration here: two round trips to dynalite on loopback and the SDK's work around them. On AWS each is a round trip to DynamoDB in the same region (single-digit milliseconds), billed as Duration at the function's memory; at PROCESSING_TIME_MS=3000 either is a small part of the invocation.`,
      ],
    };
  } finally {
    await dynamodbEmulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
