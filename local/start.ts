import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EnvReader, LOG_LEVELS } from '../lib/config.ts';
import { onStopSignals } from '../lib/process-lifecycle.ts';
import { ConfigError } from '../lib/errors.ts';
import { parseFlagsOrExit } from '../scripts/cli.ts';
import { PROCESSOR_MODES, type ProcessorMode } from './provision.ts';
import { messagingSettings } from '../lib/messaging-settings.ts';
import { ACCOUNT_CONCURRENCY, DEFAULT_IDLE_TIMEOUT_MS } from './lambda-runtime/function-environments.ts';
import { startStatsServer } from './stats-server.ts';
import { startLocalStack, type LocalStackOptions, type QueuedOrders } from './stack.ts';

const USAGE = `Usage: npm start -- [--processor ecs|lambda|both] [--port N] [--lambda-concurrency N] [--fresh]

Runs the whole ordersync pipeline on this machine: the SNS/SQS emulator, the receiver, and the
ECS processor and/or the SNS-triggered Lambda (through a local invoker).

The emulator keeps its queues in LOCAL_DATA_DIR, so orders still queued when it stops are
processed after the next start, as SQS would keep them. --fresh discards them and starts empty.

The Lambda runs as the bundle that ships, in execution environments of its own (worker threads):
cold starts, warm reuse, its memory size and timeout, and throttling beyond its concurrency limit
(--lambda-concurrency, as the stage parameter lambdaReservedConcurrency; unset, the account's 1000).
Its START, END and REPORT lines are in the log: grep "Init Duration" finds the cold starts, and
npm run logs -- --local --cold-starts sums them up.

Environment: PORT (8080), EMULATOR_PORT (4566), STATS_PORT (4567), DYNAMODB_PORT (4568), PROCESSING_TIME_MS (3000),
PROCESSOR_CONCURRENCY (100), LOG_LEVEL (info), LOCAL_DATA_DIR (local/data),
LAMBDA_CONCURRENCY (unset), LAMBDA_MEMORY_MB (256), LAMBDA_IDLE_SECONDS (300).`;

/** The default data folder, in the project and ignored by git. */
const DEFAULT_DATA_DIR = fileURLToPath(new URL('data', import.meta.url));

const SEED_ORDER = '{"order_id":"001","customer_id":123,"items":[{"product_id":"SKU-001","quantity":1,"price":19.99}]}';

type StartOptions = LocalStackOptions & { statsPort: number; dataDir: string; fresh: boolean };

/** The environment variable each port comes from, for a port-in-use message. */
const PORT_VARIABLES = (options: StartOptions): [number, string][] => [
  [options.port, 'PORT (or --port)'],
  [options.emulatorPort, 'EMULATOR_PORT'],
  [options.statsPort, 'STATS_PORT'],
  [options.dynamodbPort ?? 0, 'DYNAMODB_PORT'],
];

function readOptions(argv: string[], env: NodeJS.ProcessEnv): StartOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      processor: { type: 'string', default: 'ecs' },
      port: { type: 'string' },
      'lambda-concurrency': { type: 'string' },
      fresh: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const mode = values.processor as ProcessorMode;
  if (!PROCESSOR_MODES.includes(mode)) {
    throw new ConfigError(`--processor must be one of ${PROCESSOR_MODES.join(', ')} (got "${values.processor}")`);
  }
  const reader = new EnvReader({
    ...env,
    ...(values.port ? { PORT: values.port } : {}),
    ...(values['lambda-concurrency'] ? { LAMBDA_CONCURRENCY: values['lambda-concurrency'] } : {}),
  });
  const lambdaConcurrency = reader.optionalInteger('LAMBDA_CONCURRENCY', 1, ACCOUNT_CONCURRENCY);
  return reader.done('local stack', {
    mode,
    port: reader.integer('PORT', 8080, 0, 65535),
    emulatorPort: reader.integer('EMULATOR_PORT', 4566, 0, 65535),
    statsPort: reader.integer('STATS_PORT', 4567, 0, 65535),
    dynamodbPort: reader.integer('DYNAMODB_PORT', 4568, 0, 65535),
    processingTimeMs: reader.integer('PROCESSING_TIME_MS', 3000, 0, 600_000),
    concurrency: reader.integer('PROCESSOR_CONCURRENCY', 100, 1, 1000),
    ...(lambdaConcurrency !== undefined ? { lambdaConcurrency } : {}),
    lambdaMemoryMb: reader.integer('LAMBDA_MEMORY_MB', messagingSettings.lambda.memorySizeMb, 128, 10_240),
    lambdaIdleTimeoutMs: reader.integer('LAMBDA_IDLE_SECONDS', DEFAULT_IDLE_TIMEOUT_MS / 1000, 1, 3600) * 1000,
    logLevel: reader.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    dataDir: resolve(reader.string('LOCAL_DATA_DIR', DEFAULT_DATA_DIR)),
    fresh: values.fresh ?? false,
  });
}

