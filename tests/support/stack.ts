import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.ts';
import { LogCollector } from '../../local/log-collector.ts';

export interface TestStack extends LocalStack {
  logs: LogCollector;
}

/** The real local stack on free ports, with short timings, its log lines collected. */
export async function startTestStack(overrides: Partial<LocalStackOptions> = {}): Promise<TestStack> {
  const logs = new LogCollector();
  const stack = await startLocalStack({
    mode: 'ecs',
    port: 0,
    emulatorPort: 0,
    processingTimeMs: 50,
    concurrency: 20,
    logLevel: 'info',
    stage: 'test',
    waitTimeSeconds: 1,
    retryDelaySeconds: 0,
    lambdaRetryDelaysMs: [20, 20],
    shutdownTimeoutMs: 3000,
    logDestination: logs,
    ...overrides,
  });
  return Object.assign(stack, { logs });
}
