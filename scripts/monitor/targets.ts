import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../lib/aws-clients.ts';
import type { AwsConfig } from '../../lib/config.ts';
import type { ConsumerStats } from '../../lib/queue-consumer.ts';
import type { LambdaStats } from '../../local/lambda-invoker.ts';
import { messagingSettings, resourceNames } from '../../lib/messaging-settings.ts';
import { localInvokerQueueName } from '../../local/provision.ts';
import { readQueueDepth, type QueueDepth } from '../../lib/queue-attributes.ts';

/** What one refresh of the monitor reads. */
export interface MonitorSample {
  at: number;
  queues: { name: string; url: string; depth: QueueDepth | undefined; error?: string }[];
  /** Orders processed so far (local counters) or in the last minutes (CloudWatch), per path. */
  processing: ProcessingReading;
}

export type ProcessingReading =
  | {
      kind: 'counters';
      ecs: ConsumerStats | null;
      /** The local Lambda's figures: invocations, environments (busy, alive, limit), cold starts, throttles, throttled events waiting. */
      lambda: LambdaStats | null;
      /**
       * The Lambda's asynchronous queue backlog: events not yet taken from the local event queue
       * plus throttled events waiting for their next try; absent without Lambda figures.
       */
      lambdaBacklog?: number;
      error?: string;
    }
  | { kind: 'cloudwatch'; ecsPerMinute: number[]; lambdaPerMinute: number[]; lambdaErrorsPerMinute: number[]; error?: string };

export interface MonitorTarget {
  description: string;
  sample(): Promise<MonitorSample>;
}

interface QueueRef {
  name: string;
  url: string;
}

async function readQueues(sqs: SQSClient, queues: QueueRef[]): Promise<MonitorSample['queues']> {
  return Promise.all(
    queues.map(async (queue) => {
      try {
        return { ...queue, depth: await readQueueDepth(sqs, queue.url) };
      } catch (error) {
        return { ...queue, depth: undefined, error: (error as Error).name };
      }
    }),
  );
}

/** The label of the local stand-in for Lambda's asynchronous event queue in the monitor's queue table. */
export const LAMBDA_EVENTS_QUEUE = 'Lambda events';

/** The local stack started by `npm start`: the emulator's queues and the stack's own counters. */
export async function localTarget(options: { endpoint: string; statsUrl: string; region: string }): Promise<MonitorTarget> {
  const aws: AwsConfig = { region: options.region, endpoint: options.endpoint };
  const sqs = createSqsClient(aws, { maxAttempts: 1, requestTimeoutMs: 2000 });
  const names = resourceNames('local');
  const wanted: [string, string][] = [
    ['orders', names.ordersQueue],
    ['orders DLQ', names.ordersDeadLetterQueue],
    ['Lambda failures', names.lambdaFailureQueue],
    [LAMBDA_EVENTS_QUEUE, localInvokerQueueName('local')],
  ];
  let queues: QueueRef[] | undefined;
  const resolveQueues = async () => {
    queues ??= await Promise.all(
      wanted.map(async ([label, queueName]) => {
        const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
        return { name: label, url: QueueUrl ?? '' };
      }),
    );
    return queues;
  };
  return {
    description: `local stack (emulator ${options.endpoint})`,
    async sample() {
      const at = Date.now();
      let resolved: QueueRef[];
      try {
        resolved = await resolveQueues();
      } catch (error) {
        const reason = `${(error as Error).name}: is npm start running?`;
        return {
          at,
          queues: wanted.map(([label]) => ({ name: label, url: '', depth: undefined, error: reason })),
          processing: { kind: 'counters', ecs: null, lambda: null, error: reason },
        };
      }
      const [queueReadings, processing] = await Promise.all([readQueues(sqs, resolved), readLocalCounters(options.statsUrl)]);
      const events = queueReadings.find((queue) => queue.name === LAMBDA_EVENTS_QUEUE)?.depth;
      if (processing.kind === 'counters' && processing.lambda && events) processing.lambdaBacklog = events.visible + processing.lambda.waiting;
      return { at, queues: queueReadings, processing };
    },
  };
}

