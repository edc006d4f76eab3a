import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { createDynamoDbClient, createSnsClient, createSqsClient } from '../../lib/aws-clients.ts';
import type { AwsConfig } from '../../lib/config.ts';
import { createOrdersTable, startDynamoEmulator, type DynamoEmulator } from '../../local/dynamodb-emulator.ts';
import { provisionMessaging, type ProvisionedResources } from '../../local/provision.ts';
import { buildContainers, type BuildResult } from '../../scripts/build.ts';

/**
 * The container images run these bundles (containers/*\/Dockerfile copies them from
 * scripts/build.ts's output). No Docker here: the test builds the same bundles and runs them
 * with Node against the local emulator, as the images would run them against AWS.
 */
const SEED_ORDER = { order_id: 'bundle-001', customer_id: 123, items: [{ product_id: 'SKU-001', quantity: 1, price: 19.99 }] };

const BASE_ENV = {
  PATH: process.env.PATH ?? '',
  AWS_ACCESS_KEY_ID: 'placeholder',
  AWS_SECRET_ACCESS_KEY: 'placeholder',
  AWS_REGION: 'us-east-1',
  LOG_LEVEL: 'info',
};

interface Running {
  child: ChildProcessWithoutNullStreams;
  lines: Record<string, unknown>[];
  stderr: string[];
  /** Resolves with the first JSON log line that matches, failing after `timeoutMs`. */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function start(bundle: string, env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--enable-source-maps', bundle], { env: { ...BASE_ENV, ...env } });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const line of complete) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  return {
    child,
    lines,
    stderr,
    async waitFor(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = lines.find(match);
        if (found) return found;
        if (child.exitCode !== null) break;
        await sleep(25);
      }
      throw new Error(`no matching log line from ${bundle}; stderr: ${stderr.join('')}; lines: ${JSON.stringify(lines)}`);
    },
  };
}

