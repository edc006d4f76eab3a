import { expect } from 'chai';
import { InvalidOrderError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/logger.ts';
import { createProcessOrderHandler, LAMBDA_LEASE_MARGIN_MS } from '../../handlers/process-order-handler.ts';
import { lambdaContext, snsEventFor } from '../../local/sns-event.ts';
import { LogCollector } from '../../local/log-collector.ts';
import { makeOrder, SEED_ORDER } from '../support/orders.ts';
import { startClaimsTable, type ClaimsTable } from '../support/path-records.ts';

describe('processOrder Lambda handler', function () {
  this.timeout(20_000);
  let logs: LogCollector;
  let table: ClaimsTable;
  let handler: ReturnType<typeof createProcessOrderHandler>;
  const context = (timeoutMs = 5000) => lambdaContext('ordersync-test-processOrder', timeoutMs);

  before(async () => {
    table = await startClaimsTable('handler');
  });
  after(() => table?.stop());
  beforeEach(() => {
    logs = new LogCollector();
    handler = createProcessOrderHandler({
      logger: createLogger({ component: 'lambda', destination: logs }),
      processingTimeMs: 20,
      records: table.records,
      pollMs: 20,
    });
  });

  it('processes the order of an SNS event through the shared core', async () => {
    const event = snsEventFor(JSON.stringify(SEED_ORDER), { attributes: { request_id: 'req-42', accepted_at: String(Date.now()) } });
    const ctx = context();
    const results = await handler(event, ctx);
    expect(results).to.have.length(1);
    expect(results[0]).to.include({ order_id: '001', path: 'lambda', request_id: 'req-42', total: 19.99 });
    const [line] = logs.events('order.processed');
    expect(line).to.include({ order_id: '001', path: 'lambda', request_id: 'req-42', aws_request_id: ctx.awsRequestId });
  });

  it('throws on an invalid order, so Lambda retries it', async () => {
    const event = snsEventFor(JSON.stringify({ order_id: 'bad' }), { attributes: { request_id: 'req-bad' } });
    let thrown: unknown;
    await handler(event, context()).catch((error: unknown) => (thrown = error));
    expect(thrown).to.be.instanceOf(InvalidOrderError);
    expect(logs.events('order.failed')[0]).to.include({ order_id: 'bad', request_id: 'req-bad', path: 'lambda' });
  });

  it('throws on a message that is not JSON', async () => {
    let thrown: unknown;
    await handler(snsEventFor('<xml/>'), context()).catch((error: unknown) => (thrown = error));
    expect(thrown).to.have.property('code', 'malformed_message');
  });

  it('acknowledges a second delivery of a processed order as order.duplicate, with the first result', async () => {
    const order = makeOrder(`lambda-dup-${process.pid}`);
    const event = snsEventFor(JSON.stringify(order), { attributes: { request_id: 'req-first' } });
    const [first] = await handler(event, context());
    const [second] = await handler(event, context());
    expect(second).to.deep.equal(first);
    expect(logs.events('order.processed')).to.have.length(1);
    expect(logs.events('order.duplicate')[0]).to.include({ order_id: order.order_id, path: 'lambda', first_request_id: 'req-first' });
  });

  it('leases a claim for the invocation\'s remaining time plus the margin', async () => {
    const order = makeOrder(`lambda-lease-${process.pid}`);
    let leaseUntil: number | undefined;
    const slow = createProcessOrderHandler({ logger: createLogger({ component: 'lambda', destination: logs }), processingTimeMs: 300, records: table.records });
    const ctx = context(4000);
    const running = slow(snsEventFor(JSON.stringify(order)), ctx);
    await new Promise((resolve) => setTimeout(resolve, 100));
    leaseUntil = (await table.records.status(order.order_id))?.paths.lambda?.lease_until;
    await running;
    const deadline = Date.now() + ctx.getRemainingTimeInMillis();
    expect(leaseUntil).to.be.a('number');
    // Claimed at the start with ~4 s left: the lease ends about 1 s after the invocation's deadline.
    expect(Number(leaseUntil) - deadline).to.be.within(LAMBDA_LEASE_MARGIN_MS - 200, LAMBDA_LEASE_MARGIN_MS + 200);
  });

  it('waits for another invocation\'s claim of the same order, bounded by its remaining time, then fails as held', async () => {
    const order = makeOrder(`lambda-held-${process.pid}`);
    await table.records.claim(order.order_id, 'lambda', { leaseMs: 60_000 });
    const started = Date.now();
    let thrown: unknown;
    // 1.5 s left, 20 ms of work, 1 s kept for it: about 0.5 s of waiting.
    await handler(snsEventFor(JSON.stringify(order)), context(1500)).catch((error: unknown) => (thrown = error));
    expect(Date.now() - started).to.be.within(400, 1200);
    expect(thrown).to.have.property('code', 'order_held');
    expect(logs.events('order.held')).to.have.length(1);
    expect(logs.events('order.failed')).to.be.empty;
  });

  it('processes every record and throws when any failed', async () => {
    const good = snsEventFor(JSON.stringify(makeOrder('a'))).Records;
    const bad = snsEventFor('{}').Records;
    const worse = snsEventFor('nope').Records;
    let thrown: unknown;
    await handler({ Records: [...good, ...bad, ...worse] }, context()).catch((error: unknown) => (thrown = error));
    expect(thrown).to.be.instanceOf(AggregateError);
    expect(logs.events('order.processed')).to.have.length(1);
    expect(logs.events('order.failed')).to.have.length(2);
  });
});

describe('processOrder entry point (handlers/process-order.handler)', function () {
  this.timeout(20_000);

  it('reads its configuration at init and fails it with a plain message', async () => {
    const { spawnChild } = await import('../support/child-process.ts');
    const script = "const { handler } = await import('./handlers/process-order.ts'); process.stdout.write(typeof handler);";
    const good = spawnChild(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { PROCESSING_TIME_MS: '10', ORDERS_TABLE_NAME: 'ordersync-test-orders' });
    expect((await good.exited).code, good.stderr()).to.equal(0);
    expect(good.stdout()).to.equal('function');

    const bad = spawnChild(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { PROCESSING_TIME_MS: 'slow', ORDERS_TABLE_NAME: 'ordersync-test-orders' });
    expect((await bad.exited).code).to.not.equal(0);
    expect(bad.stderr()).to.contain('PROCESSING_TIME_MS must be an integer from 0 to 600000 (got "slow")');
  });
});
