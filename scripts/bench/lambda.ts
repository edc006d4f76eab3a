import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildLambdaBundle } from '../../local/lambda-runtime/lambda-bundle.ts';
import { snsEventFor } from '../../local/sns-event.ts';
import type { BenchSection } from './report.ts';
import { fmt, median, ratio, type Table } from './stats.ts';

export interface LambdaBenchSettings {
  /** Fresh processes per module for the cold-start figures. */
  coldStarts: number;
  /** Upper bound on one cold start. */
  timeoutMs: number;
}

/** Imports a handler module, invokes it once with the event, prints its timings as the last line. */
const DRIVER = `import { readFileSync } from 'node:fs';
const [modulePath, eventPath] = process.argv.slice(2);
const importStart = performance.now();
const { handler } = await import(modulePath);
const importEnd = performance.now();
const event = JSON.parse(readFileSync(eventPath, 'utf8'));
await handler(event, { awsRequestId: 'bench-cold-start' });
const invokeEnd = performance.now();
process.stdout.write('\\n' + JSON.stringify({ bootMs: importStart, importMs: importEnd - importStart, invokeMs: invokeEnd - importEnd, totalMs: invokeEnd }) + '\\n');
`;

/** The smallest module with the handler's shape: the baseline of a cold start. */
const EMPTY_HANDLER = 'export const handler = async (event) => event.Records.map(() => ({}));\n';

interface ColdStart {
  bootMs: number;
  importMs: number;
  invokeMs: number;
  totalMs: number;
  wallMs: number;
}

function coldStart(driver: string, modulePath: string, eventPath: string, timeoutMs: number): Promise<ColdStart> {
  return new Promise((resolve, reject) => {
    const spawned = performance.now();
    const child = spawn(process.execPath, [driver, modulePath, eventPath], {
      env: { ...process.env, PROCESSING_TIME_MS: '0', LOG_LEVEL: 'info', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const wallMs = performance.now() - spawned;
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{"bootMs"')) {
        reject(new Error(`cold start of ${modulePath} failed (status ${String(code)}): ${err.trim() || out.trim()}`));
        return;
      }
      resolve({ ...(JSON.parse(last) as Omit<ColdStart, 'wallMs'>), wallMs });
    });
  });
}

/** Bytes in the bundle per package (node_modules/<name>) or project folder. */
function contributors(metafile: { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> }, output: string) {
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[output]?.inputs ?? {})) {
    const parts = input.split('/');
    const at = parts.lastIndexOf('node_modules');
    const name = at >= 0 ? (parts[at + 1]?.startsWith('@') ? `${parts[at + 1]}/${parts[at + 2]}` : (parts[at + 1] ?? input)) : `ordersync ${parts[0]}/`;
    totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}

/**
 * The Lambda as it would ship: an esbuild bundle of handlers/process-order.ts for node24 (ESM,
 * minified, AWS SDK external, source map beside it), then cold starts of that bundle in fresh
 * Node processes against a module that does nothing, alternating, median of the runs.
 */
export async function benchLambda(settings: LambdaBenchSettings, log: (line: string) => void): Promise<BenchSection> {
  const dir = await mkdtemp(join(tmpdir(), 'ordersync-bench-'));
  try {
    const buildStarted = performance.now();
    const { outfile, metafile } = await buildLambdaBundle(dir);
    const buildMs = performance.now() - buildStarted;
    const code = await readFile(outfile);
    const mapBytes = (await stat(`${outfile}.map`)).size;
    const outputKey = Object.keys(metafile.outputs).find((key) => key.endsWith('process-order.mjs')) ?? '';
    const top = contributors(metafile, outputKey);
    log(`lambda: bundle ${fmt(code.length / 1024)} KiB in ${fmt(buildMs)} ms`);

    const driver = join(dir, 'driver.mjs');
    const empty = join(dir, 'empty-handler.mjs');
    const eventPath = join(dir, 'event.json');
    await writeFile(driver, DRIVER);
    await writeFile(empty, EMPTY_HANDLER);
    const event = snsEventFor('{"order_id":"001","customer_id":123,"items":[{"product_id":"SKU-001","quantity":1,"price":19.99}]}', {
      attributes: { request_id: 'bench-cold-start', accepted_at: String(Date.now()) },
    });
    await writeFile(eventPath, JSON.stringify(event));

    const baseline: ColdStart[] = [];
    const bundle: ColdStart[] = [];
    for (let run = 0; run < settings.coldStarts; run += 1) {
      baseline.push(await coldStart(driver, empty, eventPath, settings.timeoutMs));
      bundle.push(await coldStart(driver, outfile, eventPath, settings.timeoutMs));
    }
    log(`lambda: ${settings.coldStarts} cold starts each`);
    const medians = (runs: ColdStart[]) => ({
      bootMs: median(runs.map((r) => r.bootMs)),
      importMs: median(runs.map((r) => r.importMs)),
      invokeMs: median(runs.map((r) => r.invokeMs)),
      totalMs: median(runs.map((r) => r.totalMs)),
      wallMs: median(runs.map((r) => r.wallMs)),
    });
    const base = medians(baseline);
    const real = medians(bundle);
    const row = (name: string, m: typeof base) => [name, fmt(m.bootMs), fmt(m.importMs), fmt(m.invokeMs), fmt(m.totalMs), ratio(m.totalMs, base.totalMs), fmt(m.wallMs), ratio(m.wallMs, base.wallMs)];

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
      headers: ['module', 'node boot ms', 'import ms', 'first invoke ms', 'process start → result ms', 'vs empty', 'spawn → exit ms', 'vs empty'],
      rows: [row('empty handler (baseline)', base), row('process-order.mjs bundle', real)],
    };
    return {
      title: 'Lambda',
      method: [
        `The bundle is the one the Lambda ships, built from the same definition as \`sls package\` (scripts/lambda-bundle.cjs: esbuild, handlers/process-order.ts, platform node, target node24, ESM with a \`require\` shim, minified, \`@aws-sdk/*\` external as the runtime provides it, linked source map in a separate file); it took ${fmt(buildMs)} ms here. Cold start: ${settings.coldStarts} fresh \`node\` processes per module, alternating with the baseline (a module whose handler does nothing), each importing the module and invoking \`handler\` once with a real-shaped SNS event (\`snsEventFor\` with the seed order) at PROCESSING_TIME_MS=0, LOG_LEVEL=info; medians. "Node boot" is the process's own clock when the driver starts, "process start → result" the same clock when the first invocation returned, "spawn → exit" the wall time seen from outside.`,
      ],
      tables: [
        { caption: 'Bundle size', table: sizeTable },
        { caption: 'What fills the bundle', table: topTable },
        { caption: `Cold start, median of ${settings.coldStarts}`, table: coldTable },
      ],
      notes: [
        'On Lambda the runtime\'s own start and the download of the code come on top, and a 256 MB function gets a fraction of a core (CPU scales with memory), so expect several times these import and invoke figures there.',
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
