import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const SERVE = fileURLToPath(new URL('./serve.ts', import.meta.url));
const BUNDLE_DIR = fileURLToPath(new URL('../../node_modules/.cache/ordersync-bench/serve/', import.meta.url));

let bundled: string | undefined;

/**
 * serve.ts as the targets run it: an esbuild bundle for Node 24 (dependencies left to
 * node_modules) run by plain `node --enable-source-maps`, as the receiver's image runs its
 * bundle, rather than through tsx, whose transform (with esbuild's keepNames) costs a little on
 * every closure a request creates and is not what ships. Built once per run, into a folder of
 * this run's own (two runs never read each other's half-written file).
 */
function serveBundle(): string {
  if (bundled) return bundled;
  const outfile = join(BUNDLE_DIR, `serve-${process.pid}.mjs`);
  buildSync({
    entryPoints: [SERVE],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    packages: 'external',
    sourcemap: true,
    logLevel: 'silent',
  });
  process.once('exit', () => {
    rmSync(outfile, { force: true });
    rmSync(`${outfile}.map`, { force: true });
  });
  bundled = outfile;
  return outfile;
}

export type TargetKind =
  | 'emulator'
  | 'bare'
  | 'receiver'
  | 'receiver-baseline'
  | 'receiver-unrecorded'
  | 'koa-peer'
  | 'fastify-peer'
  | 'http-peer'
  | 'koa-intake'
  | 'fastify-intake'
  | 'http-intake';

export interface Target {
  url: string;
  /** The emulator target's DynamoDB endpoint (dynalite, in the same process as fauxqs). */
  dynamodbUrl?: string | undefined;
  child: ChildProcess;
  /** CPU time (user + system) the target's process has used so far, in ms; undefined off Linux. */
  cpuMs(): number | undefined;
  stop(): Promise<void>;
}

let ticksPerSecond: number | undefined;

/** CPU time of a process from /proc/<pid>/stat (utime + stime, in clock ticks). */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** Starts a benchmark target (scripts/bench/serve.ts) in its own Node process and waits for its URL. */
export async function startTarget(kind: TargetKind, env: Record<string, string> = {}, timeoutMs = 20_000): Promise<Target> {
  const child = spawn(process.execPath, ['--enable-source-maps', serveBundle(), kind], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const announced = await new Promise<{ url: string; dynamodbUrl?: string }>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error(`${kind} did not start within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}${stderr ? `\n${stderr.trim()}` : ''}`));
    };
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const line = buffered.split('\n').find((candidate) => candidate.startsWith('{"url"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { url: string; dynamodbUrl?: string });
      }
    });
    child.once('exit', (code) => fail(new Error(`${kind} exited (status ${String(code)}) before it listened`)));
  });
  child.removeAllListeners('exit');
  return {
    url: announced.url,
    dynamodbUrl: announced.dynamodbUrl,
    child,
    cpuMs: () => processCpuMs(child.pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
