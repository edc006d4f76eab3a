import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort, stopGroup } from '../support/child-process.ts';

/**
 * One moto server (moto-server.py: moto 5.2 in server mode with four corrections it prints) on a
 * free loopback port for the whole rehearsal, and the AWS CLI pointed at it. Everything the
 * rehearsal reads from "AWS" it reads from here, through the same CLI the deploy scripts use.
 */
export const REGION = 'us-east-1';
/** moto's default account. */
export const ACCOUNT = '123456789012';
const LAUNCHER = fileURLToPath(new URL('moto-server.py', import.meta.url));

export interface AwsResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface Emulator {
  endpoint: string;
  /** The environment any AWS client needs to use the emulator and nothing else, HOME-independent. */
  awsEnv: Record<string, string>;
  /** The AWS CLI (JSON output) against the emulator; fails with the CLI's error. */
  aws<T = any>(...args: string[]): Promise<T>;
  /** The AWS CLI against the emulator, whatever its exit status. */
  awsResult(...args: string[]): Promise<AwsResult>;
  /** What moto printed about failures (tracebacks: their last lines) since `mark()`. */
  problems(since?: number): string[];
  /** A position in moto's log, for problems(). */
  mark(): number;
  /** The fixes moto-server.py announced. */
  fixes(): string[];
  stop(): Promise<void>;
}

/** Credentials moto accepts; no profile, no ~/.aws: config and credential files point nowhere. */
function hermeticAwsEnv(endpoint: string, dir: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}

/** process.env without anything that would send an AWS client elsewhere or as someone else. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^AWS_/.test(name)) continue;
    env[name] = value;
  }
  return env;
}

export function runCommand(command: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<AwsResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

async function waitUntilServing(endpoint: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto exited (${child.exitCode}) while starting:\n${readFileSync(logPath, 'utf8')}`);
    try {
      const answer = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2000) });
      if (answer.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`moto did not answer on ${endpoint} within 30 s:\n${readFileSync(logPath, 'utf8')}`);
}

export async function startEmulator(): Promise<Emulator> {
  const dir = await mkdtemp(join(tmpdir(), 'ordersync-rehearsal-moto-'));
  const logPath = join(dir, 'moto.log');
  let child: ChildProcess | undefined;
  let endpoint = '';
  // A free port can be taken between looking and listening: one more try then.
  for (let attempt = 1; attempt <= 2; attempt += 1) {
    const port = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    const log = openSync(logPath, 'w');
    child = spawn('python3', [LAUNCHER, String(port)], {
      env: { ...baseEnv(), PYTHONUNBUFFERED: '1', PYTHONWARNINGS: 'default' },
      stdio: ['ignore', log, log],
      detached: true,
    });
    closeSync(log);
    try {
      await waitUntilServing(endpoint, child, logPath);
      break;
    } catch (error) {
      await stopGroup(child, 5000);
      if (attempt === 2) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const server = child!;
  const awsEnv = hermeticAwsEnv(endpoint, dir);
  const cliEnv = { ...baseEnv(), ...awsEnv };
  const readLog = () => readFileSync(logPath, 'utf8');

  async function awsResult(...args: string[]): Promise<AwsResult> {
    // --endpoint-url as well as AWS_ENDPOINT_URL: CLI v1 sends some SQS calls to
    // queue.amazonaws.com whatever AWS_ENDPOINT_URL says.
    return runCommand('aws', [...args, '--endpoint-url', endpoint, '--region', REGION, '--output', 'json'], cliEnv);
  }

  return {
    endpoint,
    awsEnv,
    awsResult,
    async aws(...args: string[]) {
      const result = await awsResult(...args);
      if (result.status !== 0) throw new Error(`aws ${args.join(' ')} failed (${result.status}): ${result.stderr.trim()}`);
      return result.stdout.trim() === '' ? null : JSON.parse(result.stdout);
    },
    mark: () => readLog().length,
    problems(since = 0) {
      const text = readLog().slice(since);
      const found: string[] = [];
      for (const block of text.split(/^Traceback \(most recent call last\):$/m).slice(1)) {
        const lines = block.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('127.0.0.1 - -'));
        // The exception line: the first unindented line after the stack.
        const last = lines.find((line) => !line.startsWith(' '));
        const where = lines.filter((line) => line.trim().startsWith('File ')).slice(-1)[0]?.trim();
        found.push(`${last ?? 'unknown error'}${where ? ` (${where})` : ''}`);
      }
      return found;
    },
    fixes: () => readLog().split('\n').filter((line) => line.startsWith('moto-server: ')).map((line) => line.slice('moto-server: '.length)),
    async stop() {
      await stopGroup(server, 5000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
