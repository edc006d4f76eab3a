import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  PutItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { createDynamoDbClient } from '../../lib/aws-clients.ts';
import {
  createOrdersTable,
  DYNAMO_SUBDIRECTORY,
  ordersTableName,
  ordersTableSettings as settings,
  startDynamoEmulator,
  type DynamoEmulator,
} from '../../local/dynamodb-emulator.ts';

/**
 * The local DynamoDB emulator (dynalite in process, local/dynamodb-emulator.ts) with the real
 * @aws-sdk/client-dynamodb: the orders table made from resources/orders-table.json, the
 * conditional write the order claims rely on, persistence in a data directory, and a stop that
 * frees the port and leaves nothing running (mocha runs without --exit: it would hang otherwise).
 */
const STAGE = 'emulatortest';
const TABLE = ordersTableName(STAGE);

function client(emulator: DynamoEmulator): DynamoDBClient {
  return createDynamoDbClient({ region: 'us-east-1', endpoint: emulator.url }, { maxAttempts: 1 });
}

/** A path record as a processor would claim it: only if there is none for this order and path yet. */
function claim(orderId: string, owner: string) {
  return new PutItemCommand({
    TableName: TABLE,
    Item: {
      [settings.partitionKey.name]: { S: orderId },
      [settings.sortKey.name]: { S: settings.records.ecsPath },
      owner: { S: owner },
      [settings.expiresAtAttribute]: { N: String(Math.floor(Date.now() / 1000) + settings.retentionDays * 86_400) },
    },
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': settings.partitionKey.name },
  });
}

const key = (orderId: string) => ({
  [settings.partitionKey.name]: { S: orderId },
  [settings.sortKey.name]: { S: settings.records.ecsPath },
});

/** Resolves once nothing accepts connections on the port (a refused connection). */
function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(true));
  });
}

/** True when this process can listen on the port again, on every interface. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

describe('local DynamoDB emulator (dynalite) with the real SDK client', function () {
  this.timeout(60_000);

  describe('in memory', () => {
    let emulator: DynamoEmulator;
    let dynamodb: DynamoDBClient;

    before(async () => {
      emulator = await startDynamoEmulator({ port: 0 });
      dynamodb = client(emulator);
    });

    after(async () => {
      dynamodb?.destroy();
      await emulator?.stop();
    });

    it('listens on a free loopback port, and only on loopback', async () => {
      expect(emulator.url).to.equal(`http://127.0.0.1:${emulator.port}`);
      expect(emulator.port).to.be.greaterThan(0);
      expect(emulator.path).to.equal(undefined);
      const external = Object.values(networkInterfaces())
        .flat()
        .find((address) => address && address.family === 'IPv4' && !address.internal);
      if (external) expect(await refused(external.address, emulator.port), external.address).to.equal(true);
    });

    it('creates the stage table with the name, keys and billing mode of resources/orders-table.json', async () => {
      expect(await createOrdersTable(dynamodb, STAGE)).to.equal(TABLE);
      expect(TABLE).to.equal(`ordersync-${STAGE}-${settings.name}`);
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: TABLE }));
      expect(Table?.TableStatus).to.equal('ACTIVE');
      expect(Table?.KeySchema).to.deep.equal([
        { AttributeName: settings.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: settings.sortKey.name, KeyType: 'RANGE' },
      ]);
      expect(Table?.AttributeDefinitions).to.deep.equal([
        { AttributeName: settings.partitionKey.name, AttributeType: settings.partitionKey.type },
        { AttributeName: settings.sortKey.name, AttributeType: settings.sortKey.type },
      ]);
      expect(Table?.BillingModeSummary?.BillingMode).to.equal(settings.billingMode);
    });

    it('creates it again without complaint (an existing table is fine)', async () => {
      expect(await createOrdersTable(dynamodb, STAGE)).to.equal(TABLE);
    });

    it('has no TTL: dynalite has no UpdateTimeToLive and reports TTL disabled (nothing expires locally)', async () => {
      // If a later dynalite implements TTL, createOrdersTable turns it on and this says ENABLED:
      // then this test should expect that.
      const { TimeToLiveDescription } = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: TABLE }));
      expect(TimeToLiveDescription?.TimeToLiveStatus).to.equal('DISABLED');
    });

    it('refuses a conditional PutItem the second time (ConditionalCheckFailedException) and keeps the first', async () => {
      await dynamodb.send(claim('order-1', 'first'));
      const second = await dynamodb.send(claim('order-1', 'second')).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      expect(second?.name).to.equal('ConditionalCheckFailedException');
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: key('order-1'), ConsistentRead: true }));
      expect(Item?.owner).to.deep.equal({ S: 'first' });
      // Another order, or another record of the same order, is a different item: no conflict.
      await dynamodb.send(claim('order-2', 'first'));
    });

  });

  describe('with a data directory', () => {
    let dataDir: string;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'ordersync-dynamodb-'));
    });

    after(async () => {
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('keeps the table and an item across a stop and a new start, in its own subdirectory', async () => {
      const first = await startDynamoEmulator({ dataDir });
      expect(first.path).to.equal(join(dataDir, DYNAMO_SUBDIRECTORY));
      let dynamodb = client(first);
      await createOrdersTable(dynamodb, STAGE);
      await dynamodb.send(claim('kept', 'before-restart'));
      dynamodb.destroy();
      await first.stop();
      expect(await readdir(dataDir)).to.deep.equal([DYNAMO_SUBDIRECTORY]);

      const second = await startDynamoEmulator({ dataDir });
      dynamodb = client(second);
      try {
        expect(await createOrdersTable(dynamodb, STAGE)).to.equal(TABLE);
        const { Item } = await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: key('kept'), ConsistentRead: true }));
        expect(Item?.owner).to.deep.equal({ S: 'before-restart' });
        const again = await dynamodb.send(claim('kept', 'after-restart')).catch((error: unknown) => error as Error);
        expect((again as Error | undefined)?.name).to.equal('ConditionalCheckFailedException');
      } finally {
        dynamodb.destroy();
        await second.stop();
      }
    });

    it('refuses a second emulator on a data directory in use, with a plain message', async () => {
      const first = await startDynamoEmulator({ dataDir });
      try {
        const error = await startDynamoEmulator({ dataDir }).then(
          async (second) => {
            await second.stop();
            return undefined;
          },
          (thrown: unknown) => thrown as Error,
        );
        expect(error?.message).to.include(`cannot open its data in ${join(dataDir, DYNAMO_SUBDIRECTORY)}`);
        expect(error?.message).to.include('another local stack using the same data directory?');
      } finally {
        await first.stop();
      }
    });
  });

  describe('stop()', () => {
    it('frees the port, with a client still holding a keep-alive connection', async () => {
      const emulator = await startDynamoEmulator();
      const dynamodb = client(emulator);
      await createOrdersTable(dynamodb, STAGE);
      await dynamodb.send(claim('order-1', 'first'));
      const started = performance.now();
      await emulator.stop();
      // Idle keep-alive connections are closed at once, not after the grace for requests under way.
      expect(performance.now() - started).to.be.below(1500);
      expect(await refused('127.0.0.1', emulator.port)).to.equal(true);
      expect(await portIsFree(emulator.port)).to.equal(true);
      dynamodb.destroy();
    });
  });
});
