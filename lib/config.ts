import { ConfigError } from './errors.ts';

/**
 * Configuration from the environment, validated once at start-up. Every problem is collected
 * and reported together in plain words: "PROCESSOR_CONCURRENCY must be an integer from 1 to
 * 1000 (got "abc")".
 */
export type Env = Record<string, string | undefined>;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AwsConfig {
  region: string;
  /** Set only for a local emulator; on AWS the SDK finds the service endpoints itself. */
  endpoint: string | undefined;
  /**
   * DynamoDB's own endpoint, when it differs from `endpoint` (locally: dynalite beside fauxqs).
   * AWS_ENDPOINT_URL_DYNAMODB, the SDK's own name for it; `endpoint` when unset.
   */
  dynamodbEndpoint?: string | undefined;
}

export interface CommonConfig {
  logLevel: LogLevel;
  processingTimeMs: number;
  aws: AwsConfig;
  /** The orders table (resources/orders-table.json): accepted records, claims, outcomes. */
  ordersTableName: string;
}

export interface ReceiverConfig extends CommonConfig {
  port: number;
  topicArn: string;
  /** Drain deadline after SIGTERM: every request in progress is answered by then. */
  shutdownTimeoutMs: number;
  /** A request body must arrive whole within this long after its headers, or is answered 408. */
  bodyTimeoutMs: number;
  /** A publish to SNS, all SDK attempts together, gives up after this long (503). */
  publishTimeoutMs: number;
  /** Connections served at once; requests on connections beyond it are answered 503. */
  maxConnections: number;
}

export interface ProcessorConfig extends CommonConfig {
  queueUrl: string;
  concurrency: number;
  waitTimeSeconds: number;
  retryDelaySeconds: number;
  shutdownTimeoutMs: number;
  /** Where the liveness heartbeat is written for the container health check; none when unset. */
  heartbeatFile?: string | undefined;
}

export type LambdaConfig = Pick<CommonConfig, 'logLevel' | 'processingTimeMs' | 'ordersTableName' | 'aws'>;

/** Reads variables and remembers every problem, so one start-up reports them all. */
export class EnvReader {
  readonly problems: string[] = [];
  private readonly env: Env;

  constructor(env: Env) {
    this.env = env;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = Number(raw.trim());
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  /** An integer within [min, max], or undefined when the variable is not set. */
  optionalInteger(name: string, min: number, max: number): number | undefined {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    const before = this.problems.length;
    const value = this.integer(name, min, min, max);
    return this.problems.length > before ? undefined : value;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = raw.trim().toLowerCase();
    if (!(allowed as readonly string[]).includes(value)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return value as T;
  }

  string(name: string, fallback: string): string {
    const raw = this.env[name]?.trim();
    return raw ? raw : fallback;
  }

  required(name: string, pattern: RegExp, shape: string): string {
    const raw = this.env[name]?.trim();
    if (!raw) {
      this.problems.push(`${name} is required (${shape})`);
      return '';
    }
    if (!pattern.test(raw)) this.problems.push(`${name} must be ${shape} (got "${raw}")`);
    return raw;
  }

  optionalUrl(name: string): string | undefined {
    const raw = this.env[name]?.trim();
    if (!raw) return undefined;
    if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) {
      this.problems.push(`${name} must be an http(s) URL (got "${raw}")`);
      return undefined;
    }
    return raw;
  }

  done<T>(component: string, value: T): T {
    if (this.problems.length > 0) {
      throw new ConfigError(`invalid ${component} configuration:\n  - ${this.problems.join('\n  - ')}`);
    }
    return value;
  }
}

/** DynamoDB's rule for table names: 3 to 255 of letters, digits, `_`, `-` and `.`. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

function readCommon(reader: EnvReader): CommonConfig {
  const endpoint = reader.optionalUrl('AWS_ENDPOINT_URL');
  return {
    logLevel: reader.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    processingTimeMs: reader.integer('PROCESSING_TIME_MS', 3000, 0, 600_000),
    aws: {
      region: reader.string('AWS_REGION', reader.string('AWS_DEFAULT_REGION', 'us-east-1')),
      endpoint,
      dynamodbEndpoint: reader.optionalUrl('AWS_ENDPOINT_URL_DYNAMODB') ?? endpoint,
    },
    ordersTableName: reader.required('ORDERS_TABLE_NAME', TABLE_NAME, 'a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ - .)'),
  };
}

export function loadReceiverConfig(env: Env = process.env): ReceiverConfig {
  const reader = new EnvReader(env);
  return reader.done('receiver', {
    ...readCommon(reader),
    port: reader.integer('PORT', 8080, 0, 65535),
    topicArn: reader.required('ORDERS_TOPIC_ARN', /^arn:aws[a-z-]*:sns:/, 'an SNS topic ARN, arn:aws:sns:...'),
    shutdownTimeoutMs: reader.integer('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 120_000),
    bodyTimeoutMs: reader.integer('BODY_TIMEOUT_MS', 10_000, 100, 60_000),
    publishTimeoutMs: reader.integer('PUBLISH_TIMEOUT_MS', 6_000, 100, 60_000),
    maxConnections: reader.integer('MAX_CONNECTIONS', 1_000, 1, 100_000),
  });
}

export function loadProcessorConfig(env: Env = process.env): ProcessorConfig {
  const reader = new EnvReader(env);
  return reader.done('processor', {
    ...readCommon(reader),
    queueUrl: reader.required('ORDERS_QUEUE_URL', /^https?:\/\/\S+\/\d+\/\S+$/, 'an SQS queue URL, https://sqs.REGION.amazonaws.com/ACCOUNT/NAME'),
    concurrency: reader.integer('PROCESSOR_CONCURRENCY', 100, 1, 1000),
    waitTimeSeconds: reader.integer('PROCESSOR_WAIT_TIME_SECONDS', 20, 0, 20),
    retryDelaySeconds: reader.integer('PROCESSOR_RETRY_DELAY_SECONDS', 1, 0, 900),
    shutdownTimeoutMs: reader.integer('SHUTDOWN_TIMEOUT_MS', 25_000, 0, 110_000),
    heartbeatFile: reader.string('HEARTBEAT_FILE', '') || undefined,
  });
}

export function loadLambdaConfig(env: Env = process.env): LambdaConfig {
  const reader = new EnvReader(env);
  const { logLevel, processingTimeMs, ordersTableName, aws } = readCommon(reader);
  return reader.done('lambda', { logLevel, processingTimeMs, ordersTableName, aws });
}
