import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadReceiverConfig, type LogLevel } from '../../lib/config.ts';
import { ConfigError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/logger.ts';
import type { OrderPublisher } from '../../containers/receiver/order-publisher.ts';
import { HEADERS_TIMEOUT_MS, startReceiver, type ReceiverServer } from '../../containers/receiver/server.ts';
import { LogCollector, type LogLine } from '../../local/log-collector.ts';
import { eventually } from '../support/eventually.ts';
import { SEED_ORDER } from '../support/orders.ts';
import { intakeWith, startTestOrdersTable, type TestOrdersTable } from '../support/orders-table.ts';
import { openConnection, type RawConnection, type RawResponse } from '../support/raw-http.ts';

/**
 * The receiver under faults, with real sockets on 127.0.0.1: stalled and trickling bodies,
 * clients that leave mid-body, more connections than it serves, keep-alive connections at
 * shutdown, and what the `http.request` line says about refused requests.
 */

const TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:ordersync-test-orders';
const ORDER = JSON.stringify(SEED_ORDER);

function post(path: string, body: string, extraHeaders = ''): string {
  return `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`;
}

const GET_HEALTH = 'GET /health HTTP/1.1\r\nHost: test\r\n\r\n';

function errorOf(response: RawResponse | undefined): { code: string; message: string } {
  expect(response, 'a response').to.not.equal(undefined);
  expect(response!.headers['content-type']).to.contain('application/json');
  return (JSON.parse(response!.body) as { error: { code: string; message: string } }).error;
}

/** A publisher that answers after `delayMs` (or never, when aborted first it fails). */
function slowPublisher(delayMs: number): OrderPublisher & { calls: number } {
  const publisher = {
    calls: 0,
    async publish(_order: unknown, meta: { signal?: AbortSignal | undefined }): Promise<string> {
      publisher.calls += 1;
      await sleep(delayMs, undefined, meta.signal ? { signal: meta.signal } : {});
      return `message-${publisher.calls}`;
    },
  };
  return publisher;
}

describe('receiver under faults (real sockets on 127.0.0.1)', function () {
  this.timeout(20_000);
  let receiver: ReceiverServer | undefined;
  let logs: LogCollector;
  let table: TestOrdersTable;
  const open: RawConnection[] = [];

  before(async () => {
    table = await startTestOrdersTable();
  });
  after(() => table?.stop());

  async function start(
    options: {
      bodyTimeoutMs?: number;
      maxConnections?: number;
      shutdownTimeoutMs?: number;
      processingTimeMs?: number;
      publisher?: OrderPublisher;
      logLevel?: LogLevel;
    } = {},
  ) {
    logs = new LogCollector();
    receiver = await startReceiver({
      port: 0,
      host: '127.0.0.1',
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? 2000,
      logger: createLogger({ component: 'receiver', destination: logs, ...(options.logLevel ? { level: options.logLevel } : {}) }),
      processingTimeMs: options.processingTimeMs ?? 0,
      orders: intakeWith(await table.fresh(), options.publisher ?? slowPublisher(0)),
      ...(options.bodyTimeoutMs !== undefined ? { bodyTimeoutMs: options.bodyTimeoutMs } : {}),
      ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
    });
    return receiver;
  }

  async function connection(): Promise<RawConnection> {
    const opened = await openConnection(receiver!.port);
    open.push(opened);
    return opened;
  }

  afterEach(async () => {
    for (const connection of open.splice(0)) connection.socket.destroy();
    await receiver?.stop();
    receiver = undefined;
  });

  const requestLines = (where: (line: LogLine) => boolean = () => true) => logs.events('http.request', where);

  describe('stalled request bodies (BODY_TIMEOUT_MS)', () => {
    const BODY_TIMEOUT_MS = 1000;
    const stalls: Record<string, (client: RawConnection) => Promise<void> | void> = {
      'a chunked body that never ends': (client) =>
        client.send('POST /orders/async HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"ord\r\n'),
      'a body shorter than its Content-Length': (client) => client.send(post('/orders/async', ORDER).slice(0, -10)),
      'a body trickling one byte at a time': async (client) => {
        const whole = post('/orders/sync', ORDER);
        const head = whole.slice(0, whole.indexOf('\r\n\r\n') + 4);
        client.send(head);
        for (const byte of whole.slice(head.length)) {
          if (client.socket.destroyed || client.received() !== '') return;
          client.send(byte);
          await sleep(150);
        }
      },
    };

    for (const [name, stall] of Object.entries(stalls)) {
      it(`${name}: 408 request_timeout with Connection: close, then closed, within the bound`, async () => {
        await start({ bodyTimeoutMs: BODY_TIMEOUT_MS });
        const client = await connection();
        const started = performance.now();
        void stall(client);
        const { error, atMs } = await Promise.race([client.closed, sleep(BODY_TIMEOUT_MS + 3000).then(() => ({ error: 'still open', atMs: NaN }))]);
        expect(error, `closed cleanly within ${BODY_TIMEOUT_MS + 3000} ms`).to.equal(undefined);
        expect(atMs - started).to.be.within(BODY_TIMEOUT_MS - 50, BODY_TIMEOUT_MS + 1500);
        const [answer] = client.responses();
        expect(answer?.status).to.equal(408);
        expect(answer?.headers.connection).to.equal('close');
        expect(errorOf(answer).code).to.equal('request_timeout');
        expect(requestLines()[0]).to.include({ status: 408, error_code: 'request_timeout' });
        expect(logs.events('http.internal_error')).to.be.empty;
      });
    }

    it('leaves healthy keep-alive clients alone: idle longer than the bound, and bodies sent in parts in time', async () => {
      await start({ bodyTimeoutMs: BODY_TIMEOUT_MS });
      const client = await connection();
      client.send(post('/orders/async', ORDER));
      await eventually('the first answer', () => client.responses().length === 1);
      await sleep(BODY_TIMEOUT_MS * 2.5); // idle between requests: no deadline applies
      const whole = post('/orders/async', ORDER);
      client.send(whole.slice(0, 120));
      await sleep(BODY_TIMEOUT_MS / 2);
      client.send(whole.slice(120));
      await eventually('the second answer', () => client.responses().length === 2);
      expect(client.responses().map((response) => response.status)).to.deep.equal([202, 202]);
      expect(client.socket.destroyed).to.equal(false);
    });

    it('leaves an idle keep-alive connection open past the 10 s headers deadline, as a load balancer keeps it', async function () {
      this.timeout(30_000);
      await start({ bodyTimeoutMs: BODY_TIMEOUT_MS });
      const client = await connection();
      client.send(GET_HEALTH);
      await eventually('the first answer', () => client.responses().length === 1);
      await sleep(HEADERS_TIMEOUT_MS + 1500); // Node checks the deadlines every 250 ms here
      expect(client.socket.destroyed, 'still open').to.equal(false);
      client.send(post('/orders/async', ORDER));
      await eventually('the second answer', () => client.responses().length === 2);
      expect(client.responses()[1]?.status).to.equal(202);
      expect(client.responses()[1]?.headers.connection).to.equal('keep-alive');
    });

    it('BODY_TIMEOUT_MS is read and validated with the other variables', () => {
      expect(loadReceiverConfig({ ORDERS_TABLE_NAME: 'ordersync-test-orders', ORDERS_TOPIC_ARN: TOPIC_ARN }).bodyTimeoutMs).to.equal(10_000);
      expect(loadReceiverConfig({ ORDERS_TABLE_NAME: 'ordersync-test-orders', ORDERS_TOPIC_ARN: TOPIC_ARN, BODY_TIMEOUT_MS: '1000' }).bodyTimeoutMs).to.equal(1000);
      expect(() => loadReceiverConfig({ ORDERS_TABLE_NAME: 'ordersync-test-orders', ORDERS_TOPIC_ARN: TOPIC_ARN, BODY_TIMEOUT_MS: 'soon' })).to.throw(
        ConfigError,
        'BODY_TIMEOUT_MS must be an integer from 100 to 60000 (got "soon")',
      );
    });
  });

  describe('a client that disconnects mid-body', () => {
    it('is logged as the client leaving (http.client_aborted, info, no stack), never as a 500', async () => {
      await start();
      const client = await connection();
      client.send(post('/orders/async', ORDER).slice(0, -20));
      await sleep(100);
      client.socket.destroy();
      await eventually('the request line', () => requestLines().length === 1);
      expect(logs.events('http.internal_error')).to.be.empty;
      expect(logs.lines.filter((line) => line.level === 'error')).to.be.empty;
      const [aborted] = logs.events('http.client_aborted');
      expect(aborted).to.include({ level: 'info', method: 'POST', path: '/orders/async', declared_bytes: ORDER.length });
      expect(aborted).to.not.have.property('err');
      expect(requestLines()[0]).to.include({ status: 499, error_code: 'client_aborted' });
    });
  });

  describe('why requests were refused, on the http.request line', () => {
    it('carries the error code, and for invalid_order the fields', async () => {
      await start();
      const client = await connection();
      const requests = [
        post('/orders/async', JSON.stringify({ ...SEED_ORDER, customer_id: 'x', quantiy: 2 })),
        post('/orders/async', '{"order_id":'),
        'GET /nope HTTP/1.1\r\nHost: test\r\n\r\n',
      ];
      for (const [index, text] of requests.entries()) {
        client.send(text);
        await eventually(`answer ${index + 1}`, () => client.responses().length === index + 1);
      }
      const [invalid, malformed, missing] = requestLines();
      expect(invalid).to.include({ status: 400, error_code: 'invalid_order' });
      expect(invalid?.invalid_fields).to.deep.equal([
        { field: 'customer_id', message: 'must be an integer' },
        { field: 'quantiy', message: 'is not a known field' },
      ]);
      expect(malformed).to.include({ status: 400, error_code: 'malformed_json' });
      expect(missing).to.include({ status: 404, error_code: 'not_found' });
      expect(malformed).to.not.have.property('invalid_fields');
    });

    it("an answered request's line is at debug (its order.accepted line says it all); a refusal's at info", async () => {
      for (const level of ['info', 'debug'] as const) {
        await start({ logLevel: level });
        const client = await connection();
        client.send(post('/orders/async', ORDER));
        await eventually('the 202', () => client.responses().length === 1);
        client.send(post('/orders/async', '{"order_id":'));
        await eventually('the 400', () => client.responses().length === 2);
        expect(logs.events('order.accepted'), level).to.have.length(1);
        const lines = requestLines().map((line) => ({ status: line.status, level: line.level }));
        expect(lines, level).to.deep.equal(level === 'info' ? [{ status: 400, level: 'info' }] : [{ status: 202, level: 'debug' }, { status: 400, level: 'info' }]);
        await receiver?.stop();
        receiver = undefined;
      }
    });
  });

  describe('contract details', () => {
    it('a POST without a body, declared JSON, is 400 malformed_json (not 415)', async () => {
      await start();
      const client = await connection();
      client.send('POST /orders/async HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\r\n');
      await eventually('the answer', () => client.responses().length === 1);
      const [answer] = client.responses();
      expect(answer?.status).to.equal(400);
      const error = errorOf(answer);
      expect(error.code).to.equal('malformed_json');
      expect(error.message).to.contain('empty');
    });

    it('a customer_id beyond 2^53 says it must be a safe integer', async () => {
      await start();
      const client = await connection();
      client.send(post('/orders/sync', ORDER.replace('"customer_id":123', '"customer_id":9007199254740993')));
      await eventually('the answer', () => client.responses().length === 1);
      const [answer] = client.responses();
      expect(answer?.status).to.equal(400);
      expect((JSON.parse(answer!.body) as { error: { details: unknown[] } }).error.details).to.deep.equal([
        { field: 'customer_id', message: 'must be a safe integer (at most 9007199254740991)' },
      ]);
    });
  });

  describe('a bound on concurrent connections (MAX_CONNECTIONS)', () => {
    it('answers a request on a connection beyond the bound 503 too_many_connections and closes it; serves again once one closes', async () => {
      await start({ maxConnections: 2 });
      const first = await connection();
      const second = await connection();
      for (const client of [first, second]) client.send(GET_HEALTH);
      await eventually('both served', () => first.responses().length === 1 && second.responses().length === 1);

      const third = await connection();
      third.send(post('/orders/async', ORDER));
      const { error } = await third.closed;
      expect(error, 'closed, not reset').to.equal(undefined);
      const [refused] = third.responses();
      expect(refused?.status).to.equal(503);
      expect(refused?.headers).to.include({ connection: 'close', 'retry-after': '1' });
      expect(errorOf(refused).code).to.equal('too_many_connections');
      expect(requestLines((line) => line.status === 503)[0]).to.include({ error_code: 'too_many_connections' });

      // The health check still answers on an extra connection, so a busy task is not taken for dead.
      const probe = await connection();
      probe.send(GET_HEALTH);
      await probe.closed;
      expect(probe.responses()[0]?.status).to.equal(200);

      first.socket.destroy();
      await first.closed;
      // Served again once the receiver has seen it close (a moment after the client has).
      await eventually('a new connection to be served', async () => {
        const next = await connection();
        next.send(post('/orders/async', ORDER));
        await eventually('its answer', () => next.responses().length === 1);
        if (next.responses()[0]?.status === 202) return true;
        expect(errorOf(next.responses()[0]).code).to.equal('too_many_connections');
        await next.closed;
        return false;
      });
    });

    it('MAX_CONNECTIONS is read and validated', () => {
      expect(loadReceiverConfig({ ORDERS_TABLE_NAME: 'ordersync-test-orders', ORDERS_TOPIC_ARN: TOPIC_ARN }).maxConnections).to.equal(1000);
      expect(() => loadReceiverConfig({ ORDERS_TABLE_NAME: 'ordersync-test-orders', ORDERS_TOPIC_ARN: TOPIC_ARN, MAX_CONNECTIONS: '0' })).to.throw(
        ConfigError,
        'MAX_CONNECTIONS must be an integer from 1 to 100000 (got "0")',
      );
    });
  });

  describe('keep-alive connections at shutdown', () => {
    it('answers, with Connection: close, a request that reached an idle keep-alive connection as stop began: no reset', async () => {
      await start();
      const clients = await Promise.all(Array.from({ length: 10 }, () => connection()));
      for (const client of clients) client.send(GET_HEALTH);
      await eventually('every first answer', () => clients.every((client) => client.responses().length === 1));

      // Each request is in the server's socket buffer, not yet read, when stop() runs.
      for (const client of clients) client.send(post('/orders/async', ORDER));
      const stopped = receiver!.stop();
      const outcomes = await Promise.all(clients.map((client) => client.closed));
      await stopped;
      expect(outcomes.map((outcome) => outcome.error)).to.deep.equal(clients.map(() => undefined));
      for (const client of clients) {
        const second = client.responses()[1];
        expect(second?.status).to.equal(202);
        expect(second?.headers.connection).to.equal('close');
      }
    });

    it('a request in progress at stop is answered with Connection: close, and its connection closed after', async () => {
      await start({ publisher: slowPublisher(300) });
      const client = await connection();
      client.send(post('/orders/async', ORDER));
      await sleep(100);
      const stopped = receiver!.stop();
      const { error } = await client.closed;
      await stopped;
      expect(error).to.equal(undefined);
      expect(client.responses()[0]?.status).to.equal(202);
      expect(client.responses()[0]?.headers.connection).to.equal('close');
    });

    it('a body still arriving at the drain deadline is answered 503 shutting_down before the connections close', async () => {
      await start({ shutdownTimeoutMs: 1500 });
      const client = await connection();
      client.send(post('/orders/async', ORDER).slice(0, -10));
      await sleep(100);
      const started = performance.now();
      await receiver!.stop();
      const { error } = await client.closed;
      expect(error, 'answered, not reset').to.equal(undefined);
      expect(performance.now() - started).to.be.below(1500 + 200);
      const [answer] = client.responses();
      expect(answer?.status).to.equal(503);
      expect(errorOf(answer).code).to.equal('shutting_down');
    });

    it('sync work still running at the drain deadline is answered 503 shutting_down before the connections close', async () => {
      await start({ shutdownTimeoutMs: 1500, processingTimeMs: 10_000 });
      const client = await connection();
      client.send(post('/orders/sync', ORDER));
      await eventually('the order to be accepted', () => logs.events('order.accepted').length === 1);
      const started = performance.now();
      await receiver!.stop();
      const { error } = await client.closed;
      expect(error, 'answered, not reset').to.equal(undefined);
      expect(performance.now() - started).to.be.below(1500 + 200);
      const [answer] = client.responses();
      expect(answer?.status).to.equal(503);
      expect(errorOf(answer).code).to.equal('shutting_down');
      expect(logs.events('order.processed')).to.be.empty;
    });
  });
});