async function readLocalCounters(statsUrl: string): Promise<ProcessingReading> {
  try {
    const response = await fetch(statsUrl, { signal: AbortSignal.timeout(1000) });
    const stats = (await response.json()) as { processor: ConsumerStats | null; lambda: LambdaStats | null };
    return { kind: 'counters', ecs: stats.processor, lambda: stats.lambda };
  } catch (error) {
    return { kind: 'counters', ecs: null, lambda: null, error: `no counters at ${statsUrl} (${(error as Error).name})` };
  }
}

/** The outputs of the stage's CloudFormation stack, by key. */
export async function stackOutputs(cloudFormation: CloudFormationClient, stackName: string): Promise<Record<string, string>> {
  const { Stacks = [] } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs: Record<string, string> = {};
  for (const output of Stacks[0]?.Outputs ?? []) {
    if (output.OutputKey && output.OutputValue) outputs[output.OutputKey] = output.OutputValue;
  }
  return outputs;
}

const MINUTES = 5;

function metric(id: string, namespace: string, name: string, dimension: [string, string]): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: { Namespace: namespace, MetricName: name, Dimensions: [{ Name: dimension[0], Value: dimension[1] }] },
      Period: 60,
      Stat: 'Sum',
    },
  };
}

/** A deployed stage: queues from the stack's outputs, processing rates from CloudWatch. */
export async function stageTarget(options: { stage: string; region: string }): Promise<MonitorTarget> {
  const aws: AwsConfig = { region: options.region, endpoint: undefined };
  const stackName = `${messagingSettings.service}-${options.stage}`;
  const outputs = await stackOutputs(new CloudFormationClient({ region: options.region }), stackName);
  const queues: QueueRef[] = [
    ['orders', outputs.OrdersQueueUrl],
    ['orders DLQ', outputs.OrdersDeadLetterQueueUrl],
    ['Lambda failures', outputs.LambdaFailureQueueUrl],
    ['Lambda subscription DLQ', outputs.LambdaSubscriptionDeadLetterQueueUrl],
  ]
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, url]) => ({ name, url }));
  if (queues.length === 0) throw new Error(`stack ${stackName} has no queue outputs: is it deployed in ${options.region}?`);
  const sqs = createSqsClient(aws, { maxAttempts: 2 });
  const cloudWatch = new CloudWatchClient({ region: options.region });
  const ordersQueueName = outputs.OrdersQueueUrl?.split('/').pop();
  const functionName = `${messagingSettings.service}-${options.stage}-${messagingSettings.lambda.functionName}`;
  let lastMetrics: { at: number; reading: ProcessingReading } | undefined;

  const readMetrics = async (): Promise<ProcessingReading> => {
    // CloudWatch has one-minute points at best: read them at most every 30 s.
    if (lastMetrics && Date.now() - lastMetrics.at < 30_000) return lastMetrics.reading;
    const end = new Date();
    const start = new Date(end.getTime() - MINUTES * 60_000);
    const queries = [
      ...(ordersQueueName ? [metric('ecs', 'AWS/SQS', 'NumberOfMessagesDeleted', ['QueueName', ordersQueueName])] : []),
      metric('lambda', 'AWS/Lambda', 'Invocations', ['FunctionName', functionName]),
      metric('errors', 'AWS/Lambda', 'Errors', ['FunctionName', functionName]),
    ];
    try {
      const { MetricDataResults = [] } = await cloudWatch.send(
        new GetMetricDataCommand({ StartTime: start, EndTime: end, MetricDataQueries: queries, ScanBy: 'TimestampAscending' }),
      );
      const values = (id: string) => MetricDataResults.find((result) => result.Id === id)?.Values ?? [];
      const reading: ProcessingReading = {
        kind: 'cloudwatch',
        ecsPerMinute: values('ecs'),
        lambdaPerMinute: values('lambda'),
        lambdaErrorsPerMinute: values('errors'),
      };
      lastMetrics = { at: Date.now(), reading };
      return reading;
    } catch (error) {
      return { kind: 'cloudwatch', ecsPerMinute: [], lambdaPerMinute: [], lambdaErrorsPerMinute: [], error: (error as Error).name };
    }
  };

  return {
    description: `stage ${options.stage} (stack ${stackName}, ${options.region})`,
    async sample() {
      const at = Date.now();
      const [queueReadings, processing] = await Promise.all([readQueues(sqs, queues), readMetrics()]);
      return { at, queues: queueReadings, processing };
    },
  };
}
