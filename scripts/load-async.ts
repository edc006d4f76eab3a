import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../lib/errors.ts';
import { ACCEPTED_ORDERS_FILE_VARIABLE } from '../artillery/processor.mts';
import { parseFlagsOrExit } from './cli.ts';
import { checkAcceptedOrders, formatStatusCheck, parseAcceptedLines, type ExpectedPaths } from './load/status-check.ts';

/**
 * npm run load:async: the Artillery scenario artillery/async.yml, then a check through the status
 * resource that every order it got a 202 for was processed on every path the stack runs.
 */

const USAGE = `Usage: npm run load:async -- [options] [artillery run options]

Runs artillery/async.yml (about 10 orders/s for 60 s against http://localhost:8080), then asks
GET /orders/{order_id} (each 202's Location) of every order answered 202, once a second, until
each is processed on every path the stack runs or the wait is over. Prints how many were
processed and which were not, with what their status said. Exit status: Artillery's when its
checks failed, else 1 when an accepted order was not processed, else 0.

Options of the status check:
  --processor ecs|lambda|both|auto
                      the paths every order must be processed on, as the stack runs them
                      (npm start --processor, the stage's processorMode). Default auto: the paths
                      the run's orders show; in both mode, name it, or an order that one path
                      never took would pass
  --wait-seconds N    how long to wait for the orders to be processed, from the end of the load
                      (default 60; 0 looks once)
  -h, --help          this text

Everything else goes to artillery run as it is, e.g.:
  --target URL        a deployed stage's load balancer (default http://localhost:8080)
  -e smoke            the smoke variant: 3 s, a few users
  --output FILE       keep Artillery's results as JSON`;

export interface LoadAsyncOptions {
  paths: ExpectedPaths;
  waitMs: number;
  /** Passed to `artillery run` before the scenario file. */
  artilleryArgs: string[];
}

const PROCESSOR_PATHS: Record<string, ExpectedPaths> = { ecs: ['ecs'], lambda: ['lambda'], both: ['ecs', 'lambda'], auto: 'auto' };

/** Takes the status check's own flags out of the command line; the rest is Artillery's. */
export function parseLoadAsyncArgs(argv: string[]): LoadAsyncOptions | 'help' {
  const artilleryArgs: string[] = [];
  let paths: ExpectedPaths = 'auto';
  let waitMs = 60_000;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const next = inline ?? argv[++index];
      if (next === undefined) throw new ConfigError(`${name} needs a value`);
      return next;
    };
    if (name === '-h' || name === '--help') return 'help';
    if (name === '--processor') {
      const raw = value();
      const chosen = PROCESSOR_PATHS[raw];
      if (!chosen) throw new ConfigError(`--processor must be ecs, lambda, both or auto (got "${raw}")`);
      paths = chosen;
    } else if (name === '--wait-seconds') {
      const raw = value();
      const seconds = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > 3600) {
        throw new ConfigError(`--wait-seconds must be a number of seconds from 0 to 3600 (got "${raw}")`);
      }
      waitMs = seconds * 1000;
    } else artilleryArgs.push(arg);
  }
  return { paths, waitMs, artilleryArgs };
}

const SCENARIO = fileURLToPath(new URL('../artillery/async.yml', import.meta.url));

function artilleryBin(): string {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('artillery/package.json');
  const { bin } = require(packageJson) as { bin: Record<string, string> };
  return join(dirname(packageJson), bin.artillery ?? 'bin/run');
}

/** Runs Artillery with this Node, its output on this terminal; resolves with its exit status. */
function runArtillery(args: string[], acceptedFile: string): Promise<number> {
  const child = spawn(process.execPath, [artilleryBin(), 'run', ...args, SCENARIO], {
    stdio: 'inherit',
    env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true', [ACCEPTED_ORDERS_FILE_VARIABLE]: acceptedFile },
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(): Promise<void> {
  const options = parseFlagsOrExit(() => parseLoadAsyncArgs(process.argv.slice(2)), USAGE);
  const workDir = await mkdtemp(join(tmpdir(), 'ordersync-load-async-'));
  try {
    const acceptedFile = join(workDir, 'accepted.jsonl');
    await writeFile(acceptedFile, '');
    const artilleryCode = await runArtillery(options.artilleryArgs, acceptedFile);
    const orders = parseAcceptedLines(await readFile(acceptedFile, 'utf8'));
    process.stdout.write(`\nChecking ${orders.length} accepted orders through the status resource...\n`);
    const result = await checkAcceptedOrders(orders, { paths: options.paths, waitMs: options.waitMs });
    process.stdout.write(formatStatusCheck(result));
    if (artilleryCode !== 0) {
      process.stdout.write(`Artillery's run failed (exit status ${artilleryCode}): see its checks above.\n`);
      process.exitCode = artilleryCode;
    } else if (result.notProcessed.length > 0) process.exitCode = 1;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
