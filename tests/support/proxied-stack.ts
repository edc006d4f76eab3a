import { createSqsClient } from '../../lib/aws-clients.ts';
import { readQueueDepth } from '../../lib/queue-attributes.ts';
import { eventually } from './eventually.ts';
import { startTestStack, type TestStack } from './stack.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/**
 * A test stack without its processor, and a TCP proxy on loopback in front of its SNS/SQS
 * emulator: the processor under test reaches the broker through the proxy, which the test cuts or
 * hangs, while the test itself talks to the emulator directly (publishing, reading queue depths),
 * as the receiver and an operator would during the outage.
 */
export interface ProxiedStack {
  stack: TestStack;
  proxy: TcpProxy;
  /** Closes the proxy, then stops the stack. */
  stop(): Promise<void>;
}

export async function startProxiedStack(visibilityTimeoutSeconds?: number): Promise<ProxiedStack> {
  const stack = await startTestStack({ skipProcessor: true, ...(visibilityTimeoutSeconds ? { visibilityTimeoutSeconds } : {}) });
  let proxy: TcpProxy;
  try {
    proxy = await startTcpProxy(Number(new URL(stack.emulatorUrl).port));
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return {
    stack,
    proxy,
    async stop() {
      await proxy.close();
      await stack.stop();
    },
  };
}

/** The stack as the processor sees it: every SNS/SQS call through the proxy (the orders table directly). */
export function throughProxy(stack: TestStack, proxy: TcpProxy): TestStack {
  return { ...stack, aws: { ...stack.aws, endpoint: proxy.url } };
}

/** Waits, 15 s at most, until `count` orders of the stack's orders queue are in flight. */
export async function untilInFlight(stack: TestStack, count: number): Promise<void> {
  const sqs = createSqsClient(stack.aws);
  await eventually(`${count} orders in flight`, async () => (await readQueueDepth(sqs, stack.resources.ordersQueueUrl)).inFlight === count, 15_000);
}
