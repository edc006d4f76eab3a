import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogCollector, type LogLine } from '../../local/log-collector.ts';
import { stopGroup } from '../support/child-process.ts';
import { ROOT } from '../../scripts/package-stack.ts';

/**
 * The deployed containers, run as ECS would run them but with Node on this machine: the bundle
 * the image runs (scripts/build.ts, as the Dockerfile builds it), started the way the image's CMD
 * starts it, with the image's ENV overlaid by the task definition's environment as the emulator
 * holds it. The only additions are what a task on AWS gets from its platform rather than from its
 * definition: credentials (the task role's), and where AWS is (here, the emulator).
 */
export interface RunningTask {
  name: string;
  child: ChildProcess;
  logs: LogCollector;
  stderr(): string;
  waitFor(what: string, match: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine>;
  /** SIGTERM, then the exit (SIGKILL after timeoutMs). */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The ENV of containers/<component>/Dockerfile's final stage, as the image carries it. */
export function imageEnv(component: string): Record<string, string> {
  const text = readFileSync(join(ROOT, 'containers', component, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const finalStage = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const line of finalStage.split('\n')) {
    const match = /^ENV\s+(.*)$/.exec(line.trim());
    if (!match) continue;
    for (const pair of match[1]!.trim().split(/\s+/)) {
      const equals = pair.indexOf('=');
      if (equals > 0) env[pair.slice(0, equals)] = pair.slice(equals + 1);
    }
  }
  return env;
}

/** A task definition's environment as a process environment (ECS passes every value as a string). */
export function taskEnv(environment: { name: string; value: unknown }[]): Record<string, string> {
  return Object.fromEntries(environment.map(({ name, value }) => [name, String(value)]));
}

export function startTask(name: string, bundle: string, env: Record<string, string>): RunningTask {
  // The image's CMD: node --enable-source-maps /app/<component>.mjs; nothing inherited but PATH.
  const child = spawn(process.execPath, ['--enable-source-maps', bundle], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const logs = new LogCollector();
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => logs.write(chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    name,
    child,
    logs,
    stderr: () => stderr,
    async waitFor(what, match, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = logs.lines.find(match);
        if (found) return found;
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(
            `${name}: ${child.exitCode !== null ? `exited ${child.exitCode}` : `no ${what} within ${timeoutMs} ms`}\n` +
              `stderr: ${stderr}\nlog: ${logs.lines.map((line) => JSON.stringify(line)).join('\n')}`,
          );
        }
        await sleep(50);
      }
    },
    async stop(timeoutMs = 30_000) {
      await stopGroup(child, timeoutMs);
      return exited;
    },
  };
}
