import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { startFauxqs } from 'fauxqs';
import { startReceiver } from '../../containers/receiver/server.ts';
import { createLogger } from '../../lib/logger.ts';
import { startLocalStack } from '../../local/stack.ts';

/**
 * A benchmark target in a process of its own, so the load generator does not share its event
 * loop: `emulator` (fauxqs), `bare` (node:http answering 202, optionally after BARE_DELAY_MS),
 * `receiver` (the real receiver publishing to the emulator at BENCH_EMULATOR_URL, logging as it
 * does in production, to /dev/null) or `receiver-stub` (the same receiver whose publisher answers
 * at once, without SNS). Prints {"url": ...} once it listens; SIGTERM stops it.
 */
type Stop = () => Promise<unknown>;

const devNull = () => pino.destination({ dest: '/dev/null', sync: true });

async function startBare(delayMs: number): Promise<{ url: string; stop: Stop }> {
  const answer = '{"status":"accepted","order_id":"001","message_id":"00000000-0000-0000-0000-000000000000"}';
  const server = createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      const reply = () => {
        res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
        res.end(answer);
      };
      if (delayMs > 0) setTimeout(reply, delayMs);
      else reply();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function start(mode: string | undefined, env: NodeJS.ProcessEnv): Promise<{ url: string; stop: Stop }> {
  if (mode === 'emulator') {
    const emulator = await startFauxqs({ port: 0, logger: false });
    return { url: `http://127.0.0.1:${emulator.port}`, stop: () => emulator.stop() };
  }
  if (mode === 'bare') return startBare(Number(env.BARE_DELAY_MS ?? 0));
  if (mode === 'receiver') {
    const stack = await startLocalStack({
      mode: 'ecs',
      skipProcessor: true,
      emulatorEndpoint: env.BENCH_EMULATOR_URL ?? '',
      emulatorPort: 0,
      port: 0,
      stage: env.BENCH_STAGE ?? 'bench',
      processingTimeMs: Number(env.PROCESSING_TIME_MS ?? 0),
      concurrency: 1,
      logLevel: 'info',
      logDestination: devNull(),
    });
    return { url: stack.receiverUrl, stop: () => stack.stop() };
  }
  if (mode === 'receiver-stub') {
    const receiver = await startReceiver({
      port: 0,
      host: '127.0.0.1',
      shutdownTimeoutMs: 5000,
      processingTimeMs: Number(env.PROCESSING_TIME_MS ?? 0),
      logger: createLogger({ component: 'receiver', destination: devNull() }),
      publisher: { publish: () => Promise.resolve(randomUUID()) },
    });
    return { url: receiver.url, stop: () => receiver.stop() };
  }
  throw new Error(`unknown target "${mode ?? ''}": emulator, bare, receiver or receiver-stub`);
}

const target = await start(process.argv[2], process.env);
process.stdout.write(`${JSON.stringify({ url: target.url })}\n`);
process.once('SIGTERM', () => {
  void target.stop().finally(() => process.exit(0));
});
