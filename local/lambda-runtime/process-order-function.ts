import type { LogLevel } from '../../lib/config.ts';
import { messagingSettings, stagePrefix } from '../../lib/messaging-settings.ts';
import type { FunctionSettings } from './execution-environment.ts';
import { HANDLER_NAME } from './lambda-bundle.ts';

export interface ProcessOrderFunctionOptions {
  stage: string;
  /** The built bundle (lambda-bundle.ts). */
  modulePath: string;
  processingTimeMs: number;
  logLevel: LogLevel;
  /** The orders table (serverless.yml: ORDERS_TABLE_NAME, a Ref to the stage's table). */
  ordersTableName: string;
  /** DynamoDB's endpoint locally (AWS_ENDPOINT_URL_DYNAMODB); unset on AWS. */
  dynamodbEndpoint?: string | undefined;
  region?: string;
  /** Defaults: resources/messaging.json's memory size and timeout, as serverless.yml deploys them. */
  memorySizeMb?: number;
  timeoutMs?: number;
}

/**
 * serverless.yml's `processOrder` as an execution environment runs it: its name, handler, memory
 * size, timeout and environment variables. The one definition the local stack and the benchmark
 * share, so that both run the function as it is deployed.
 */
export function processOrderFunction(options: ProcessOrderFunctionOptions): FunctionSettings {
  const lambda = messagingSettings.lambda;
  return {
    functionName: `${stagePrefix(options.stage)}-${lambda.functionName}`,
    modulePath: options.modulePath,
    handlerName: HANDLER_NAME,
    memorySizeMb: options.memorySizeMb ?? lambda.memorySizeMb,
    timeoutMs: options.timeoutMs ?? lambda.timeoutSeconds * 1000,
    environment: {
      PROCESSING_TIME_MS: String(options.processingTimeMs),
      LOG_LEVEL: options.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
      ORDERS_TABLE_NAME: options.ordersTableName,
      ...(options.dynamodbEndpoint ? { AWS_ENDPOINT_URL_DYNAMODB: options.dynamodbEndpoint } : {}),
    },
    ...(options.region ? { region: options.region } : {}),
  };
}
