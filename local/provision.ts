import {
  CreateTopicCommand,
  ListSubscriptionsByTopicCommand,
  SubscribeCommand,
  UnsubscribeCommand,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { messagingSettings, resourceNames } from '../lib/messaging-settings.ts';

export const PROCESSOR_MODES = ['ecs', 'lambda', 'both'] as const;
export type ProcessorMode = (typeof PROCESSOR_MODES)[number];

export interface ProvisionedResources {
  topicArn: string;
  ordersQueueUrl: string;
  ordersDeadLetterQueueUrl: string;
  lambdaFailureQueueUrl: string;
  /** Local only: the queue through which the local invoker receives the topic's notifications. */
  lambdaInvokerQueueUrl: string;
  lambdaSubscriptionArn: string | undefined;
}

/** Local only: the queue standing in for Lambda's asynchronous event queue (the local invoker drains it). */
export function localInvokerQueueName(stage: string): string {
  return `${resourceNames(stage).topic}-local-lambda-invoker`;
}

export interface ProvisionOptions {
  sns: SNSClient;
  sqs: SQSClient;
  stage: string;
  mode: ProcessorMode;
  /** Overrides the orders queue's visibility timeout (tests shorten it). */
  visibilityTimeoutSeconds?: number;
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`queue ${name} was not created`);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl, arn: Attributes?.QueueArn ?? '' };
}

/**
 * Creates, through the real SNS and SQS APIs, what serverless.yml declares for the messaging
 * layer, with the same names and settings (resources/messaging.json): the topic, the orders
 * queue and its dead-letter queue with the redrive policy, the Lambda's failure queue, and the
 * subscriptions the processor mode asks for (raw delivery to the orders queue for `ecs`).
 */
export async function provisionMessaging(options: ProvisionOptions): Promise<ProvisionedResources> {
  const { sns, sqs, stage, mode } = options;
  const names = resourceNames(stage);
  const settings = messagingSettings;

  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: names.topic }));
  if (!TopicArn) throw new Error(`topic ${names.topic} was not created`);

  const dlq = await createQueue(sqs, names.ordersDeadLetterQueue, {
    MessageRetentionPeriod: String(settings.ordersDeadLetterQueue.messageRetentionSeconds),
  });
  const orders = await createQueue(sqs, names.ordersQueue, {
    VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? settings.ordersQueue.visibilityTimeoutSeconds),
    ReceiveMessageWaitTimeSeconds: String(settings.ordersQueue.receiveWaitTimeSeconds),
    MessageRetentionPeriod: String(settings.ordersQueue.messageRetentionSeconds),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlq.arn,
      maxReceiveCount: settings.ordersDeadLetterQueue.maxReceiveCount,
    }),
  });
  const lambdaFailures = await createQueue(sqs, names.lambdaFailureQueue, {
    MessageRetentionPeriod: String(settings.lambdaFailureQueue.messageRetentionSeconds),
  });
  const invoker = await createQueue(sqs, localInvokerQueueName(stage), { VisibilityTimeout: '60' });

  if (mode === 'ecs' || mode === 'both') {
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'sqs',
        Endpoint: orders.arn,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
  }
  let lambdaSubscriptionArn: string | undefined;
  if (mode === 'lambda' || mode === 'both') {
    // The emulator cannot call a Lambda: an envelope (non-raw) subscription stands in for SNS's
    // Lambda subscription, and the local invoker turns each envelope into an SNSEvent.
    const { SubscriptionArn } = await sns.send(
      new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: invoker.arn, Attributes: { RawMessageDelivery: 'false' } }),
    );
    lambdaSubscriptionArn = SubscriptionArn;
  }

  // The emulator may resume an earlier run's state (npm start keeps it): a subscription that
  // run's mode made and this one does not use would keep filling a queue nobody drains.
  const unused = new Set([
    ...(mode === 'lambda' ? [orders.arn] : []),
    ...(mode === 'ecs' ? [invoker.arn] : []),
  ]);
  const { Subscriptions = [] } = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
  for (const subscription of Subscriptions) {
    if (subscription.Endpoint && unused.has(subscription.Endpoint) && subscription.SubscriptionArn) {
      await sns.send(new UnsubscribeCommand({ SubscriptionArn: subscription.SubscriptionArn }));
    }
  }

  return {
    topicArn: TopicArn,
    ordersQueueUrl: orders.url,
    ordersDeadLetterQueueUrl: dlq.url,
    lambdaFailureQueueUrl: lambdaFailures.url,
    lambdaInvokerQueueUrl: invoker.url,
    lambdaSubscriptionArn,
  };
}
