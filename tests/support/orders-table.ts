import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../lib/aws-clients.ts';
import type { AwsConfig } from '../../lib/config.ts';
import type { Logger } from '../../lib/logger.ts';
import { OrderIntake } from '../../containers/receiver/order-intake.ts';
import type { OrderPublisher } from '../../containers/receiver/order-publisher.ts';
import { createOrdersTable, startDynamoEmulator, type DynamoEmulator } from '../../local/dynamodb-emulator.ts';

/** Where an orders table is: the stack's, or one of a test's own. */
export interface OrdersTableAt {
  aws: AwsConfig;
  tableName: string;
}

/**
 * The receiver's intake over an orders table with the given publisher (a real one, or a test's
 * faulty one): what containers/receiver/order-intake.ts's createOrderIntake builds, with the
 * publisher swapped.
 */
export function intakeWith(
  table: OrdersTableAt,
  publisher: OrderPublisher,
  {
    timeoutMs = 6000,
    now,
    logger,
    dynamodb,
  }: {
    timeoutMs?: number;
    now?: () => number;
    logger?: Logger;
    /** The table's client, when the test watches or faults it (SDK middleware); one of its own otherwise. */
    dynamodb?: DynamoDBClient;
  } = {},
): OrderIntake {
  return new OrderIntake({
    publisher,
    dynamodb: dynamodb ?? createDynamoDbClient(table.aws, { maxAttempts: 1, requestTimeoutMs: 5000 }),
    tableName: table.tableName,
    timeoutMs,
    logger,
    ...(now ? { now } : {}),
  });
}

/** dynalite in this process (in memory) with a stage's orders table, for tests without a stack. */
export interface TestOrdersTable extends OrdersTableAt {
  emulator: DynamoEmulator;
  /** Another, empty orders table on the same emulator: a test that must not find earlier tests' orders. */
  fresh(): Promise<OrdersTableAt>;
  stop(): Promise<void>;
}

export async function startTestOrdersTable(stage = 'test'): Promise<TestOrdersTable> {
  const emulator = await startDynamoEmulator();
  const aws: AwsConfig = { region: 'us-east-1', endpoint: undefined, dynamodbEndpoint: emulator.url };
  const dynamodb = createDynamoDbClient(aws);
  const tableName = await createOrdersTable(dynamodb, stage);
  let tables = 0;
  return {
    emulator,
    aws,
    tableName,
    fresh: async () => ({ aws, tableName: await createOrdersTable(dynamodb, `${stage}${(tables += 1)}`) }),
    stop: () => emulator.stop(),
  };
}

/** The stack's table, as `intakeWith` takes it. */
export function stackTable(stack: { aws: AwsConfig; ordersTableName: string }): OrdersTableAt {
  return { aws: stack.aws, tableName: stack.ordersTableName };
}
