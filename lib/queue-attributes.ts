import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** What a consumer needs to know about its queue, read from the queue itself. */
export interface QueueAttributes {
  visibilityTimeoutSeconds: number;
  /** Receives after which SQS moves a message to the dead-letter queue; undefined without one. */
  maxReceiveCount: number | undefined;
  deadLetterTargetArn: string | undefined;
}

export async function readQueueAttributes(sqs: SQSClient, queueUrl: string, signal?: AbortSignal): Promise<QueueAttributes> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'] }),
    signal ? { abortSignal: signal } : {},
  );
  const redrive = Attributes.RedrivePolicy
    ? (JSON.parse(Attributes.RedrivePolicy) as { maxReceiveCount?: number | string; deadLetterTargetArn?: string })
    : undefined;
  return {
    visibilityTimeoutSeconds: Number(Attributes.VisibilityTimeout ?? 30),
    maxReceiveCount: redrive?.maxReceiveCount !== undefined ? Number(redrive.maxReceiveCount) : undefined,
    deadLetterTargetArn: redrive?.deadLetterTargetArn,
  };
}

export interface QueueDepth {
  /** Messages waiting to be received. */
  visible: number;
  /** Messages received and not yet deleted or given back. */
  inFlight: number;
  delayed: number;
}

/** SQS's approximate counts for a queue: what an operator watches during a load. */
export async function readQueueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}
