import { expect } from 'chai';
import { createSnsClient } from '../../lib/aws-clients.ts';
import { createLogger } from '../../lib/logger.ts';
import { SnsOrderPublisher } from '../../containers/receiver/order-publisher.ts';
import { startReceiver, type ReceiverServer } from '../../containers/receiver/server.ts';
import { freePort } from '../support/child-process.ts';
import { LogCollector } from '../../local/log-collector.ts';
import { request, SEED_ORDER, type HttpResult } from '../support/orders.ts';
import { intakeWith, startTestOrdersTable, type TestOrdersTable } from '../support/orders-table.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

const PROCESSING_MS = 300;

function expectError(result: HttpResult, status: number, code: string): { code: string; message: string; details?: unknown[] } {
  expect(result.status, result.text).to.equal(status);
  expect(result.headers.get('content-type')).to.contain('application/json');
  const { error } = result.body as { error: { code: string; message: string; details?: unknown[] } };
  expect(error.code).to.equal(code);
  expect(error.message).to.be.a('string').and.not.empty;
  expect(result.text).to.not.match(/\bat .+\.(ts|js):\d+/); // no stack trace leaves the server
  return error;
}

describe('receiver HTTP contract (against the emulator)', function () {
  this.timeout(30_000);
  let stack: TestStack;
  let url: string;

  before(async () => {
    stack = await startTestStack({ processingTimeMs: PROCESSING_MS });
    url = stack.receiverUrl;
  });
  after(() => stack.stop());

  it('GET /health answers 200 OK', async () => {
    const result = await request(url, 'GET', '/health');
    expect(result.status).to.equal(200);
    expect(result.text).to.equal('OK');
  });

  it('POST /orders/sync processes inline: 200 with the result, after at least the processing time', async () => {
    const started = performance.now();
    const result = await request(url, 'POST', '/orders/sync', { body: SEED_ORDER });
    const elapsed = performance.now() - started;
    expect(result.status, result.text).to.equal(200);
    expect(elapsed).to.be.at.least(PROCESSING_MS);
    expect(result.body).to.include({ status: 'processed', order_id: '001', path: 'sync', total: 19.99, item_count: 1 });
    expect(stack.logs.events('order.processed', (line) => line.path === 'sync')).to.have.length(1);
  });

  it('POST /orders/async answers 202 with the order id and SNS message id, and the order reaches the processor', async () => {
    const result = await request(url, 'POST', '/orders/async', {
      body: { ...SEED_ORDER, order_id: 'async-1' },
      headers: { 'x-request-id': 'trace-async-1' },
    });
    expect(result.status, result.text).to.equal(202);
    expect(result.headers.get('x-request-id')).to.equal('trace-async-1');
    const body = result.body as { order_id: string; message_id: string; status: string };
    expect(body).to.include({ order_id: 'async-1', status: 'accepted' });
    expect(body.message_id).to.match(/^[0-9a-f-]{36}$/);

    const traced = () => stack.logs.lines.filter((line) => line.request_id === 'trace-async-1');
    await stack.logs.waitFor('the processor to log the order', () => traced().some((line) => line.event === 'order.processed'));
    const events = traced().map((line) => `${String(line.component)}:${String(line.event)}`);
    expect(events).to.include.members(['receiver:order.accepted', 'processor:order.processed']);
    expect(stack.logs.events('order.accepted', (line) => line.order_id === 'async-1')[0]).to.include({ message_id: body.message_id });
  });

  it('makes a request id when the client sends none, and returns it', async () => {
    const result = await request(url, 'GET', '/health');
    expect(result.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    const odd = await request(url, 'GET', '/health', { headers: { 'x-request-id': 'not ok; <script>' } });
    expect(odd.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('400 for malformed JSON', async () => {
    const error = expectError(await request(url, 'POST', '/orders/async', { body: '{"order_id": ' }), 400, 'malformed_json');
    expect(error.message).to.contain('not valid JSON');
  });

  it('400 for an empty body', async () => {
    expectError(await request(url, 'POST', '/orders/sync', { body: '' }), 400, 'malformed_json');
  });

  it('400 for an invalid order, the details naming the fields', async () => {
    const body = { order_id: '', customer_id: 'x', items: [{ product_id: 'SKU-1', quantity: 0, price: 1 }], extra: true };
    for (const path of ['/orders/sync', '/orders/async']) {
      const error = expectError(await request(url, 'POST', path, { body }), 400, 'invalid_order');
      expect(error.details).to.deep.equal([
        { field: 'order_id', message: 'must not be empty' },
        { field: 'customer_id', message: 'must be an integer' },
        { field: 'items.0.quantity', message: 'must be at least 1' },
        { field: 'extra', message: 'is not a known field' },
      ]);
    }
  });

  it('413 for a body over 256 KiB, by declared length or streamed', async () => {
    const big = JSON.stringify({ ...SEED_ORDER, padding: 'x'.repeat(300 * 1024) });
    expectError(await request(url, 'POST', '/orders/async', { body: big }), 413, 'payload_too_large');
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const response = await fetch(`${url}/orders/async`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).to.equal(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).to.equal('payload_too_large');
  });

  it('415 when the body is not declared JSON', async () => {
    expectError(await request(url, 'POST', '/orders/async', { body: 'order_id=1', contentType: 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
    expectError(await request(url, 'POST', '/orders/sync', { body: JSON.stringify(SEED_ORDER), contentType: 'text/plain' }), 415, 'unsupported_media_type');
  });

  it('404 for an unknown path', async () => {
    expectError(await request(url, 'GET', '/orders'), 404, 'not_found');
    expectError(await request(url, 'POST', '/nope', { body: SEED_ORDER }), 404, 'not_found');
  });

  it('405 with Allow for a wrong method', async () => {
    const orders = await request(url, 'GET', '/orders/async');
    expectError(orders, 405, 'method_not_allowed');
    expect(orders.headers.get('allow')).to.equal('POST');
    const health = await request(url, 'DELETE', '/health');
    expectError(health, 405, 'method_not_allowed');
    expect(health.headers.get('allow')).to.equal('HEAD, GET');
  });

  it('accepted nothing that was rejected: no 4xx order was published', async () => {
    await stack.logs.waitFor('the processor to go quiet', () => stack.processor?.stats.inFlight === 0);
    const processed = stack.logs.events('order.processed', (line) => line.path === 'ecs').map((line) => line.order_id);
    expect(processed).to.deep.equal(['async-1']);
  });
});

describe('receiver when SNS does not take the order', function () {
  this.timeout(30_000);
  let receiver: ReceiverServer;
  let logs: LogCollector;

  afterEach(() => receiver?.stop());

  let table: TestOrdersTable;
  before(async () => {
    table = await startTestOrdersTable();
  });
  after(() => table?.stop());

  async function receiverFor(endpoint: string, topicArn: string): Promise<ReceiverServer> {
    logs = new LogCollector();
    const logger = createLogger({ component: 'receiver', destination: logs });
    const sns = createSnsClient({ region: 'us-east-1', endpoint }, { maxAttempts: 2, requestTimeoutMs: 2000 });
    const orders = intakeWith(table, new SnsOrderPublisher(sns, topicArn));
    receiver = await startReceiver({ port: 0, host: '127.0.0.1', shutdownTimeoutMs: 1000, logger, processingTimeMs: 0, orders });
    return receiver;
  }

  it('503, never 202, when the topic does not exist', async () => {
    const stack = await startTestStack();
    try {
      const server = await receiverFor(stack.emulatorUrl, `${stack.resources.topicArn}-missing`);
      const result = await request(server.url, 'POST', '/orders/async', { body: SEED_ORDER });
      const error = expectError(result, 503, 'publish_failed');
      expect(error.message).to.contain('not confirmed');
      expect(result.headers.get('retry-after')).to.equal('1');
      expect(logs.events('order.publish_failed')).to.have.length(1);
      expect(logs.events('order.accepted')).to.be.empty;
    } finally {
      await stack.stop();
    }
  });

  it('503 when SNS is unreachable', async () => {
    const server = await receiverFor(`http://127.0.0.1:${await freePort()}`, 'arn:aws:sns:us-east-1:000000000000:ordersync-test-orders');
    expectError(await request(server.url, 'POST', '/orders/async', { body: SEED_ORDER }), 503, 'publish_failed');
    // The sync path does not need SNS and keeps working.
    expect((await request(server.url, 'POST', '/orders/sync', { body: SEED_ORDER })).status).to.equal(200);
  });
});
