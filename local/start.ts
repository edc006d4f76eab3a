import { parseArgs } from 'node:util';
import { EnvReader, LOG_LEVELS } from '../lib/config.ts';
import { ConfigError } from '../lib/errors.ts';
import { parseFlagsOrExit } from '../scripts/cli.ts';
import { PROCESSOR_MODES, type ProcessorMode } from './provision.ts';
import { startStatsServer } from './stats-server.ts';
import { startLocalStack, type LocalStackOptions } from './stack.ts';

const USAGE = `Usage: npm start -- [--processor ecs|lambda|both] [--port N]

Runs the whole ordersync pipeline on this machine: the SNS/SQS emulator, the receiver, and the
ECS processor and/or the SNS-triggered Lambda (through a local invoker).

Environment: PORT (8080), EMULATOR_PORT (4566), STATS_PORT (4567), PROCESSING_TIME_MS (3000),
PROCESSOR_CONCURRENCY (100), LOG_LEVEL (info).`;

const SEED_ORDER = '{"order_id":"001","customer_id":123,"items":[{"product_id":"SKU-001","quantity":1,"price":19.99}]}';

type StartOptions = LocalStackOptions & { statsPort: number };

function readOptions(argv: string[], env: NodeJS.ProcessEnv): StartOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      processor: { type: 'string', default: 'ecs' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const mode = values.processor as ProcessorMode;
  if (!PROCESSOR_MODES.includes(mode)) {
    throw new ConfigError(`--processor must be one of ${PROCESSOR_MODES.join(', ')} (got "${values.processor}")`);
  }
  const reader = new EnvReader({ ...env, ...(values.port ? { PORT: values.port } : {}) });
  return reader.done('local stack', {
    mode,
    port: reader.integer('PORT', 8080, 0, 65535),
    emulatorPort: reader.integer('EMULATOR_PORT', 4566, 0, 65535),
    statsPort: reader.integer('STATS_PORT', 4567, 0, 65535),
    processingTimeMs: reader.integer('PROCESSING_TIME_MS', 3000, 0, 600_000),
    concurrency: reader.integer('PROCESSOR_CONCURRENCY', 100, 1, 1000),
    logLevel: reader.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
  });
}

function banner(options: StartOptions, stack: Awaited<ReturnType<typeof startLocalStack>>, statsUrl: string): string {
  const paths = { ecs: 'SQS queue → ECS processor', lambda: 'SNS → Lambda (local invoker)', both: 'SQS queue → ECS processor and SNS → Lambda' };
  return [
    '',
    `ordersync is running locally (processor: ${options.mode}: ${paths[options.mode]})`,
    `  receiver        ${stack.receiverUrl}   GET /health, POST /orders/sync, POST /orders/async`,
    `  emulator        ${stack.emulatorUrl}   SNS + SQS (fauxqs)`,
    `  topic           ${stack.resources.topicArn}`,
    `  orders queue    ${stack.resources.ordersQueueUrl}`,
    `  orders DLQ      ${stack.resources.ordersDeadLetterQueueUrl}`,
    `  Lambda failures ${stack.resources.lambdaFailureQueueUrl}`,
    `  processing      ${options.processingTimeMs} ms per order, ${options.concurrency} ECS workers`,
    `  stats           ${statsUrl}   (what npm run monitor reads)`,
    '',
    'Send a first order:',
    `  curl -i -X POST ${stack.receiverUrl}/orders/async -H 'content-type: application/json' \\`,
    `    -d '${SEED_ORDER}'`,
    '',
    'Logs follow as JSON lines (look for "event":"order.processed"). Ctrl-C stops everything.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const options = parseFlagsOrExit(() => readOptions(process.argv.slice(2), process.env), USAGE);

  let stack: Awaited<ReturnType<typeof startLocalStack>>;
  let stats: Awaited<ReturnType<typeof startStatsServer>>;
  try {
    stack = await startLocalStack(options);
    const started = new Date().toISOString();
    const running = stack;
    stats = await startStatsServer(options.statsPort, () => ({
      started_at: started,
      processor: running.processor?.stats ?? null,
      lambda: running.invoker?.stats ?? null,
    })).catch(async (error: unknown) => {
      await running.stop();
      throw error;
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message =
      code === 'EADDRINUSE'
        ? `cannot start: port ${(error as { port?: number }).port ?? ''} is already in use (set PORT or EMULATOR_PORT to another port)`
        : `cannot start: ${(error as Error).message}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
  process.stdout.write(banner(options, stack, stats.url));

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stdout.write(`\n${signal}: stopping (in-flight orders finish first; Ctrl-C again to quit now)\n`);
    Promise.all([stats.stop(), stack.stop()]).then(
      () => {
        process.stdout.write('stopped\n');
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`stop failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
