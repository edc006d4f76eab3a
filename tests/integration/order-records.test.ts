import { GetItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { AcceptedRecords } from '../../lib/accepted-records.ts';
import { createDynamoDbClient } from '../../lib/aws-clients.ts';
import { OrderRecords, orderBodySha256, toItem, type PathRecord } from '../../lib/order-records.ts';
import type { Order } from '../../lib/order-schema.ts';
import { createOrdersTable, startDynamoEmulator, type DynamoEmulator } from '../../local/dynamodb-emulator.ts';
import { makeOrder } from '../support/orders.ts';

/**
 * The order store against dynalite with the real SDK client. Time is injected (`clock`), so a lease
 * runs out or a record passes its retention without a test sleeping for it. Every test uses order
 * ids of its own, so they share one table.
 */

const RETENTION_DAYS = 30;
const LEASE_MS = 60_000;
const DAY_MS = 86_400_000;

describe('Order records (lib/order-records.ts) against the DynamoDB emulator', function () {
  this.timeout(60_000);
  let emulator: DynamoEmulator;
  let dynamodb: DynamoDBClient;
  let tableName: string;
  /** Commands the client sent, by name, since the last reset. */
  let calls: string[];
  let clock: number;
  let records: OrderRecords;
  let sequence = 0;

  /** An order id no other test uses. */
  const freshId = (label: string) => `${label}-${process.pid}-${++sequence}`;

  function storeWith(now: () => number, options: { tableName?: string } = {}): OrderRecords {
    return new OrderRecords({ dynamodb, tableName: options.tableName ?? tableName, retentionDays: RETENTION_DAYS, now });
  }

  before(async () => {
    emulator = await startDynamoEmulator();
    dynamodb = createDynamoDbClient({ region: 'us-east-1', endpoint: emulator.url });
    calls = [];
    dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );
    tableName = await createOrdersTable(dynamodb, 'test');
  });
  after(async () => {
    dynamodb?.destroy();
    await emulator?.stop();
  });
  beforeEach(() => {
    clock = Date.UTC(2025, 0, 1, 12, 0, 0);
    records = storeWith(() => clock);
    calls.length = 0;
  });

  /** The order's accepted record, as the receiver writes it after its 202 (lib/accepted-records.ts). */
  const accept = (order: Order, requestId = 'req-1') =>
    new AcceptedRecords({ dynamodb, tableName, retentionDays: RETENTION_DAYS, timeoutMs: 5_000, now: () => clock }).put({
      order_id: order.order_id,
      body_sha256: orderBodySha256(order),
      request_id: requestId,
      accepted_at: clock,
      message_id: `message-of-${requestId}`,
    });

  describe('claim', () => {
    it('first claim wins (attempt 1); a second while the lease is live is `held`; after complete, a duplicate is `processed`', async () => {
      const id = freshId('claim');
      const first = await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w1' });
      expect(first).to.deep.equal({ outcome: 'claimed', attempt: 1, token: 'w1', leaseUntil: clock + LEASE_MS });

      clock += LEASE_MS - 1;
      const second = await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w2' });
      expect(second.outcome).to.equal('held');
      expect(second.outcome === 'held' && second.leaseUntil).to.equal(clock + 1);

      const result = { order_id: id, total: 19.99, path: 'ecs' };
      expect(await records.complete(id, 'ecs', 'w1', { result, processingMs: 42 })).to.equal('processed');

      clock += 10 * LEASE_MS;
      const duplicate = await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w3' });
      expect(duplicate.outcome).to.equal('processed');
      if (duplicate.outcome !== 'processed') return;
      expect(duplicate.record).to.include({ status: 'processed', attempts: 1, processing_ms: 42 });
      expect(duplicate.record.result).to.deep.equal(result);
    });

    it('a crashed claim: once its lease has run out the next delivery claims (attempt 2), and the first worker\'s complete is `lost`', async () => {
      const id = freshId('crash');
      const claimedAt = clock;
      await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'crashed' });
      clock += LEASE_MS + 1;
      const next = await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'next' });
      expect(next).to.include({ outcome: 'claimed', attempt: 2 });

      expect(await records.complete(id, 'ecs', 'crashed', { result: { by: 'crashed' }, processingMs: 1 })).to.equal('lost');
      expect(await records.fail(id, 'ecs', 'crashed', { code: 'x', message: 'late' })).to.equal('lost');
      expect(await records.extendLease(id, 'ecs', 'crashed', LEASE_MS)).to.equal('lost');
      expect(await records.complete(id, 'ecs', 'next', { result: { by: 'next' }, processingMs: 5 })).to.equal('processed');

      const record = (await records.status(id))!.paths.ecs!;
      expect(record).to.include({ status: 'processed', attempts: 2, claim_token: 'next', first_claimed_at: claimedAt });
      expect(record.claimed_at).to.equal(claimedAt + LEASE_MS + 1);
      expect(record.result).to.deep.equal({ by: 'next' });
    });

    it('a lease that ran out but was not taken over still lets its holder complete', async () => {
      const id = freshId('late');
      await records.claim(id, 'lambda', { leaseMs: LEASE_MS, token: 'slow' });
      clock += 5 * LEASE_MS;
      expect(await records.complete(id, 'lambda', 'slow', { result: {}, processingMs: 5 * LEASE_MS })).to.equal('processed');
    });

    it('fail clears the lease: the redelivery claims at once (attempt 2), and the error stays on the record', async () => {
      const id = freshId('fail');
      await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w1' });
      expect(await records.fail(id, 'ecs', 'w1', { code: 'boom', message: 'downstream refused' })).to.equal('failed');

      const failed = (await records.status(id))!.paths.ecs!;
      expect(failed).to.include({ status: 'failed', attempts: 1, failed_at: clock });
      expect(failed.lease_until).to.equal(undefined);
      expect(failed.last_error).to.deep.equal({ code: 'boom', message: 'downstream refused' });

      // Same instant, well inside the first lease: no waiting for it.
      const again = await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w2' });
      expect(again).to.include({ outcome: 'claimed', attempt: 2 });
      expect(await records.complete(id, 'ecs', 'w2', { result: { ok: true }, processingMs: 3 })).to.equal('processed');
      const done = (await records.status(id))!.paths.ecs!;
      expect(done).to.include({ status: 'processed', attempts: 2 });
      expect(done.last_error).to.deep.equal({ code: 'boom', message: 'downstream refused' });
    });

    it('each path is claimed on its own: processed on ecs leaves lambda to claim', async () => {
      const id = freshId('paths');
      await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'e1' });
      await records.complete(id, 'ecs', 'e1', { result: { path: 'ecs' }, processingMs: 1 });
      expect(await records.claim(id, 'lambda', { leaseMs: LEASE_MS, token: 'l1' })).to.include({ outcome: 'claimed', attempt: 1 });
      expect((await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'e2' })).outcome).to.equal('processed');
      expect((await records.claim(id, 'lambda', { leaseMs: LEASE_MS, token: 'l2' })).outcome).to.equal('held');
      const status = (await records.status(id))!;
      expect(status.paths.ecs!.status).to.equal('processed');
      expect(status.paths.lambda!.status).to.equal('processing');
    });

    it('20 concurrent claims of one order on one path: exactly one claimed, the others held', async () => {
      const id = freshId('claim20');
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, index) => records.claim(id, 'lambda', { leaseMs: LEASE_MS, token: `t${index}` })),
      );
      const claimed = outcomes.filter((outcome) => outcome.outcome === 'claimed');
      expect(claimed).to.have.length(1);
      expect(outcomes.filter((outcome) => outcome.outcome === 'held')).to.have.length(19);
      expect((await records.status(id))!.paths.lambda).to.include({ attempts: 1, claim_token: claimed[0]!.outcome === 'claimed' ? claimed[0]!.token : '' });
    });

    it('extendLease keeps a long job its own; only the holder may extend', async () => {
      const id = freshId('extend');
      await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w1' });
      clock += LEASE_MS - 1000;
      expect(await records.extendLease(id, 'ecs', 'w1', LEASE_MS)).to.equal('extended');
      expect(await records.extendLease(id, 'ecs', 'other', LEASE_MS)).to.equal('lost');
      clock += LEASE_MS - 1000; // past the first lease, inside the extended one
      expect(await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w2' })).to.include({ outcome: 'held' });
      expect((await records.status(id))!.paths.ecs!.lease_until).to.equal(clock + 1000);
    });

    it('dead-letters a failing order, never a processed one; a delivery redriven from the DLQ may claim it again', async () => {
      const id = freshId('dlq');
      await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w1' });
      await records.fail(id, 'ecs', 'w1', { code: 'boom', message: 'first' });
      await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w2' });
      expect(await records.deadLetter(id, 'ecs', { code: 'boom', message: 'last' })).to.equal('dead_lettered');
      const dead = (await records.status(id))!.paths.ecs!;
      expect(dead).to.include({ status: 'dead_lettered', attempts: 2, dead_lettered_at: clock });
      expect(dead.last_error).to.deep.equal({ code: 'boom', message: 'last' });

      // An operator redrives the DLQ once the cause is fixed.
      expect(await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w3' })).to.include({ outcome: 'claimed', attempt: 3 });
      await records.complete(id, 'ecs', 'w3', { result: { ok: true }, processingMs: 1 });
      expect(await records.deadLetter(id, 'ecs', { code: 'late', message: 'a stray last delivery' })).to.equal('processed');
      expect((await records.status(id))!.paths.ecs!.status).to.equal('processed');
    });

    it('a holder still at work when the last delivery gave up completes the order', async () => {
      const id = freshId('dlq-holder');
      await records.claim(id, 'lambda', { leaseMs: LEASE_MS, token: 'holder' });
      expect(await records.deadLetter(id, 'lambda', { code: 'timeout', message: 'gave up' })).to.equal('dead_lettered');
      expect(await records.complete(id, 'lambda', 'holder', { result: {}, processingMs: 9 })).to.equal('processed');
      expect((await records.status(id))!.paths.lambda!.status).to.equal('processed');
    });

    it('fails the last allowed attempt as dead_lettered in the one write, only by the holder; a redrive may claim it again', async () => {
      const id = freshId('fail-final');
      await records.claim(id, 'lambda', { leaseMs: LEASE_MS, token: 'w1' });
      expect(await records.fail(id, 'lambda', 'other', { code: 'boom', message: 'x' }, { deadLettered: true })).to.equal('lost');
      calls.length = 0;
      expect(await records.fail(id, 'lambda', 'w1', { code: 'boom', message: 'last' }, { deadLettered: true })).to.equal('dead_lettered');
      expect(calls).to.deep.equal(['UpdateItemCommand']);
      const dead = (await records.status(id))!.paths.lambda!;
      expect(dead).to.include({ status: 'dead_lettered', attempts: 1, failed_at: clock, dead_lettered_at: clock, claim_token: 'w1' });
      expect(dead.lease_until).to.equal(undefined);
      expect(dead.last_error).to.deep.equal({ code: 'boom', message: 'last' });
      expect(await records.claim(id, 'lambda', { leaseMs: LEASE_MS, token: 'w2' })).to.include({ outcome: 'claimed', attempt: 2 });
    });

    it('release gives a claim back unfinished: the next delivery claims at once, nothing counts as failed; only the holder may', async () => {
      const id = freshId('release');
      await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w1' });
      expect(await records.release(id, 'ecs', 'other')).to.equal('lost');
      expect(await records.release(id, 'ecs', 'w1')).to.equal('released');
      const released = (await records.status(id))!.paths.ecs!;
      expect(released).to.include({ status: 'processing', attempts: 1 });
      expect(released.last_error).to.equal(undefined);
      // Same instant, well inside the first lease.
      expect(await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w2' })).to.include({ outcome: 'claimed', attempt: 2 });
      expect(await records.release(id, 'ecs', 'w1'), 'released, then taken over: the old holder has nothing left to give back').to.equal('lost');
    });

    it('pathRecord reads one path\'s record with one GetItem; none, or an expired one, is undefined', async () => {
      const id = freshId('path-record');
      expect(await records.pathRecord(id, 'ecs')).to.equal(undefined);
      await records.claim(id, 'ecs', { leaseMs: LEASE_MS, token: 'w1' });
      calls.length = 0;
      expect(await records.pathRecord(id, 'ecs')).to.include({ order_id: id, path: 'ecs', status: 'processing', lease_until: clock + LEASE_MS, attempts: 1 });
      expect(calls).to.deep.equal(['GetItemCommand']);
      expect(await records.pathRecord(id, 'lambda')).to.equal(undefined);
      clock += (RETENTION_DAYS + 1) * DAY_MS;
      expect(await records.pathRecord(id, 'ecs')).to.equal(undefined);
    });

    it('dead-letters an order no delivery could claim (attempts 0)', async () => {
      const id = freshId('dlq-unclaimed');
      expect(await records.deadLetter(id, 'lambda', { code: 'store_unavailable', message: 'x' })).to.equal('dead_lettered');
      expect((await records.status(id))!.paths.lambda).to.include({ status: 'dead_lettered', attempts: 0 });
    });
  });

  describe('status', () => {
    it('is undefined for an order never accepted', async () => {
      expect(await records.status(freshId('unknown'))).to.equal(undefined);
    });

    it('shows an order accepted and not yet claimed', async () => {
      const order = makeOrder(freshId('st-acc'));
      await accept(order, 'req-9');
      const status = await records.status(order.order_id);
      expect(status).to.deep.equal({
        order_id: order.order_id,
        accepted: {
          order_id: order.order_id,
          body_sha256: orderBodySha256(order),
          request_id: 'req-9',
          accepted_at: clock,
          message_id: 'message-of-req-9',
          expires_at: Math.floor(clock / 1000) + RETENTION_DAYS * 86_400,
        },
        paths: {},
      });
    });

    it('keeps each acceptance: the first is the order, until a path takes effect with another body; other bodies are listed as conflicting', async () => {
      const order = makeOrder(freshId('st-many'));
      const other = { ...order, customer_id: order.customer_id + 1 };
      await accept(order, 'req-first');
      clock += 10;
      await accept(other, 'req-other');
      clock += 10;
      await accept(order, 'req-repeat');
      let status = (await records.status(order.order_id))!;
      expect(status.accepted).to.include({ request_id: 'req-first', message_id: 'message-of-req-first' });
      expect(status.conflictingAcceptances?.map((record) => record.request_id)).to.deep.equal(['req-other']);

      // The other body reached a path first: it is the order that took effect.
      const claim = await records.claim(order.order_id, 'ecs', { leaseMs: LEASE_MS });
      await records.complete(order.order_id, 'ecs', claim.outcome === 'claimed' ? claim.token : '', { result: {}, processingMs: 1, bodySha256: orderBodySha256(other) });
      status = (await records.status(order.order_id))!;
      expect(status.accepted).to.include({ request_id: 'req-other' });
      expect(status.conflictingAcceptances?.map((record) => record.request_id)).to.deep.equal(['req-first', 'req-repeat']);
    });

    for (const [path, deliveries] of [['ecs', 5], ['lambda', 3]] as const) {
      it(`shows ${path} dead_lettered once the claim of its last allowed delivery (${deliveries}) ran out without an outcome`, async () => {
        const id = freshId(`stalled-${path}`);
        // Every delivery's worker stops without an outcome (killed, timed out): the next one takes over after the lease.
        for (let delivery = 1; delivery <= deliveries; delivery += 1) {
          expect(await records.claim(id, path, { leaseMs: LEASE_MS, token: `t${delivery}` })).to.include({ outcome: 'claimed', attempt: delivery });
          clock += LEASE_MS - 1;
          // Until its lease ends the delivery may still finish; before the last, a redelivery is still to come.
          expect((await records.status(id))!.paths[path]).to.include({ status: 'processing', attempts: delivery });
          clock += 2;
          if (delivery < deliveries) expect((await records.status(id))!.paths[path]).to.include({ status: 'processing' });
        }
        const stalled = (await records.status(id))!.paths[path]!;
        expect(stalled).to.include({ status: 'dead_lettered', attempts: deliveries, dead_lettered_at: stalled.lease_until });
        expect(stalled.last_error?.code).to.equal('lease_expired');
      });
    }

    it('reads the single `accepted` record of a receiver from before one record per acceptance', async () => {
      const order = makeOrder(freshId('st-legacy'));
      await dynamodb.send(
        new PutItemCommand({
          TableName: tableName,
          Item: toItem({ order_id: order.order_id, record: 'accepted', body_sha256: orderBodySha256(order), request_id: 'req-old', accepted_at: clock, message_id: 'm-old', expires_at: Math.floor(clock / 1000) + 60 }),
        }),
      );
      expect((await records.status(order.order_id))?.accepted).to.include({ request_id: 'req-old', message_id: 'm-old' });
    });

    it('shows each path processed with its result and timings', async () => {
      const order = makeOrder(freshId('st-done'));
      const acceptedAt = clock;
      await accept(order);
      clock += 150;
      await records.claim(order.order_id, 'ecs', { leaseMs: LEASE_MS, token: 'e' });
      clock += 30;
      await records.claim(order.order_id, 'lambda', { leaseMs: LEASE_MS, token: 'l' });
      clock += 20;
      const result = {
        order_id: order.order_id,
        customer_id: order.customer_id,
        total: 9.99,
        nested: { list: [1, 'two', true, null], flag: false },
      };
      await records.complete(order.order_id, 'ecs', 'e', { result, processingMs: 20 });

      const status = (await records.status(order.order_id))!;
      expect(status.accepted!.accepted_at).to.equal(acceptedAt);
      const ecs = status.paths.ecs as PathRecord;
      expect(ecs).to.include({
        order_id: order.order_id,
        path: 'ecs',
        status: 'processed',
        attempts: 1,
        first_claimed_at: acceptedAt + 150,
        claimed_at: acceptedAt + 150,
        processed_at: acceptedAt + 200,
        processing_ms: 20,
      });
      expect(ecs.result).to.deep.equal(result);
      expect(ecs.lease_until).to.equal(undefined);
      expect(status.paths.lambda).to.include({ status: 'processing', lease_until: acceptedAt + 180 + LEASE_MS });
    });

    it('sets expires_at = now + retention on every record at every write', async () => {
      const order = makeOrder(freshId('ttl'));
      const expiry = () => Math.floor(clock / 1000) + RETENTION_DAYS * 86_400;
      await accept(order);
      expect((await records.status(order.order_id))!.accepted!.expires_at).to.equal(expiry());

      clock += 5_000;
      await records.claim(order.order_id, 'ecs', { leaseMs: LEASE_MS, token: 'e' });
      expect((await records.status(order.order_id))!.paths.ecs!.expires_at).to.equal(expiry());
      clock += 5_000;
      await records.fail(order.order_id, 'ecs', 'e', { code: 'x', message: 'y' });
      expect((await records.status(order.order_id))!.paths.ecs!.expires_at).to.equal(expiry());
      clock += 5_000;
      await records.claim(order.order_id, 'ecs', { leaseMs: LEASE_MS, token: 'e2' });
      await records.complete(order.order_id, 'ecs', 'e2', { result: {}, processingMs: 1 });
      expect((await records.status(order.order_id))!.paths.ecs!.expires_at).to.equal(expiry());
      clock += 5_000;
      await records.deadLetter(order.order_id, 'lambda', { code: 'x', message: 'y' });
      const status = (await records.status(order.order_id))!;
      expect(status.paths.lambda!.expires_at).to.equal(expiry());
      // The accepted record keeps its own expiry: it was written first.
      expect(status.accepted!.expires_at).to.equal(expiry() - 20);
    });

    it('past its retention an order counts as unknown, whether or not TTL has deleted it yet', async () => {
      const order = makeOrder(freshId('expired'));
      await accept(order);
      await records.claim(order.order_id, 'ecs', { leaseMs: LEASE_MS, token: 'e' });
      await records.complete(order.order_id, 'ecs', 'e', { result: {}, processingMs: 1 });

      clock += RETENTION_DAYS * DAY_MS - 1000;
      expect(await records.status(order.order_id)).to.not.equal(undefined);
      clock += 2000;
      expect(await records.status(order.order_id)).to.equal(undefined);

      // The id is free again: another body is a new order, claimed afresh.
      await accept({ ...order, customer_id: 7 }, 'req-new');
      expect(await records.claim(order.order_id, 'ecs', { leaseMs: LEASE_MS, token: 'e-new' })).to.include({ outcome: 'claimed', attempt: 1 });
      const status = (await records.status(order.order_id))!;
      expect(status.accepted!.request_id).to.equal('req-new');
      expect(status.paths.ecs).to.include({ status: 'processing', attempts: 1, first_claimed_at: clock });
      expect(status.paths.ecs!.result).to.equal(undefined);
    });

    it('an expired path record is replaced by exactly one of 20 concurrent claims', async () => {
      const id = freshId('expired20');
      await records.claim(id, 'lambda', { leaseMs: LEASE_MS, token: 'old' });
      await records.complete(id, 'lambda', 'old', { result: {}, processingMs: 1 });
      clock += (RETENTION_DAYS + 1) * DAY_MS;
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, index) => records.claim(id, 'lambda', { leaseMs: LEASE_MS, token: `n${index}` })),
      );
      expect(outcomes.filter((outcome) => outcome.outcome === 'claimed')).to.have.length(1);
      expect(outcomes.filter((outcome) => outcome.outcome === 'held')).to.have.length(19);
    });
  });

  describe('a failed condition answered with the item, as AWS answers it', () => {
    // dynalite 4 ignores ReturnValuesOnConditionCheckFailure, so the store reads the item once
    // after a failed condition. AWS puts the item in the ConditionalCheckFailedException: a
    // middleware on a second client does that here (from a consistent read on the first client),
    // so that the path AWS takes — no read of the store's own — is exercised too.
    let awsLike: DynamoDBClient;
    let awsCalls: string[];
    let store: OrderRecords;

    before(() => {
      awsLike = createDynamoDbClient({ region: 'us-east-1', endpoint: emulator.url });
      awsCalls = [];
      awsLike.middlewareStack.add(
        (next, context) => async (args) => {
          awsCalls.push(String(context.commandName));
          try {
            return await next(args);
          } catch (error) {
            const input = args.input as { ReturnValuesOnConditionCheckFailure?: string; TableName?: string; Key?: Record<string, AttributeValue>; Item?: Record<string, AttributeValue> };
            if ((error as Error).name === 'ConditionalCheckFailedException' && input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') {
              const key = input.Key ?? { order_id: input.Item!.order_id!, record: input.Item!.record! };
              const { Item } = await dynamodb.send(new GetItemCommand({ TableName: input.TableName, Key: key, ConsistentRead: true }));
              Object.assign(error as object, { Item });
            }
            throw error;
          }
        },
        { step: 'initialize', name: 'returnItemOnConditionFailure' },
      );
    });
    after(() => awsLike.destroy());
    beforeEach(() => {
      store = new OrderRecords({ dynamodb: awsLike, tableName, retentionDays: RETENTION_DAYS, now: () => clock });
      awsCalls.length = 0;
    });

    it('held and duplicate each cost the one conditional write', async () => {
      const order = makeOrder(freshId('aws'));

      await store.claim(order.order_id, 'ecs', { leaseMs: LEASE_MS, token: 'a' });
      const held = await store.claim(order.order_id, 'ecs', { leaseMs: LEASE_MS, token: 'b' });
      expect(held).to.deep.include({ outcome: 'held', leaseUntil: clock + LEASE_MS });
      await store.complete(order.order_id, 'ecs', 'a', { result: { ok: 1 }, processingMs: 2 });
      const duplicate = await store.claim(order.order_id, 'ecs', { leaseMs: LEASE_MS, token: 'c' });
      expect(duplicate.outcome).to.equal('processed');
      expect(duplicate.outcome === 'processed' && duplicate.record.result).to.deep.equal({ ok: 1 });

      expect(awsCalls).to.deep.equal([
        'UpdateItemCommand',
        'UpdateItemCommand',
        'UpdateItemCommand',
        'UpdateItemCommand',
      ]);
    });

    it('an expired record in the error is replaced, as without it', async () => {
      const id = freshId('aws-expired');
      await store.claim(id, 'lambda', { leaseMs: LEASE_MS, token: 'old' });
      await store.complete(id, 'lambda', 'old', { result: {}, processingMs: 1 });
      clock += (RETENTION_DAYS + 1) * DAY_MS;
      expect(await store.claim(id, 'lambda', { leaseMs: LEASE_MS, token: 'new' })).to.include({ outcome: 'claimed', attempt: 1 });
    });
  });

  describe('errors', () => {
    it('every error other than a failed condition reaches the caller', async () => {
      const missing = storeWith(() => clock, { tableName: 'no-such-table' });
      const order = makeOrder(freshId('err'));
      const attempts: Array<() => Promise<unknown>> = [
        () => missing.claim(order.order_id, 'ecs', { leaseMs: LEASE_MS }),
        () => missing.complete(order.order_id, 'ecs', 't', { result: {}, processingMs: 1 }),
        () => missing.fail(order.order_id, 'ecs', 't', { code: 'c', message: 'm' }),
        () => missing.deadLetter(order.order_id, 'ecs', { code: 'c', message: 'm' }),
        () => missing.status(order.order_id),
      ];
      for (const attempt of attempts) {
        const error = await attempt().then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error, attempt.toString()).to.be.instanceOf(Error);
        expect((error as Error).name).to.equal('ResourceNotFoundException');
      }
    });

    it('refuses a path it does not know', async () => {
      const error = await records.claim('x', 'sync' as never, { leaseMs: LEASE_MS }).catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(TypeError);
    });
  });

  describe('calls per order (for the cost model)', () => {
    it('the happy path: 1 write to accept (a lone order, its own batch), 2 per path (claim + complete), no read', async () => {
      const order = makeOrder(freshId('happy'));
      await accept(order);
      expect(calls).to.deep.equal(['BatchWriteItemCommand']);
      calls.length = 0;
      const claim = await records.claim(order.order_id, 'ecs', { leaseMs: LEASE_MS });
      await records.complete(order.order_id, 'ecs', claim.outcome === 'claimed' ? claim.token : '', { result: {}, processingMs: 1 });
      expect(calls).to.deep.equal(['UpdateItemCommand', 'UpdateItemCommand']);
    });
  });
});
