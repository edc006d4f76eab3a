import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { LogCollector } from '../../local/log-collector.ts';

export interface Child {
  process: ChildProcess;
  /** JSON log lines from standard output. */
  logs: LogCollector;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a command in its own process group, collecting its output. */
export function spawnChild(command: string, args: string[], env: Record<string, string>, cwd = process.cwd()): Child {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const logs = new LogCollector();
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    logs.write(chunk);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { process: child, logs, stdout: () => out, stderr: () => err, exited };
}

/** Runs a TypeScript entry point with the same Node as the tests (Node 24) and tsx. */
export function spawnEntryPoint(entry: string, env: Record<string, string>): Child {
  return spawnChild(process.execPath, ['--import', 'tsx', entry], env);
}

/** True while any process of the group led by `pid` is alive. */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills what is left of a child's process group (cleanup after a failed test). */
export function killGroup(child: Child): void {
  killProcessGroup(child.process);
}

/** SIGKILL to the process group a detached child leads, if it is still there. */
export function killProcessGroup(child: ChildProcess): void {
  if (child.pid !== undefined && groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
}

/**
 * SIGTERM to the process group a detached child leads, SIGKILL to it after `graceMs`, and the
 * child's exit awaited.
 */
export async function stopGroup(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return; // gone meanwhile
  }
  const forced = setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }, graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(forced);
  }
}

/** A free loopback port (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
