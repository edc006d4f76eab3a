import { expect } from 'chai';
import { InvalidOrderError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/logger.ts';
import { createProcessOrderHandler } from '../../handlers/process-order-handler.ts';
import { lambdaContext, snsEventFor } from '../../local/sns-event.ts';
import { LogCollector } from '../../local/log-collector.ts';
import { makeOrder, SEED_ORDER } from '../support/orders.ts';

describe('processOrder Lambda handler', () => {
  let logs: LogCollector;
  let handler: ReturnType<typeof createProcessOrderHandler>;
  const context = () => lambdaContext('ordersync-test-processOrder', 5000);

  beforeEach(() => {
    logs = new LogCollector();
    handler = createProcessOrderHandler({ logger: createLogger({ component: 'lambda', destination: logs }), processingTimeMs: 20 });
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
    const good = spawnChild(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { PROCESSING_TIME_MS: '10' });
    expect((await good.exited).code, good.stderr()).to.equal(0);
    expect(good.stdout()).to.equal('function');

    const bad = spawnChild(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { PROCESSING_TIME_MS: 'slow' });
    expect((await bad.exited).code).to.not.equal(0);
    expect(bad.stderr()).to.contain('PROCESSING_TIME_MS must be an integer from 0 to 600000 (got "slow")');
  });
});