async function stop(running: Running): Promise<number | null> {
  if (running.child.exitCode !== null) return running.child.exitCode;
  const exited = once(running.child, 'exit');
  running.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

function runOnce(bundle: string, env: Record<string, string>) {
  return spawnSync(process.execPath, [bundle], { env: { ...BASE_ENV, ...env }, encoding: 'utf8', timeout: 15_000 });
}

describe('container bundles (what the images run)', function () {
  this.timeout(30_000);
  let dir: string;
  let receiver: BuildResult;
  let processor: BuildResult;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'ordersync-bundles-'));
    [receiver, processor] = (await buildContainers(['receiver', 'processor'], dir)) as [BuildResult, BuildResult];
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('builds self-contained ES modules with source maps', () => {
    for (const file of [receiver.entry, `${receiver.entry}.map`, receiver.healthcheck, processor.entry, `${processor.entry}.map`, processor.healthcheck]) {
      expect(existsSync(file), file).to.equal(true);
    }
    expect(receiver.entry).to.match(/receiver\.mjs$/);
    expect(processor.entry).to.match(/processor\.mjs$/);
  });

  it('the processor bundle refuses to start without ORDERS_QUEUE_URL, with a plain message', () => {
    const run = runOnce(processor.entry, {});
    expect(run.status).to.equal(78);
    expect(run.stderr).to.include('invalid processor configuration').and.to.include('ORDERS_QUEUE_URL is required');
    expect(run.stderr).not.to.match(/\n\s+at /);
  });

  it('the receiver bundle refuses to start without ORDERS_TOPIC_ARN and ORDERS_TABLE_NAME, with a plain message', () => {
    const run = runOnce(receiver.entry, { PORT: '0' });
    expect(run.status).to.equal(78);
    expect(run.stderr).to.include('ORDERS_TOPIC_ARN is required').and.to.include('ORDERS_TABLE_NAME is required');
    expect(run.stderr).not.to.match(/\n\s+at /);
  });

  it('the processor health check fails without a fresh heartbeat', async () => {
    const missing = runOnce(processor.healthcheck, { HEARTBEAT_FILE: join(dir, 'no-such-heartbeat') });
    expect(missing.status).to.equal(1);
    expect(missing.stderr).to.include('unhealthy');
    const stale = join(dir, 'stale-heartbeat');
    await writeFile(stale, `${Date.now() - 120_000}\n`);
    const old = runOnce(processor.healthcheck, { HEARTBEAT_FILE: stale });
    expect(old.status).to.equal(1);
    expect(old.stderr).to.match(/last heartbeat 1[12]\d s ago/);
    expect(runOnce(processor.healthcheck, {}).stderr).to.include('HEARTBEAT_FILE is not set');
  });

  describe('against the local emulator', function () {
    let emulator: FauxqsServer;
    let dynamodb: DynamoEmulator;
    let resources: ProvisionedResources;
    let receiverRun: Running;
    let processorRun: Running;
    let receiverUrl: string;
    const heartbeat = () => join(dir, 'processor-heartbeat');

    before(async function () {
      emulator = await startFauxqs({ port: 0, logger: false });
      dynamodb = await startDynamoEmulator();
      const aws: AwsConfig = { region: 'us-east-1', endpoint: `http://127.0.0.1:${emulator.port}`, dynamodbEndpoint: dynamodb.url };
      resources = await provisionMessaging({ sns: createSnsClient(aws), sqs: createSqsClient(aws), stage: 'bundles', mode: 'ecs' });
      const emulatorEnv = {
        AWS_ENDPOINT_URL: aws.endpoint!,
        AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url,
        ORDERS_TABLE_NAME: await createOrdersTable(createDynamoDbClient(aws), 'bundles'),
        PROCESSING_TIME_MS: '20',
        SHUTDOWN_TIMEOUT_MS: '3000',
      };
      receiverRun = start(receiver.entry, { ...emulatorEnv, PORT: '0', ORDERS_TOPIC_ARN: resources.topicArn });
      processorRun = start(processor.entry, {
        ...emulatorEnv,
        ORDERS_QUEUE_URL: resources.ordersQueueUrl,
        PROCESSOR_CONCURRENCY: '5',
        PROCESSOR_WAIT_TIME_SECONDS: '1',
        HEARTBEAT_FILE: heartbeat(),
      });
      const listening = await receiverRun.waitFor((line) => line.event === 'receiver.listening');
      receiverUrl = `http://127.0.0.1:${listening.port as number}`;
      await processorRun.waitFor((line) => line.event === 'consumer.started');
    });

    after(async () => {
      for (const running of [receiverRun, processorRun]) if (running) await stop(running);
      await emulator?.stop();
      await dynamodb?.stop();
    });

    it('the receiver answers GET /health with 200 OK, and its health check passes', async () => {
      const response = await fetch(`${receiverUrl}/health`);
      expect(response.status).to.equal(200);
      expect(await response.text()).to.equal('OK');
      const port = new URL(receiverUrl).port;
      expect(runOnce(receiver.healthcheck, { PORT: port }).status).to.equal(0);
    });

    it('the receiver health check fails when nothing answers', () => {
      const run = runOnce(receiver.healthcheck, { PORT: '9' });
      expect(run.status).to.equal(1);
      expect(run.stderr).to.include('unhealthy');
    });

    it('the processor keeps a heartbeat its health check accepts', () => {
      expect(runOnce(processor.healthcheck, { HEARTBEAT_FILE: heartbeat() }).status).to.equal(0);
    });

    it('an order accepted by the receiver bundle is processed by the processor bundle', async () => {
      const response = await fetch(`${receiverUrl}/orders/async`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(SEED_ORDER),
      });
      expect(response.status).to.equal(202);
      const processed = await processorRun.waitFor((line) => line.event === 'order.processed' && line.order_id === SEED_ORDER.order_id);
      expect(processed.path).to.equal('ecs');
    });

    it('both stop cleanly on SIGTERM (exit 0), and the processor removes its heartbeat', async () => {
      expect(await stop(receiverRun)).to.equal(0);
      expect(await stop(processorRun)).to.equal(0);
      expect(processorRun.lines.some((line) => line.event === 'consumer.stopped')).to.equal(true);
      expect(existsSync(heartbeat())).to.equal(false);
    });
  });
});
