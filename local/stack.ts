import { pino, type DestinationStream } from 'pino';
import { createDynamoDbClient, createSnsClient, createSqsClient } from '../lib/aws-clients.ts';
import type { AwsConfig, LogLevel, ProcessorConfig } from '../lib/config.ts';
import { createLogger } from '../lib/logger.ts';
import { messagingSettings } from '../lib/messaging-settings.ts';
import { readQueueDepth } from '../lib/queue-attributes.ts';
import type { QueueConsumer } from '../lib/queue-consumer.ts';
import { createProcessor } from '../containers/processor/processor.ts';
import { createOrderIntake } from '../containers/receiver/order-intake.ts';
import { startReceiver, type ReceiverServer } from '../containers/receiver/server.ts';
import { createOrdersTable, startDynamoEmulator, type DynamoEmulator } from './dynamodb-emulator.ts';
import { startEmulator, type Emulator } from './emulator.ts';
import { LocalLambdaInvoker } from './lambda-invoker.ts';
import { ACCOUNT_CONCURRENCY } from './lambda-runtime/function-environments.ts';
import { localLambdaBundle } from './lambda-runtime/lambda-bundle.ts';
import { processOrderFunction } from './lambda-runtime/process-order-function.ts';
import { provisionMessaging, type ProcessorMode, type ProvisionedResources } from './provision.ts';

export interface LocalStackOptions {
  mode: ProcessorMode;
  /** Receiver port; 0 picks a free one. */
  port: number;
  /** Emulator port; 0 picks a free one. Ignored when `emulatorEndpoint` is given. */
  emulatorPort: number;
  /** Use an emulator that is already running instead of starting one. */
  emulatorEndpoint?: string;
  /** Use a DynamoDB emulator that is already running instead of starting dynalite. */
  dynamodbEndpoint?: string;
  /** dynalite's port; 0 (the default) picks a free one. Ignored when `dynamodbEndpoint` is given. */
  dynamodbPort?: number;
  /** Where the emulator keeps its state, so that a later start resumes it (in memory when absent). */
  dataDir?: string;
  processingTimeMs: number;
  concurrency: number;
  logLevel: LogLevel;
  stage?: string;
  region?: string;
  /** Where log lines go (standard output when absent). */
  logDestination?: DestinationStream;
  /** Test knobs, defaulting to the deployed values. */
  visibilityTimeoutSeconds?: number;
  retryDelaySeconds?: number;
  waitTimeSeconds?: number;
  shutdownTimeoutMs?: number;
  lambdaRetryDelaysMs?: number[];
  lambdaTimeoutMs?: number;
  /** The function's reserved concurrency (serverless.yml: lambdaReservedConcurrency); unset, the account's limit (1000). */
  lambdaConcurrency?: number;
  /** The function's memory size (serverless.yml: lambdaMemoryMb). */
  lambdaMemoryMb?: number;
  /** How long an idle execution environment is kept (default 5 minutes). */
  lambdaIdleTimeoutMs?: number;
  /** Throttled events' backoff (default Lambda's: 1 s doubling to 5 minutes). */
  lambdaThrottleBackoff?: { initialMs: number; maxMs: number };
  /** Start no ECS processor even when the mode has one (tests run it as a separate process). */
  skipProcessor?: boolean;
  /** How much longer than the processing time the ECS processor's claims last (default: containers/processor/order-worker.ts). */
  leaseMarginMs?: number;
}

export interface LocalStack {
  receiverUrl: string;
  emulatorUrl: string;
  /** Both endpoints: `endpoint` for SNS/SQS (fauxqs), `dynamodbEndpoint` for DynamoDB (dynalite). */
  aws: AwsConfig;
  resources: ProvisionedResources;
  /** The stage's orders table, created from resources/orders-table.json. */
  ordersTableName: string;
  emulator: Emulator | undefined;
  dynamodb: DynamoEmulator | undefined;
  processor: QueueConsumer | undefined;
  invoker: LocalLambdaInvoker | undefined;
  receiver: ReceiverServer;
  /**
   * Receiver first (no new orders), then the workers drain, then the emulator. Says how many
   * orders the queues still hold: with a data folder, the next start resumes them.
   */
  stop(): Promise<QueuedOrders>;
}

/** Orders still queued when the stack stopped, per path that drains a queue. */
export interface QueuedOrders {
  ecs?: number;
  lambda?: number;
}

/** Messages a queue holds: waiting, in flight (back when their visibility ends) and delayed. */
async function queued(sqs: ReturnType<typeof createSqsClient>, queueUrl: string): Promise<number> {
  const { visible, inFlight, delayed } = await readQueueDepth(sqs, queueUrl);
  return visible + inFlight + delayed;
}

