import { expect } from 'chai';
import { InvalidOrderError, MalformedMessageError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/logger.ts';
import type { OrderMessage } from '../../lib/order-message.ts';
import { handleOrderMessage, OrderHeldError, orderTotal, processOrder, type OrderClaims, type OrderDelivery } from '../../lib/order-processing.ts';
import type { OrderRecords } from '../../lib/order-records.ts';
import { LogCollector } from '../../local/log-collector.ts';
import { makeOrder, SEED_ORDER } from '../support/orders.ts';
import { startClaimsTable, type ClaimsTable } from '../support/path-records.ts';

describe('order core', function () {
  this.timeout(20_000);
  let logs: LogCollector;
  let table: ClaimsTable;
  let records: OrderRecords;
  let sequence = 0;
  const logger = () => createLogger({ component: 'test', destination: logs });
  /** An order id no other test uses. */
  const freshId = (label: string) => `${label}-${process.pid}-${++sequence}`;

  before(async () => {
    table = await startClaimsTable('core');
    records = table.records;
  });
  after(() => table?.stop());
  beforeEach(() => {
    logs = new LogCollector();
  });

  /** A path's claims: a 10 s lease, no waiting for a holder, no final attempt, unless overridden. */
  const claims = (overrides: Partial<OrderClaims> = {}): OrderClaims => ({
    records,
    leaseMs: () => 10_000,
    waitForHolderUntil: () => 0,
    isFinalAttempt: () => false,
    pollMs: 20,
    ...overrides,
  });
  const delivery = (overrides: Partial<OrderDelivery> = {}): OrderDelivery => ({
    path: 'ecs',
    messageId: 'm-1',
    logger: logger(),
    processingTimeMs: 0,
    claims: claims(),
    ...overrides,
  });
  const messageOf = (payload: unknown, requestId = 'req-1'): (() => OrderMessage) => () => ({ payload, requestId, acceptedAt: undefined });

  it('computes totals in cents', () => {
    expect(orderTotal({ ...SEED_ORDER, items: [{ product_id: 'a', quantity: 3, price: 0.1 }, { product_id: 'b', quantity: 1, price: 0.2 }] })).to.equal(0.5);
    expect(orderTotal(makeOrder('x', 3))).to.equal(59.94); // 9.99 × (1 + 2 + 3)
  });

  it('takes the processing time and yields the result every path logs', async () => {
    const started = performance.now();
    const result = await processOrder(SEED_ORDER, {
      path: 'sync',
      requestId: 'req-1',
      logger: logger(),
      processingTimeMs: 60,
      acceptedAt: Date.now() - 5,
    });
    expect(performance.now() - started).to.be.at.least(59);
    expect(result).to.include({ order_id: '001', customer_id: 123, item_count: 1, unit_count: 1, total: 19.99, path: 'sync', request_id: 'req-1' });
    expect(result.processing_ms).to.be.at.least(59);
    expect(result.end_to_end_ms).to.be.at.least(result.processing_ms);
    const [line] = logs.events('order.processed');
    expect(line).to.include({ order_id: '001', path: 'sync', request_id: 'req-1', processing_ms: result.processing_ms });
  });

  it('claims, processes and completes a queued order: its record holds the result and timings', async () => {
    const order = makeOrder(freshId('ok'));
    const result = await handleOrderMessage(messageOf(order, 'req-ok'), delivery({ processingTimeMs: 30, attempt: 1 }));
    expect(result).to.include({ order_id: order.order_id, path: 'ecs', request_id: 'req-ok' });
    expect(logs.events('order.processed')).to.have.length(1);
    const record = (await records.status(order.order_id))?.paths.ecs;
    expect(record).to.include({ status: 'processed', attempts: 1, processing_ms: result.processing_ms });
    expect(record?.result).to.deep.equal({ ...result });
    expect(record?.lease_until).to.equal(undefined);
  });

  it('the same message twice: processed once, the second acknowledged as order.duplicate with the first processing\'s time', async () => {
    const order = makeOrder(freshId('dup'));
    const first = await handleOrderMessage(messageOf(order, 'req-a'), delivery({ messageId: 'm-a' }));
    const second = await handleOrderMessage(messageOf(order, 'req-b'), delivery({ messageId: 'm-b', attempt: 2 }));
    expect(second).to.deep.equal(first);
    expect(logs.events('order.processed')).to.have.length(1);
    const [duplicate] = logs.events('order.duplicate');
    expect(duplicate).to.include({
      order_id: order.order_id,
      path: 'ecs',
      request_id: 'req-b',
      message_id: 'm-b',
      first_request_id: 'req-a',
      processed_at: new Date(Number((await records.status(order.order_id))?.paths.ecs?.processed_at)).toISOString(),
      attempt: 2,
    });
    // Per path: the Lambda's record is its own.
    await handleOrderMessage(messageOf(order, 'req-c'), delivery({ path: 'lambda' }));
    expect(logs.events('order.processed', (line) => line.path === 'lambda')).to.have.length(1);
  });

  it('another order under a processed order_id: not processed, logged as order.conflict, and counted on the path\'s record', async () => {
    const order = makeOrder(freshId('conflict'));
    await handleOrderMessage(messageOf(order, 'req-first'), delivery({ messageId: 'm-first' }));
    // The same order again (its fields in another order: the same order) is a duplicate ...
    const reordered = { items: order.items, customer_id: order.customer_id, order_id: order.order_id };
    await handleOrderMessage(messageOf(reordered, 'req-again'), delivery({ messageId: 'm-again' }));
    // ... another body under its id is a conflict, as is a body that is no valid order.
    await handleOrderMessage(messageOf({ ...order, customer_id: order.customer_id + 1 }, 'req-other'), delivery({ messageId: 'm-other' }));
    await handleOrderMessage(messageOf({ order_id: order.order_id, customer_id: 'x' }, 'req-bad'), delivery({ messageId: 'm-bad' }));
    expect(logs.events('order.processed')).to.have.length(1);
    expect(logs.events('order.duplicate').map((line) => line.message_id)).to.deep.equal(['m-again']);
    const conflicts = logs.events('order.conflict');
    expect(conflicts.map((line) => line.message_id)).to.deep.equal(['m-other', 'm-bad']);
    expect(conflicts[0]).to.include({ level: 'error', order_id: order.order_id, path: 'ecs', request_id: 'req-other', first_request_id: 'req-first' });
    const record = (await records.status(order.order_id))?.paths.ecs;
    expect(record).to.include({ status: 'processed', conflicts: 2 });
    expect(record?.last_conflict).to.include({ message_id: 'm-bad', request_id: 'req-bad', body_sha256: 'invalid' });
    expect(record?.result).to.include({ customer_id: order.customer_id, request_id: 'req-first' });
  });

  it('logs order.failed with the request id, records the failed attempt and rethrows an invalid order', async () => {
    const id = freshId('bad');
    let thrown: unknown;
    await handleOrderMessage(messageOf({ order_id: id }, 'req-2'), delivery({ attempt: 2 })).catch((error: unknown) => (thrown = error));
    expect(thrown).to.be.instanceOf(InvalidOrderError);
    const [line] = logs.events('order.failed');
    expect(line).to.include({ order_id: id, path: 'ecs', request_id: 'req-2', message_id: 'm-1', attempt: 2 });
    expect(logs.events('order.processed')).to.be.empty;
    const record = (await records.status(id))?.paths.ecs;
    expect(record).to.include({ status: 'failed', attempts: 1 });
    expect(record?.last_error?.code).to.equal('invalid_order');
    expect(record?.lease_until, 'a failure clears the lease: the redelivery claims at once').to.equal(undefined);
  });

  it('on the final attempt, a failure marks the record dead_lettered', async () => {
    const id = freshId('final');
    for (const attempt of [1, 2, 3]) {
      await handleOrderMessage(
        messageOf({ order_id: id, customer_id: 1, items: [] }),
        delivery({ path: 'lambda', claims: claims({ isFinalAttempt: (claimAttempt) => claimAttempt === 3 }) }),
      ).catch(() => undefined);
      expect((await records.status(id))?.paths.lambda).to.include({ status: attempt === 3 ? 'dead_lettered' : 'failed', attempts: attempt });
    }
    expect(logs.events('order.failed').map((line) => line.final)).to.deep.equal([undefined, undefined, true]);
    expect((await records.status(id))?.paths.lambda?.dead_lettered_at).to.be.a('number');
  });

  it('logs order.failed with the message id when the message cannot be decoded, and has no record to write', async () => {
    const decode = () => {
      throw new MalformedMessageError('SQS message body is not JSON', 'm-2');
    };
    await handleOrderMessage(decode, delivery({ path: 'lambda', messageId: 'm-2', claims: claims({ isFinalAttempt: () => true }) })).catch(() => undefined);
    const [line] = logs.events('order.failed');
    expect(line).to.include({ path: 'lambda', request_id: 'm-2' });
    expect(line?.error).to.deep.equal({ code: 'malformed_message', message: 'SQS message body is not JSON' });
    expect(logs.events('order.record_failed')).to.be.empty;
  });

  it('an order id that is not a valid one gets no record either', async () => {
    await handleOrderMessage(messageOf({ order_id: 'no spaces allowed', customer_id: 1, items: [] }), delivery({ claims: claims({ isFinalAttempt: () => true }) })).catch(
      () => undefined,
    );
    expect(await records.status('no spaces allowed')).to.equal(undefined);
    expect(logs.events('order.failed')).to.have.length(1);
  });

  it('stops work handed back at shutdown without logging it as failed or processed, and releases the claim', async () => {
    const order = makeOrder(freshId('released'));
    const controller = new AbortController();
    const running = handleOrderMessage(messageOf(order, 'req-3'), delivery({ processingTimeMs: 10_000, signal: controller.signal }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    let thrown: unknown;
    await running.catch((error: unknown) => (thrown = error));
    expect(thrown).to.be.instanceOf(Error);
    expect(logs.events('order.released')).to.have.length(1);
    expect(logs.events('order.failed')).to.be.empty;
    expect(logs.events('order.processed')).to.be.empty;
    // The lease has ended: the next delivery claims at once (attempt 2) instead of waiting 10 s.
    const claim = await records.claim(order.order_id, 'ecs', { leaseMs: 1000 });
    expect(claim).to.include({ outcome: 'claimed', attempt: 2 });
  });

  it('held by a live claim and not allowed to wait: OrderHeldError with the lease left, logged as order.held, nothing recorded', async () => {
    const order = makeOrder(freshId('held'));
    const holder = await records.claim(order.order_id, 'ecs', { leaseMs: 5000 });
    let thrown: unknown;
    await handleOrderMessage(messageOf(order), delivery()).catch((error: unknown) => (thrown = error));
    expect(thrown).to.be.instanceOf(OrderHeldError);
    expect((thrown as OrderHeldError).retryAfterMs).to.be.within(4000, 5000);
    expect(logs.events('order.held')).to.have.length(1);
    expect(logs.events('order.failed')).to.be.empty;
    expect((await records.status(order.order_id))?.paths.ecs).to.include({ status: 'processing', attempts: 1, claim_token: holder.outcome === 'claimed' ? holder.token : '' });
  });

  it('held, allowed to wait: acknowledges the duplicate once the holder completes', async () => {
    const order = makeOrder(freshId('wait-done'));
    const holder = await records.claim(order.order_id, 'ecs', { leaseMs: 5000 });
    if (holder.outcome !== 'claimed') throw new Error('the holder must claim');
    const waiting = handleOrderMessage(messageOf(order), delivery({ claims: claims({ waitForHolderUntil: () => Date.now() + 3000 }) }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await records.complete(order.order_id, 'ecs', holder.token, { result: { order_id: order.order_id, request_id: 'req-holder' }, processingMs: 5 });
    await waiting;
    expect(logs.events('order.duplicate')[0]).to.include({ first_request_id: 'req-holder' });
    expect(logs.events('order.processed')).to.be.empty;
  });

  it('held, allowed to wait: takes a crashed holder\'s claim over once its lease runs out', async () => {
    const order = makeOrder(freshId('wait-crash'));
    await records.claim(order.order_id, 'lambda', { leaseMs: 400 });
    const started = Date.now();
    await handleOrderMessage(messageOf(order), delivery({ path: 'lambda', claims: claims({ waitForHolderUntil: () => Date.now() + 3000 }) }));
    expect(Date.now() - started).to.be.at.least(390);
    expect(logs.events('order.processed')).to.have.length(1);
    expect((await records.status(order.order_id))?.paths.lambda).to.include({ status: 'processed', attempts: 2 });
  });

  it('a claim lost to a takeover is logged as order.claim_lost, not processed, and the new holder\'s record stays', async () => {
    const order = makeOrder(freshId('lost'));
    // A lease far shorter than the work: another worker takes the order over meanwhile.
    const running = handleOrderMessage(messageOf(order), delivery({ processingTimeMs: 400, claims: claims({ leaseMs: () => 50 }) }));
    await new Promise((resolve) => setTimeout(resolve, 150));
    const takeover = await records.claim(order.order_id, 'ecs', { leaseMs: 10_000 });
    expect(takeover).to.include({ outcome: 'claimed', attempt: 2 });
    await running;
    expect(logs.events('order.claim_lost')).to.have.length(1);
    expect(logs.events('order.processed')).to.be.empty;
    expect((await records.status(order.order_id))?.paths.ecs).to.include({ status: 'processing', attempts: 2, claim_token: takeover.outcome === 'claimed' ? takeover.token : '' });
  });
});
