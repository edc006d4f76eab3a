import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killGroup, spawnChild } from './child-process.ts';

/** The parts of Artillery's `--output` report the tests read. */
export interface ArtilleryReport {
  aggregate: {
    counters: Record<string, number>;
    summaries: Record<string, { p95: number; p99: number; max: number }>;
  };
}

export interface ArtilleryRun {
  code: number | null;
  report: ArtilleryReport;
  output: string;
}

const artilleryBin = (() => {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('artillery/package.json');
  const { bin } = require(packageJson) as { bin: Record<string, string> };
  return join(dirname(packageJson), bin.artillery ?? 'bin/run');
})();

/**
 * Runs `artillery run` on a script of artillery/ as a user would (`--target`, `-e`, `--output`),
 * with the tests' Node, in a temporary directory; killed (and failed) after `timeoutMs`.
 */
export async function runArtillery(script: string, options: { target: string; environment?: string; timeoutMs: number }): Promise<ArtilleryRun> {
  return runWithReport(script, options, (reportPath) => {
    const args = [artilleryBin, 'run', '--target', options.target, '--output', reportPath];
    if (options.environment) args.push('--environment', options.environment);
    return [...args, resolve('artillery', script)];
  });
}

/**
 * Runs `npm run load:async` (scripts/load-async.ts: artillery/async.yml, then the status check)
 * as a user would, with `--target`, `-e`, `--output` and the check's own flags (`checkArgs`).
 */
export async function runLoadAsync(options: { target: string; environment?: string; timeoutMs: number; checkArgs?: string[] }): Promise<ArtilleryRun> {
  return runWithReport('load-async', options, (reportPath) => {
    // tsx by its resolved URL: the child runs in a temporary directory, where `tsx` alone does not resolve.
    const args = ['--import', import.meta.resolve('tsx'), resolve('scripts/load-async.ts'), '--target', options.target, '--output', reportPath];
    if (options.environment) args.push('--environment', options.environment);
    return [...args, ...(options.checkArgs ?? [])];
  });
}

async function runWithReport(script: string, options: { timeoutMs: number }, command: (reportPath: string) => string[]): Promise<ArtilleryRun> {
  const workDir = await mkdtemp(join(tmpdir(), 'ordersync-artillery-'));
  const reportPath = join(workDir, 'report.json');
  const child = spawnChild(process.execPath, command(reportPath), { ARTILLERY_DISABLE_TELEMETRY: 'true', NO_COLOR: '1' }, workDir);
  try {
    const timer = new AbortController();
    const exit = await Promise.race([
      child.exited,
      sleep(options.timeoutMs, undefined, { signal: timer.signal }).then(() => undefined, () => undefined),
    ]);
    timer.abort();
    const output = `${child.stdout()}${child.stderr()}`;
    if (!exit) throw new Error(`artillery run ${script} did not finish within ${options.timeoutMs} ms:\n${output}`);
    const report = await readFile(reportPath, 'utf8').catch((error: Error) => {
      throw new Error(`artillery run ${script} wrote no report (exit ${exit.code}): ${error.message}\n${output}`);
    });
    return { code: exit.code, report: JSON.parse(report) as ArtilleryReport, output };
  } finally {
    killGroup(child);
    await rm(workDir, { recursive: true, force: true });
  }
}
