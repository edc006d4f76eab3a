import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { recordAccepted } from '../../artillery/processor.mts';
import { parseLoadAsyncArgs } from '../../scripts/load-async.ts';
import {
  checkAcceptedOrders,
  formatStatusCheck,
  parseAcceptedLines,
  type AcceptedOrder,
  type Observation,
  type StatusBody,
} from '../../scripts/load/status-check.ts';

const order = (id: string): AcceptedOrder => ({ orderId: id, messageId: `m-${id}`, statusUrl: `http://receiver/orders/${id}` });

function status(id: string, summary: StatusBody['status'], paths: StatusBody['paths'] = {}): Observation {
  return { kind: 'status', body: { order_id: id, status: summary, paths } };
}
const processed = { status: 'processed' as const, attempts: 1 };
const processing = { status: 'processing' as const, attempts: 1 };

/** A status reader that answers from a script per order: one answer per look, the last one repeated. */
function scripted(answers: Record<string, Observation[]>) {
  const looks = new Map<string, number>();
  const read = async (accepted: AcceptedOrder): Promise<Observation> => {
    const count = looks.get(accepted.orderId) ?? 0;
    looks.set(accepted.orderId, count + 1);
    const list = answers[accepted.orderId] ?? [];
    return list[Math.min(count, list.length - 1)] ?? { kind: 'http', code: 404, errorCode: 'order_not_found' };
  };
  return { read, looks: (id: string) => looks.get(id) ?? 0 };
}

