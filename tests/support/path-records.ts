import { setTimeout as sleep } from 'node:timers/promises';
import { createDynamoDbClient } from '../../lib/aws-clients.ts';
import type { AwsConfig } from '../../lib/config.ts';
import { OrderRecords, type PathStatus, type ProcessingPath } from '../../lib/order-records.ts';
import { createOrdersTable, startDynamoEmulator, type DynamoEmulator } from '../../local/dynamodb-emulator.ts';

/** The order store on a table: the stack's, or a test's own. */
export function recordsAt(table: { aws: AwsConfig; ordersTableName: string }, options: { now?: () => number } = {}): OrderRecords {
  return new OrderRecords({ dynamodb: createDynamoDbClient(table.aws), tableName: table.ordersTableName, ...options });
}

/** dynalite in this process (in memory) with one stage's orders table, for tests without a stack. */
export interface ClaimsTable {
  emulator: DynamoEmulator;
  aws: AwsConfig;
  ordersTableName: string;
  records: OrderRecords;
  stop(): Promise<void>;
}

export async function startClaimsTable(stage = 'claims'): Promise<ClaimsTable> {
  const emulator = await startDynamoEmulator();
  const aws: AwsConfig = { region: 'us-east-1', endpoint: undefined, dynamodbEndpoint: emulator.url };
  const ordersTableName = await createOrdersTable(createDynamoDbClient(aws), stage);
  return { emulator, aws, ordersTableName, records: recordsAt({ aws, ordersTableName }), stop: () => emulator.stop() };
}

/**
 * Watches one path's record of some orders through `OrderRecords.status` (a consistent read every
 * `everyMs`, and once more when stopped) and keeps every status it saw change, in order: the
 * transitions as a client of the status resource would see them.
 */
export function watchStatuses(records: OrderRecords, path: ProcessingPath, orderIds: string[], everyMs = 25) {
  const seen = new Map<string, (PathStatus | 'absent')[]>(orderIds.map((id) => [id, []]));
  let running = true;
  const read = () =>
    Promise.all(
      orderIds.map(async (id) => {
        const status = (await records.status(id))?.paths[path]?.status ?? 'absent';
        const list = seen.get(id) ?? [];
        if (list.at(-1) !== status) list.push(status);
      }),
    );
  const done = (async () => {
    while (running) {
      await read();
      await sleep(everyMs);
    }
    // One more read after stop(): what was written before it is seen.
    await read();
  })();
  return {
    seen: (id: string) => seen.get(id) ?? [],
    async stop(): Promise<void> {
      running = false;
      await done;
    },
  };
}
