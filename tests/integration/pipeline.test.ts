import { expect } from 'chai';
import { readQueueDepth } from '../../lib/queue-attributes.ts';
import { createSqsClient } from '../../lib/aws-clients.ts';
import type { ProcessorMode } from '../../local/provision.ts';
import { eventually } from '../support/eventually.ts';
import { processedCounts } from '../../local/log-collector.ts';
import { makeOrder, sendAsyncOrders } from '../support/orders.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

const ORDERS = 40;
const EXPECTED_PATHS: Record<ProcessorMode, string[]> = { ecs: ['ecs'], lambda: ['lambda'], both: ['ecs', 'lambda'] };

for (const mode of ['ecs', 'lambda', 'both'] as const) {
  describe(`pipeline in ${mode} mode: every async order processed exactly once per path`, function () {
    this.timeout(60_000);
    let stack: TestStack;

    before(async () => {
      stack = await startTestStack({ mode, processingTimeMs: 100, concurrency: 20 });
    });
    after(() => stack.stop());

    it(`processes ${ORDERS} orders once on ${EXPECTED_PATHS[mode].join(' and ')}, none lost, none twice`, async () => {
      const orders = Array.from({ length: ORDERS }, (_, index) => makeOrder(`${mode}-${index}`, 1 + (index % 5)));
      const answers = await sendAsyncOrders(stack.receiverUrl, orders);
      expect(answers.map((answer) => answer.status)).to.deep.equal(orders.map(() => 202));

      const paths = EXPECTED_PATHS[mode];
      await stack.logs.waitFor(`${ORDERS} orders processed on ${paths.join(', ')}`, () =>
        paths.every((path) => processedCounts(stack.logs, path).size === ORDERS),
      );
      // Let any duplicate delivery surface before counting.
      await new Promise((resolve) => setTimeout(resolve, 500));

      const ids = orders.map((order) => order.order_id).sort();
      for (const path of ['ecs', 'lambda']) {
        const counts = processedCounts(stack.logs, path);
        if (paths.includes(path)) {
          expect([...counts.keys()].sort(), `orders processed on ${path}`).to.deep.equal(ids);
          expect([...counts.values()].every((count) => count === 1), `each order once on ${path}`).to.equal(true);
        } else {
          expect(counts.size, `nothing on ${path}`).to.equal(0);
        }
      }
      expect(stack.logs.events('order.failed')).to.be.empty;

      // The totals travelled intact, and the acceptance time gave an end-to-end latency.
      const sample = stack.logs.events('order.processed', (line) => line.order_id === `${mode}-3`)[0];
      expect(sample).to.include({ total: 99.9, item_count: 4 }); // 9.99 × (1 + 2 + 3 + 4)
      expect(sample?.end_to_end_ms).to.be.a('number').and.at.least(100);

      if (mode !== 'lambda') {
        const sqs = createSqsClient(stack.aws);
        await eventually('the orders queue to empty', async () => {
          const depth = await readQueueDepth(sqs, stack.resources.ordersQueueUrl);
          return depth.visible + depth.inFlight + depth.delayed === 0;
        });
        expect((await readQueueDepth(sqs, stack.resources.ordersDeadLetterQueueUrl)).visible).to.equal(0);
      }
    });
  });
}