function banner(options: StartOptions, stack: Awaited<ReturnType<typeof startLocalStack>>, statsUrl: string): string {
  const paths = { ecs: 'SQS queue → ECS processor', lambda: 'SNS → Lambda (local invoker)', both: 'SQS queue → ECS processor and SNS → Lambda' };
  return [
    '',
    `ordersync is running locally (processor: ${options.mode}: ${paths[options.mode]})`,
    `  receiver        ${stack.receiverUrl}   GET /health, POST /orders/sync, POST /orders/async, GET /orders/{order_id}`,
    `  emulator        ${stack.emulatorUrl}   SNS + SQS (fauxqs)`,
    `  DynamoDB        ${stack.aws.dynamodbEndpoint ?? ''}   orders table ${stack.ordersTableName} (dynalite)`,
    `  topic           ${stack.resources.topicArn}`,
    `  orders queue    ${stack.resources.ordersQueueUrl}`,
    `  orders DLQ      ${stack.resources.ordersDeadLetterQueueUrl}`,
    `  Lambda failures ${stack.resources.lambdaFailureQueueUrl}`,
    `  processing      ${options.processingTimeMs} ms per order${options.mode === 'lambda' ? '' : `, ${options.concurrency} ECS workers`}`,
    ...(options.mode === 'ecs'
      ? []
      : [
          `  Lambda          ${options.lambdaMemoryMb} MB, ${options.lambdaConcurrency ? `reserved concurrency ${options.lambdaConcurrency}` : `unreserved (account limit ${ACCOUNT_CONCURRENCY})`}; cold starts: npm run logs -- --local --cold-starts`,
        ]),
    `  local state     ${options.dataDir}   (queued orders and the table survive a restart; --fresh starts empty)`,
    `  stats           ${statsUrl}   (what npm run monitor reads)`,
    '',
    'Send a first order:',
    `  curl -i -X POST ${stack.receiverUrl}/orders/async -H 'content-type: application/json' \\`,
    `    -d '${SEED_ORDER}'`,
    'and ask where it stands (the 202\'s Location):',
    `  curl -s ${stack.receiverUrl}/orders/001`,
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
    if (options.fresh) await rm(options.dataDir, { recursive: true, force: true });
    stack = await startLocalStack(options);
    const started = new Date().toISOString();
    const running = stack;
    stats = await startStatsServer(options.statsPort, () => ({
      started_at: started,
      processor: running.processor?.stats ?? null,
      lambda: running.invoker?.stats ?? null,
    }), () => running.invoker?.reports() ?? null).catch(async (error: unknown) => {
      await running.stop();
      throw error;
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const port = (error as { port?: number }).port;
    const variable = PORT_VARIABLES(options).find(([value]) => value === port)?.[1] ?? 'PORT, EMULATOR_PORT, STATS_PORT or DYNAMODB_PORT';
    const message =
      code === 'EADDRINUSE'
        ? `cannot start: port ${port ?? ''} is already in use (set ${variable} to another port)`
        : `cannot start: ${(error as Error).message}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
  process.stdout.write(banner(options, stack, stats.url));

  onStopSignals(
    (signal) => {
      process.stdout.write(`\n${signal}: stopping (in-flight orders finish first; Ctrl-C again to quit now)\n`);
      Promise.all([stats.stop(), stack.stop()]).then(
        ([, left]) => {
          process.stdout.write(`stopped${leftover(left)}\n`);
          process.exit(0);
        },
        (error: unknown) => {
          process.stderr.write(`stop failed: ${(error as Error).message}\n`);
          process.exit(1);
        },
      );
    },
    () => process.exit(130),
  );
}

/** What the queues still hold when the stack stops, and what becomes of it. */
function leftover(left: QueuedOrders): string {
  const parts = [
    ...(left.ecs ? [`${left.ecs} in the orders queue`] : []),
    ...(left.lambda ? [`${left.lambda} waiting for the Lambda`] : []),
  ];
  if (parts.length === 0) return ': no order left queued';
  return `: ${parts.join(', ')} left queued; the next npm start processes them (npm start -- --fresh discards them)`;
}

await main();