describe('load:async status check', () => {
  it('passes when every order is processed, asking again only for those that were not yet', async () => {
    const reader = scripted({
      a: [status('a', 'processed', { ecs: processed })],
      b: [status('b', 'accepted'), status('b', 'processing', { ecs: processing }), status('b', 'processed', { ecs: processed })],
    });
    const result = await checkAcceptedOrders([order('a'), order('b'), order('a')], { paths: 'auto', waitMs: 5000, pollMs: 1, read: reader.read });
    expect(result).to.include({ accepted: 2, processed: 2, pathsFrom: 'seen' });
    expect(result.paths).to.deep.equal(['ecs']);
    expect(result.notProcessed).to.deep.equal([]);
    expect(reader.looks('a')).to.equal(1);
    expect(reader.looks('b')).to.equal(3);
    expect(formatStatusCheck(result)).to.match(/^Status check .*: 2 of 2 accepted orders processed on ecs \(the paths the orders showed/);
  });

  it('fails, naming them, the orders not processed within the wait: still queued, processing, dead-lettered, unknown', async () => {
    const reader = scripted({
      done: [status('done', 'processed', { ecs: processed })],
      queued: [status('queued', 'accepted')],
      slow: [status('slow', 'processing', { ecs: { status: 'failed', attempts: 2, last_error: { code: 'boom', message: 'x' } } })],
      poison: [status('poison', 'dead_lettered', { ecs: { status: 'dead_lettered', attempts: 5 } })],
    });
    const result = await checkAcceptedOrders(['done', 'queued', 'slow', 'poison', 'lost'].map(order), { paths: 'auto', waitMs: 30, pollMs: 5, read: reader.read });
    expect(result).to.include({ accepted: 5, processed: 1 });
    expect(result.notProcessed).to.deep.equal([
      { orderId: 'queued', state: 'accepted (ecs: not claimed)' },
      { orderId: 'slow', state: 'processing (ecs: failed, attempts 2, last error boom)' },
      { orderId: 'poison', state: 'dead_lettered (ecs: dead_lettered, attempts 5)' },
      { orderId: 'lost', state: '404 order_not_found' },
    ]);
    // A dead-lettered order is final: looked at once. The others until the wait ran out.
    expect(reader.looks('poison')).to.equal(1);
    expect(reader.looks('queued')).to.be.above(1);
    const text = formatStatusCheck(result);
    expect(text).to.contain('1 of 5 accepted orders processed on ecs');
    expect(text).to.contain('NOT processed: 4\n  queued  accepted (ecs: not claimed)\n');
  });

  it('with both paths named, an order processed on one path only is not processed', async () => {
    const reader = scripted({
      a: [status('a', 'processed', { ecs: processed, lambda: processed })],
      b: [status('b', 'processed', { ecs: processed })],
    });
    const both = await checkAcceptedOrders([order('a'), order('b')], { paths: ['ecs', 'lambda'], waitMs: 10, pollMs: 5, read: reader.read });
    expect(both.notProcessed).to.deep.equal([{ orderId: 'b', state: 'processed (ecs: processed, attempt 1; lambda: not claimed)' }]);
    expect(formatStatusCheck(both)).to.contain('1 of 2 accepted orders processed on ecs and lambda, after');
    // auto learns the paths from the orders: lambda shows on a, so b must have it too.
    const auto = await checkAcceptedOrders([order('b'), order('a')], { paths: 'auto', waitMs: 10, pollMs: 5, read: scripted({ a: [status('a', 'processed', { ecs: processed, lambda: processed })], b: [status('b', 'processed', { ecs: processed })] }).read });
    expect(auto.paths).to.deep.equal(['ecs', 'lambda']);
    expect(auto.notProcessed.map((entry) => entry.orderId)).to.deep.equal(['b']);
  });

  it('reports an unreachable receiver, and waits no longer than told', async () => {
    let now = 0;
    const result = await checkAcceptedOrders([order('a')], {
      paths: ['ecs'],
      waitMs: 2000,
      pollMs: 1,
      now: () => (now += 500),
      read: async () => ({ kind: 'unreachable', message: 'fetch failed' }),
    });
    expect(result.notProcessed).to.deep.equal([{ orderId: 'a', state: 'no answer (fetch failed)' }]);
    expect(result.elapsedMs).to.be.at.most(3000);
  });

  it('reads the accepted orders the Artillery hook records: only 202s, with the Location made absolute', () => {
    const file = join(tmpdir(), `ordersync-accepted-${process.pid}-${Date.now()}.jsonl`);
    const previous = process.env.ORDERSYNC_ACCEPTED_ORDERS_FILE;
    process.env.ORDERSYNC_ACCEPTED_ORDERS_FILE = file;
    try {
      const errors: (Error | undefined)[] = [];
      const done = (error?: Error) => errors.push(error);
      const params = { url: 'http://127.0.0.1:9999/orders/async' };
      recordAccepted(params, { statusCode: 202, headers: { location: '/orders/load-1' }, body: '{"status":"accepted","order_id":"load-1","message_id":"m1"}' }, { vars: {} }, undefined, done);
      recordAccepted(params, { statusCode: 400, headers: {}, body: '{"error":{}}' }, { vars: {} }, undefined, done);
      expect(errors).to.deep.equal([undefined, undefined]);
      const text = readFileSync(file, 'utf8');
      expect(parseAcceptedLines(text)).to.deep.equal([{ orderId: 'load-1', messageId: 'm1', statusUrl: 'http://127.0.0.1:9999/orders/load-1' }]);
    } finally {
      if (previous === undefined) delete process.env.ORDERSYNC_ACCEPTED_ORDERS_FILE;
      else process.env.ORDERSYNC_ACCEPTED_ORDERS_FILE = previous;
      rmSync(file, { force: true });
    }
  });

  it('takes its own flags and passes the rest to artillery run', () => {
    expect(parseLoadAsyncArgs([])).to.deep.equal({ paths: 'auto', waitMs: 60_000, artilleryArgs: [] });
    expect(parseLoadAsyncArgs(['--target', 'http://x', '--processor', 'both', '-e', 'smoke', '--wait-seconds=2.5'])).to.deep.equal({
      paths: ['ecs', 'lambda'],
      waitMs: 2500,
      artilleryArgs: ['--target', 'http://x', '-e', 'smoke'],
    });
    expect(parseLoadAsyncArgs(['--processor=lambda'])).to.include({ waitMs: 60_000 }).and.to.have.deep.property('paths', ['lambda']);
    expect(parseLoadAsyncArgs(['-h'])).to.equal('help');
    expect(() => parseLoadAsyncArgs(['--processor', 'k8s'])).to.throw('--processor must be ecs, lambda, both or auto (got "k8s")');
    expect(() => parseLoadAsyncArgs(['--wait-seconds', 'soon'])).to.throw('--wait-seconds must be a number of seconds from 0 to 3600 (got "soon")');
    expect(() => parseLoadAsyncArgs(['--wait-seconds'])).to.throw('--wait-seconds needs a value');
  });
});
