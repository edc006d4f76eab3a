import { mkdir } from 'node:fs/promises';
import { request, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { stagePrefix } from '../lib/messaging-settings.ts';
import { ordersTableSettings } from '../lib/orders-table.ts';

// The orders table's definition, shared with serverless.yml (lib/orders-table.ts reads it).
export { ordersTableSettings };

export interface DynamoEmulator {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Where the data is kept (undefined: in memory, gone at stop). */
  path: string | undefined;
  /** Stops listening, closes every connection and the store; the port is free when it resolves. */
  stop(): Promise<void>;
}

export interface DynamoEmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Keep the data under this directory (in DYNAMO_SUBDIRECTORY), across stops and starts. */
  dataDir?: string;
}

/** dynalite's LevelDB files go in their own directory of the local state, beside fauxqs's SQLite. */
export const DYNAMO_SUBDIRECTORY = 'dynamodb';

/** How long stop() lets requests under way finish before it closes their connections. */
const STOP_GRACE_MS = 2000;

interface DynaliteOptions {
  /** LevelDB directory; in memory (memory-level) without it. */
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}
// dynalite is CommonJS without types: its export is a function that returns an http.Server whose
// close() also closes the store (after the database operations under way).
const requireHere = createRequire(import.meta.url);
const dynalite = requireHere('dynalite') as (options: DynaliteOptions) => Server;

interface LevelStore {
  open(): Promise<void>;
  close(): Promise<void>;
}
/** The `level` package dynalite itself stores into (its dependency, resolved from dynalite). */
const { Level } = createRequire(requireHere.resolve('dynalite'))('level') as { Level: new (path: string) => LevelStore };

/**
 * Starts dynalite (a DynamoDB implementation on LevelDB, npm `dynalite`) in this process,
 * listening on loopback only. Without `dataDir` everything is in memory; with it, dynalite keeps
 * its tables and items in LevelDB (classic-level, its prebuilt binary) under `dataDir`, and a later
 * start with the same directory finds them. One process at a time may hold a data directory.
 * Tables become ACTIVE at once instead of dynalite's simulated 500 ms.
 *
 * What dynalite does not do: TTL (no UpdateTimeToLive; DescribeTimeToLive always says DISABLED,
 * and nothing expires locally), transactions, PartiQL, streams.
 */
export async function startDynamoEmulator({ port = 0, dataDir }: DynamoEmulatorOptions = {}): Promise<DynamoEmulator> {
  const path = dataDir === undefined ? undefined : join(dataDir, DYNAMO_SUBDIRECTORY);
  if (path) await checkStore(path);
  const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const stop = () => closeServer(server);
  const actualPort = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${actualPort}`;
  // dynalite opens its store on the first request: make that happen now, so that the start, not
  // the first order, pays for it and shows a failure.
  try {
    await probe(url);
  } catch (error) {
    await stop().catch(() => undefined);
    throw new Error(`the DynamoDB emulator does not answer: ${(error as Error).message}`, { cause: error });
  }
  return { url, port: actualPort, path, stop };
}

/**
 * Opens and closes the LevelDB store in `path` before dynalite does. dynalite opens it on its first
 * request, and a store it cannot open (held by another process: LevelDB locks its directory; or
 * unreadable) makes it emit an error no caller can catch, which ends the process. Here the same
 * failure is a plain, catchable message.
 */
async function checkStore(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  const store = new Level(path);
  try {
    await store.open();
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause;
    throw new Error(
      `the DynamoDB emulator cannot open its data in ${path}: ${cause?.message ?? (error as Error).message}` +
        ' (another local stack using the same data directory?)',
      { cause: error },
    );
  }
  await store.close();
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const force = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
    server.close((error) => {
      clearTimeout(force);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * A ListTables request, unsigned (dynalite checks that the Authorization header has the shape of
 * SigV4, not the signature), on a connection of its own that closes after the answer.
 */
function probe(url: string): Promise<void> {
  const body = JSON.stringify({ Limit: 1 });
  const date = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  return new Promise<void>((resolve, reject) => {
    const call = request(
      url,
      {
        method: 'POST',
        agent: false,
        timeout: 10_000,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          'x-amz-date': date,
          authorization: `AWS4-HMAC-SHA256 Credential=local/${date.slice(0, 8)}/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=local`,
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`ListTables answered ${response.statusCode}: ${text}`))));
      },
    );
    call.on('timeout', () => call.destroy(new Error('ListTables had no answer within 10 s')));
    call.on('error', reject);
    call.end(body);
  });
}

/** The orders table's physical name for a stage, as serverless.yml names it: `<service>-<stage>-orders`. */
export function ordersTableName(stage: string): string {
  return `${stagePrefix(stage)}-${ordersTableSettings.name}`;
}

const KEY_SCHEMA = [
  { AttributeName: ordersTableSettings.partitionKey.name, KeyType: 'HASH' as const },
  { AttributeName: ordersTableSettings.sortKey.name, KeyType: 'RANGE' as const },
];

/**
 * Creates the stage's orders table from resources/orders-table.json, as resources/orders-table.yml
 * declares it for AWS (same name, keys and billing mode; encryption, point-in-time recovery and tags
 * are AWS's concern), waits until it is ACTIVE, then turns TTL on for expiresAtAttribute where the
 * service supports it (dynalite does not: locally nothing expires, and readers already treat an
 * expired record as absent). Idempotent: a table already there is fine when its keys are these; one
 * with other keys (a local state from an older definition) is refused with a plain message.
 * Resolves to the table's name.
 */
export async function createOrdersTable(dynamodb: DynamoDBClient, stage: string): Promise<string> {
  const tableName = ordersTableName(stage);
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: ordersTableSettings.partitionKey.name, AttributeType: ordersTableSettings.partitionKey.type as 'S' },
          { AttributeName: ordersTableSettings.sortKey.name, AttributeType: ordersTableSettings.sortKey.type as 'S' },
        ],
        KeySchema: KEY_SCHEMA,
        BillingMode: ordersTableSettings.billingMode as 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw error;
  }
  const table = await waitUntilActive(dynamodb, tableName);
  const keys = (table.KeySchema ?? []).map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType }));
  if (JSON.stringify(keys) !== JSON.stringify(KEY_SCHEMA)) {
    throw new Error(
      `table ${tableName} exists with the keys ${JSON.stringify(keys)}, not those of resources/orders-table.json ` +
        `${JSON.stringify(KEY_SCHEMA)}: delete it (locally: start with --fresh)`,
    );
  }
  await enableTimeToLive(dynamodb, tableName);
  return tableName;
}

async function waitUntilActive(dynamodb: DynamoDBClient, tableName: string, timeoutMs = 10_000): Promise<TableDescription> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return Table;
    if (Date.now() > deadline) throw new Error(`table ${tableName} is still ${Table?.TableStatus} after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `enabled`, or `unsupported` where the service has no UpdateTimeToLive (dynalite). */
async function enableTimeToLive(dynamodb: DynamoDBClient, tableName: string): Promise<'enabled' | 'unsupported'> {
  try {
    await dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: ordersTableSettings.expiresAtAttribute, Enabled: true },
      }),
    );
    return 'enabled';
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'UnknownOperationException') return 'unsupported';
    // AWS refuses to enable TTL that is already enabled (on the same attribute): that is the goal.
    if (name === 'ValidationException' && /already enabled/i.test((error as Error).message)) return 'enabled';
    throw error;
  }
}
