import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsConfig } from './config.ts';

/** Credentials for a local emulator, which accepts any; on AWS the default provider chain runs. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface ClientOptions {
  /** Milliseconds before a request with no answer fails (long polls add their wait to this). */
  requestTimeoutMs?: number;
  /** Attempts including the first, with the SDK's standard backoff between them. */
  maxAttempts?: number;
  /**
   * Sockets the client keeps open to the service at most (keep-alive); requests beyond them wait
   * in the client for one to free. The SDK's default is 50.
   */
  maxSockets?: number;
}

function clientConfig(aws: AwsConfig, { requestTimeoutMs = 5000, maxAttempts = 3, maxSockets = 50 }: ClientOptions) {
  const local = aws.endpoint !== undefined;
  const agent = { keepAlive: true, maxSockets };
  return {
    region: aws.region,
    maxAttempts,
    requestHandler: { connectionTimeout: 2000, requestTimeout: requestTimeoutMs, httpAgent: agent, httpsAgent: agent },
    ...(local ? { endpoint: aws.endpoint } : {}),
    ...(local && !process.env.AWS_ACCESS_KEY_ID ? { credentials: LOCAL_CREDENTIALS } : {}),
  };
}

/** The one place SNS clients are made: the same code talks to AWS or to the local emulator. */
export function createSnsClient(aws: AwsConfig, options: ClientOptions = {}): SNSClient {
  return new SNSClient(clientConfig(aws, options));
}

/** The one place SQS clients are made: the same code talks to AWS or to the local emulator. */
export function createSqsClient(aws: AwsConfig, options: ClientOptions = {}): SQSClient {
  return new SQSClient(clientConfig(aws, options));
}

/** The one place DynamoDB clients are made: the same code talks to AWS or to the local emulator. */
export function createDynamoDbClient(aws: AwsConfig, options: ClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(clientConfig({ ...aws, endpoint: aws.dynamodbEndpoint ?? aws.endpoint }, options));
}