/**
 * The whole pipeline on one machine: the SNS/SQS emulator, the messaging resources of
 * serverless.yml, the receiver, and per mode the ECS processor and the local Lambda invoker.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const stage = options.stage ?? 'local';
  const logger = (component: string) =>
    createLogger({ component, level: options.logLevel, ...(options.logDestination ? { destination: options.logDestination } : {}) });

  const emulator = options.emulatorEndpoint ? undefined : await startEmulator(options.emulatorPort, options.dataDir);
  const emulatorUrl = options.emulatorEndpoint ?? emulator?.url ?? '';
  let dynamodb: DynamoEmulator | undefined;
  const started: { stop(): Promise<unknown> }[] = [];

  try {
    // DynamoDB on a port of its own (dynalite), its data beside fauxqs's in the same folder.
    dynamodb = options.dynamodbEndpoint
      ? undefined
      : await startDynamoEmulator({ port: options.dynamodbPort ?? 0, ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}) });
    const aws: AwsConfig = { region: options.region ?? 'us-east-1', endpoint: emulatorUrl, dynamodbEndpoint: options.dynamodbEndpoint ?? dynamodb?.url };
    const ordersTableName = await createOrdersTable(createDynamoDbClient(aws), stage);
    const sqs = createSqsClient(aws);
    const resources = await provisionMessaging({
      sns: createSnsClient(aws),
      sqs,
      stage,
      mode: options.mode,
      ...(options.visibilityTimeoutSeconds !== undefined ? { visibilityTimeoutSeconds: options.visibilityTimeoutSeconds } : {}),
    });

    let processor: QueueConsumer | undefined;
    if (options.mode !== 'lambda' && !options.skipProcessor) {
      const processorConfig: ProcessorConfig = {
        aws,
        logLevel: options.logLevel,
        processingTimeMs: options.processingTimeMs,
        ordersTableName,
        queueUrl: resources.ordersQueueUrl,
        concurrency: options.concurrency,
        waitTimeSeconds: options.waitTimeSeconds ?? messagingSettings.ordersQueue.receiveWaitTimeSeconds,
        retryDelaySeconds: options.retryDelaySeconds ?? 1,
        shutdownTimeoutMs: options.shutdownTimeoutMs ?? 5000,
      };
      processor = createProcessor(processorConfig, logger('processor'), options.leaseMarginMs !== undefined ? { leaseMarginMs: options.leaseMarginMs } : {});
      processor.start();
      started.push(processor);
    }

    let invoker: LocalLambdaInvoker | undefined;
    if (options.mode !== 'ecs') {
      const bundle = await localLambdaBundle();
      const lambdaSettings = messagingSettings.lambda;
      const destination = options.logDestination ?? pino.destination({ dest: 1, sync: true });
      invoker = new LocalLambdaInvoker({
        sqs: createSqsClient(aws, { requestTimeoutMs: 30_000, maxAttempts: 1 }),
        queueUrl: resources.lambdaInvokerQueueUrl,
        failureQueueUrl: resources.lambdaFailureQueueUrl,
        subscriptionArn: resources.lambdaSubscriptionArn ?? '',
        function: {
          ...processOrderFunction({
            stage,
            modulePath: bundle.outfile,
            processingTimeMs: options.processingTimeMs,
            logLevel: options.logLevel,
            ordersTableName,
            dynamodbEndpoint: aws.dynamodbEndpoint,
            region: aws.region,
            ...(options.lambdaMemoryMb !== undefined ? { memorySizeMb: options.lambdaMemoryMb } : {}),
            timeoutMs: options.lambdaTimeoutMs ?? Math.max(lambdaSettings.timeoutSeconds * 1000, options.processingTimeMs * 2),
          }),
          concurrencyLimit: options.lambdaConcurrency ?? ACCOUNT_CONCURRENCY,
          ...(options.lambdaIdleTimeoutMs !== undefined ? { idleTimeoutMs: options.lambdaIdleTimeoutMs } : {}),
          write: (line) => destination.write(`${line}\n`),
        },
        logger: logger('lambda-invoker'),
        retryDelaysMs: options.lambdaRetryDelaysMs ?? [1000, 2000].slice(0, lambdaSettings.maximumRetryAttempts),
        ...(options.lambdaThrottleBackoff ? { throttleBackoff: options.lambdaThrottleBackoff } : {}),
      });
      invoker.start();
      started.push(invoker);
    }

    const receiver = await startReceiver({
      port: options.port,
      host: '127.0.0.1',
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? 5000,
      logger: logger('receiver'),
      processingTimeMs: options.processingTimeMs,
      orders: createOrderIntake({ aws, topicArn: resources.topicArn, ordersTableName, logger: logger('receiver') }),
    });

    let stopped: Promise<QueuedOrders> | undefined;
    const stop = () => {
      stopped ??= (async () => {
        await receiver.stop();
        await Promise.all(started.map((component) => component.stop()));
        const left: QueuedOrders = {};
        try {
          if (options.mode !== 'lambda') left.ecs = await queued(sqs, resources.ordersQueueUrl);
          if (options.mode !== 'ecs') left.lambda = await queued(sqs, resources.lambdaInvokerQueueUrl);
        } finally {
          await Promise.all([emulator?.stop(), dynamodb?.stop()]);
        }
        return left;
      })();
      return stopped;
    };
    return { receiverUrl: receiver.url, emulatorUrl, aws, resources, ordersTableName, emulator, dynamodb, processor, invoker, receiver, stop };
  } catch (error) {
    await Promise.all(started.map((component) => component.stop()));
    await Promise.all([emulator?.stop(), dynamodb?.stop()]);
    throw error;
  }
}
