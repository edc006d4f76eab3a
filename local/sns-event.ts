import { randomUUID } from 'node:crypto';
import type { Context, SNSEvent, SNSMessage, SNSMessageAttributes } from 'aws-lambda';

/** The JSON body SNS puts on an SQS queue without raw delivery. */
export interface SnsEnvelope {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Subject?: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  UnsubscribeURL: string;
  MessageAttributes?: SNSMessageAttributes;
}

/** An SNSEvent with one record, as Lambda receives it from an SNS subscription. */
export function snsEventFromEnvelope(envelope: SnsEnvelope, subscriptionArn: string): SNSEvent {
  const sns: SNSMessage = {
    Type: envelope.Type,
    MessageId: envelope.MessageId,
    TopicArn: envelope.TopicArn,
    Subject: envelope.Subject ?? (null as unknown as string), // SNS sends null when there is no subject
    Message: envelope.Message,
    Timestamp: envelope.Timestamp,
    SignatureVersion: envelope.SignatureVersion,
    Signature: envelope.Signature,
    SigningCertUrl: envelope.SigningCertURL,
    UnsubscribeUrl: envelope.UnsubscribeURL,
    MessageAttributes: envelope.MessageAttributes ?? {},
  };
  return { Records: [{ EventSource: 'aws:sns', EventVersion: '1.0', EventSubscriptionArn: subscriptionArn, Sns: sns }] };
}

/** Record factory for tests and tools: the SNSEvent a published message would produce. */
export function snsEventFor(
  message: string,
  options: { topicArn?: string; attributes?: Record<string, string>; messageId?: string } = {},
): SNSEvent {
  const topicArn = options.topicArn ?? 'arn:aws:sns:us-east-1:000000000000:ordersync-test-orders';
  const attributes: SNSMessageAttributes = {};
  for (const [name, value] of Object.entries(options.attributes ?? {})) attributes[name] = { Type: 'String', Value: value };
  return snsEventFromEnvelope(
    {
      Type: 'Notification',
      MessageId: options.messageId ?? randomUUID(),
      TopicArn: topicArn,
      Message: message,
      Timestamp: new Date().toISOString(),
      SignatureVersion: '1',
      Signature: 'EXAMPLE',
      SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem',
      UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:local`,
      MessageAttributes: attributes,
    },
    `${topicArn}:${randomUUID()}`,
  );
}

/** A Lambda Context for one invocation, with a remaining-time clock. */
export function lambdaContext(functionName: string, timeoutMs: number, region = 'us-east-1'): Context {
  const deadline = Date.now() + timeoutMs;
  const awsRequestId = randomUUID();
  const unsupported = () => {
    throw new Error('callback-style completion is not supported; return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${awsRequestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
