import { buildApp } from 'fauxqs';

export interface Emulator {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts the fauxqs SNS/SQS emulator in this process, listening on loopback only (fauxqs's own
 * `startFauxqs` listens on every interface). Port 0 picks a free one. With `dataDir`, fauxqs
 * writes every change through to SQLite there and a later start resumes it: topics,
 * subscriptions, queues and their messages, as SQS keeps them; without, all is in memory.
 */
export async function startEmulator(port: number, dataDir?: string): Promise<Emulator> {
  const persisted = dataDir === undefined ? undefined : await persistentStores(dataDir);
  const app = buildApp({ logger: false, ...(persisted ? { stores: persisted.stores } : {}) });
  if (persisted) app.addHook('preClose', () => persisted.close());
  const address = await app.listen({ port, host: '127.0.0.1' });
  const actualPort = Number(new URL(address).port);
  return { url: `http://127.0.0.1:${actualPort}`, port: actualPort, stop: () => app.close() };
}

type Stores = NonNullable<NonNullable<Parameters<typeof buildApp>[0]>['stores']>;

interface PersistenceManager {
  load(sqs: unknown, sns: unknown, s3: unknown): void;
  close(): void;
}
interface Store {
  persistence?: PersistenceManager;
}

/**
 * fauxqs's stores with its SQLite persistence in `dataDir`, wired as fauxqs's own `startFauxqs`
 * wires them: state loaded first, then every change written through. `startFauxqs` listens on
 * every interface and `buildApp` takes stores but no `dataDir`, so this builds what `startFauxqs`
 * would and hands it to `buildApp`. The stores and the persistence manager are modules of the
 * package beside its entry point, not exports: the package-lock pins the version, and the shape
 * is checked here so that an upgrade that moves them fails with a plain message.
 */
async function persistentStores(dataDir: string) {
  const entry = import.meta.resolve('fauxqs');
  const load = async <T>(path: string, name: string): Promise<new (...args: unknown[]) => T> => {
    const module = (await import(new URL(path, entry).href).catch(() => ({}))) as Record<string, unknown>;
    const found = module[name];
    if (typeof found !== 'function') throw new Error(`fauxqs has no ${name} in ${path} any more: local persistence needs updating (local/emulator.ts)`);
    return found as new (...args: unknown[]) => T;
  };
  const [Persistence, Sqs, Sns, S3] = await Promise.all([
    load<PersistenceManager>('./persistence.js', 'PersistenceManager'),
    load<Store & { allQueues(): Store[] }>('./sqs/sqsStore.js', 'SqsStore'),
    load<Store>('./sns/snsStore.js', 'SnsStore'),
    load<Store>('./s3/s3Store.js', 'S3Store'),
  ]);
  const persistence = new Persistence(dataDir);
  const sqsStore = new Sqs();
  const snsStore = new Sns();
  const s3Store = new S3();
  // Load before the stores write through: loading must not write what it reads back.
  persistence.load(sqsStore, snsStore, s3Store);
  for (const store of [sqsStore, snsStore, s3Store, ...sqsStore.allQueues()]) store.persistence = persistence;
  return { stores: { sqsStore, snsStore, s3Store } as unknown as Stores, close: () => persistence.close() };
}
