import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from '../lib/errors.ts';
import { parseFlagsOrExit } from './cli.ts';
import { renderMonitor } from './monitor/render.ts';
import { localTarget, stageTarget, type MonitorSample, type MonitorTarget } from './monitor/targets.ts';

const USAGE = `Usage: npm run monitor -- [--stage NAME] [--region REGION] [--interval S] [--once] [--json]

Shows, refreshed every second, the orders queue's waiting and in-flight counts and their
trend, the dead-letter queues' depths, and the processing rate of each path.

Without --stage (or with --stage local) it watches the stack of \`npm start\` on this machine
(EMULATOR_PORT, default 4566; STATS_PORT, default 4567). With --stage NAME it watches a
deployed stage: the queues from the outputs of the CloudFormation stack ordersync-NAME, the
rates from CloudWatch, with your usual AWS credentials.

Options:
  --stage NAME     the stage to watch (default local)
  --region REGION  AWS region of the stage (default AWS_REGION, else us-east-1)
  --interval S     seconds between refreshes (default 1)
  --once           print one reading and exit: status 0, or 1 when nothing answered
  --json           print each reading as one line of JSON instead of the screen (for scripts)
  -h, --help       this text`;

interface MonitorOptions {
  stage: string;
  region: string;
  intervalMs: number;
  once: boolean;
  json: boolean;
}

/** Whether anything answered: a queue that could be read, or the path counters. */
export function answered(sample: MonitorSample): boolean {
  return sample.queues.some((queue) => queue.depth !== undefined) || sample.processing.error === undefined;
}

export function parseMonitorArgs(argv: string[], env: NodeJS.ProcessEnv): MonitorOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      stage: { type: 'string', default: 'local' },
      region: { type: 'string' },
      interval: { type: 'string', default: '1' },
      once: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const interval = Number(values.interval);
  if (!Number.isFinite(interval) || interval < 0.2 || interval > 60) {
    throw new ConfigError(`--interval must be a number of seconds from 0.2 to 60 (got "${values.interval}")`);
  }
  if (!/^[a-zA-Z0-9-]{1,20}$/.test(values.stage)) throw new ConfigError(`--stage must be 1 to 20 letters, digits or hyphens (got "${values.stage}")`);
  return {
    stage: values.stage,
    region: values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    intervalMs: Math.round(interval * 1000),
    once: values.once,
    json: values.json,
  };
}

export async function targetFor(options: MonitorOptions, env: NodeJS.ProcessEnv): Promise<MonitorTarget> {
  if (options.stage !== 'local') return stageTarget({ stage: options.stage, region: options.region });
  return localTarget({
    endpoint: `http://127.0.0.1:${env.EMULATOR_PORT ?? '4566'}`,
    statsUrl: `http://127.0.0.1:${env.STATS_PORT ?? '4567'}/stats`,
    region: options.region,
  });
}

async function main(): Promise<void> {
  const options = parseFlagsOrExit(() => parseMonitorArgs(process.argv.slice(2), process.env), USAGE);
  let target: MonitorTarget;
  try {
    target = await targetFor(options, process.env);
  } catch (error) {
    process.stderr.write(`cannot watch stage ${options.stage}: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const interactive = process.stdout.isTTY === true && !options.once && !options.json;
  const history: MonitorSample[] = [];
  let running = true;
  process.on('SIGINT', () => {
    running = false;
  });
  if (interactive) process.stdout.write('\x1b[?25l'); // hide the cursor while redrawing
  try {
    while (running) {
      const started = Date.now();
      const sample = await target.sample();
      history.push(sample);
      while (history.length > 0 && (history[0]?.at ?? 0) < started - 60_000) history.shift();
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ target: target.description, ...sample, at: new Date(sample.at).toISOString() })}\n`);
      } else {
        const screen = renderMonitor(history, { description: target.description, intervalMs: options.intervalMs, color: interactive });
        process.stdout.write(interactive ? `\x1b[H\x1b[2J${screen}` : `${screen}\n`);
      }
      if (options.once) {
        if (!answered(sample)) process.exitCode = 1;
        break;
      }
      await sleep(Math.max(0, options.intervalMs - (Date.now() - started)));
    }
  } finally {
    if (interactive) process.stdout.write('\x1b[?25h\n');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
