import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnEntryPoint, killGroup, type Child } from '../support/child-process.ts';
import { eventually } from '../support/eventually.ts';
import { SEED_ORDER } from '../support/orders.ts';
import { startTestOrdersTable, type TestOrdersTable } from '../support/orders-table.ts';
import { openConnection, startHangingServer, type RawConnection, type RawResponse } from '../support/raw-http.ts';

/**
 * The real receiver process (containers/receiver/main.ts) with its bounds from the environment,
 * SNS played by a loopback server that accepts connections and never answers, and SIGTERM as ECS
 * sends it: every request that reached the receiver before the signal is answered, and the
 * process exits inside its drain deadline.
 */

const TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:ordersync-test-orders';
const ORDER = JSON.stringify(SEED_ORDER);

function post(path: string, body: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function errorCode(response: RawResponse | undefined): string {
  expect(response, 'a response').to.not.equal(undefined);
  return (JSON.parse(response!.body) as { error: { code: string } }).error.code;
}

describe('the receiver process: deadlines from its environment, SIGTERM (real process)', function () {
  this.timeout(40_000);
  let sns: Awaited<ReturnType<typeof startHangingServer>>;
  let child: Child | undefined;
  const open: RawConnection[] = [];

  let table: TestOrdersTable;
  before(async () => {
    table = await startTestOrdersTable();
  });
  after(() => table?.stop());

  beforeEach(async () => {
    sns = await startHangingServer();
  });
  afterEach(async () => {
    for (const connection of open.splice(0)) connection.socket.destroy();
    if (child) killGroup(child);
    child = undefined;
    await sns.close();
  });

  async function startReceiverProcess(env: Record<string, string>): Promise<{ receiver: Child; port: number }> {
    const receiver = spawnEntryPoint('containers/receiver/main.ts', {
      AWS_ENDPOINT_URL: sns.url,
      AWS_ENDPOINT_URL_DYNAMODB: table.emulator.url,
      AWS_REGION: 'us-east-1',
      ORDERS_TOPIC_ARN: TOPIC_ARN,
      ORDERS_TABLE_NAME: table.tableName,
      PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    });
    child = receiver;
    await receiver.logs.waitFor('the receiver to listen', () => receiver.logs.events('receiver.listening').length === 1, 15_000);
    return { receiver, port: Number(receiver.logs.events('receiver.listening')[0]?.port) };
  }

  async function connection(port: number): Promise<RawConnection> {
    const opened = await openConnection(port);
    open.push(opened);
    return opened;
  }

  it('SIGTERM while SNS hangs: the publish is cut inside the drain deadline, the client gets 503, the process exits in time', async () => {
    const SHUTDOWN_TIMEOUT_MS = 3000;
    // PUBLISH_TIMEOUT_MS stays at its default (6 s), longer than what is left of the drain.
    const { receiver, port } = await startReceiverProcess({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    const client = await connection(port);
    client.send(post('/orders/async', ORDER));
    await eventually('the publish to reach SNS', () => sns.connections() > 0);

    const signalled = performance.now();
    receiver.process.kill('SIGTERM');
    const { error, atMs } = await client.closed;
    const { code } = await receiver.exited;
    const exitedMs = performance.now() - signalled;

    expect(error, 'answered, not reset').to.equal(undefined);
    const [answer] = client.responses();
    expect(answer?.status).to.equal(503);
    expect(errorCode(answer)).to.equal('publish_failed');
    expect(atMs - signalled, 'answered before the drain deadline').to.be.below(SHUTDOWN_TIMEOUT_MS);
    expect(code, receiver.stderr()).to.equal(0);
    expect(exitedMs, 'exited inside the drain deadline (and far inside the task stop timeout)').to.be.below(SHUTDOWN_TIMEOUT_MS + 500);
    expect(receiver.logs.events('order.publish_failed')).to.have.length(1);
    expect(receiver.logs.events('order.accepted')).to.be.empty;
    expect(receiver.logs.events('receiver.forced_close')).to.be.empty;
  });

  it('PUBLISH_TIMEOUT_MS bounds a publish across all SDK attempts: 503 once it passes', async () => {
    const { receiver, port } = await startReceiverProcess({ PUBLISH_TIMEOUT_MS: '1000' });
    const client = await connection(port);
    const started = performance.now();
    client.send(post('/orders/async', ORDER));
    await eventually('the answer', () => client.responses().length === 1, 5000);
    expect(performance.now() - started).to.be.within(950, 2500);
    expect(client.responses()[0]?.status).to.equal(503);
    expect(errorCode(client.responses()[0])).to.equal('publish_failed');
    const [failed] = receiver.logs.events('order.publish_failed');
    expect((failed?.cause as { message: string }).message).to.contain('PUBLISH_TIMEOUT_MS');
  });

  it('reads BODY_TIMEOUT_MS and MAX_CONNECTIONS: a stalled body is answered 408, a connection past the bound 503', async () => {
    const { receiver, port } = await startReceiverProcess({ BODY_TIMEOUT_MS: '1000', MAX_CONNECTIONS: '1' });
    const stalled = await connection(port);
    const started = performance.now();
    stalled.send(post('/orders/sync', ORDER).slice(0, -10));
    const closed = await Promise.race([stalled.closed, sleep(4000).then(() => undefined)]);
    expect(closed, 'closed within 4 s').to.not.equal(undefined);
    expect(closed!.atMs - started).to.be.below(2500);
    expect(stalled.responses()[0]?.status).to.equal(408);
    expect(errorCode(stalled.responses()[0])).to.equal('request_timeout');

    // The one connection served: opened once the receiver has seen the stalled one close (until
    // then a new connection is past the bound, and even its health check closes it after).
    let first: RawConnection | undefined;
    await eventually('a connection within the bound', async () => {
      const candidate = await connection(port);
      candidate.send('GET /health HTTP/1.1\r\nHost: test\r\n\r\n');
      await eventually('the health answer', () => candidate.responses().length === 1);
      if (candidate.responses()[0]?.headers.connection !== 'close') first = candidate;
      else await candidate.closed;
      return first !== undefined;
    });
    const second = await connection(port);
    second.send(post('/orders/sync', ORDER));
    const refused = await Promise.race([second.closed, sleep(5000).then(() => undefined)]);
    expect(refused, 'the second connection answered and closed').to.not.equal(undefined);
    expect(second.responses()[0]?.status).to.equal(503);
    expect(errorCode(second.responses()[0])).to.equal('too_many_connections');
    expect(receiver.logs.events('http.request', (line) => line.error_code === 'too_many_connections')).to.have.length(1);
  });

  it('SIGTERM with requests just sent on idle keep-alive connections: each is answered with Connection: close, none reset', async () => {
    const { receiver, port } = await startReceiverProcess({ PROCESSING_TIME_MS: '100', SHUTDOWN_TIMEOUT_MS: '5000' });
    const clients = await Promise.all(Array.from({ length: 20 }, () => connection(port)));
    for (const client of clients) client.send('GET /health HTTP/1.1\r\nHost: test\r\n\r\n');
    await eventually('every first answer', () => clients.every((client) => client.responses().length === 1));

    // On loopback the bytes are in the receiver's socket buffers before the signal is sent.
    for (const client of clients) client.send(post('/orders/sync', ORDER));
    receiver.process.kill('SIGTERM');
    const outcomes = await Promise.all(clients.map((client) => client.closed));
    expect((await receiver.exited).code, receiver.stderr()).to.equal(0);

    expect(outcomes.map((outcome) => outcome.error ?? 'closed')).to.deep.equal(clients.map(() => 'closed'));
    for (const client of clients) {
      const second = client.responses()[1];
      expect(second?.status).to.equal(200);
      expect(second?.headers.connection).to.equal('close');
    }
  });
});
