import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import type { createSnsClient } from '../../lib/aws-clients.ts';
import type { createLogger } from '../../lib/logger.ts';
import type { startReceiver } from '../../containers/receiver/server.ts';

/**
 * "Today's" receiver and processor, for the comparisons issue 11 asks for in one run: the code of
 * `containers/` and `lib/` as it was at BASELINE_COMMIT (the last commit before issue 11's
 * receiver and processor changes: per-order SNS Publish, one receive per free slot, one
 * ChangeMessageVisibility per heartbeat), taken out of this repository's own history with
 * `git archive` into node_modules/.cache (ignored by git) and run beside the current code.
 */
export const BASELINE_COMMIT = '4c3ea3a';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The baseline receiver's modules as one ES module in its tree (bundled by esbuild as the images'
 * bundles are, dependencies left to node_modules), which the benchmark's receiver-baseline target
 * imports under plain node.
 */
export const BASELINE_MODULE = 'bench-receiver.mjs';

/** What BASELINE_MODULE exports (the interfaces used did not change since the baseline). */
/** The baseline's startReceiver, as it was at BASELINE_COMMIT: it took a publisher. */
export interface BaselineReceiverModule {
  startReceiver: (
    options: Omit<Parameters<typeof startReceiver>[0], 'orders'> & { publisher: { publish: (...args: never[]) => Promise<string> } },
  ) => ReturnType<typeof startReceiver>;
  SnsOrderPublisher: new (sns: ReturnType<typeof createSnsClient>, topicArn: string) => { publish: (...args: never[]) => Promise<string> };
  createSnsClient: typeof createSnsClient;
  createLogger: typeof createLogger;
}

const BASELINE_ENTRY = `export { startReceiver } from './containers/receiver/server.ts';
export { SnsOrderPublisher } from './containers/receiver/order-publisher.ts';
export { createSnsClient } from './lib/aws-clients.ts';
export { createLogger } from './lib/logger.ts';
`;

/** The folders a baseline needs: the receiver and processor, and the library and settings they import. */
const FOLDERS = ['containers', 'lib', 'resources'];

/**
 * The folder holding the baseline tree (extracted on first use), or an error saying why there is
 * none (no git, a shallow clone without that commit).
 */
export function baselineTree(commit = BASELINE_COMMIT): { dir: string } | { error: string } {
  const dir = `${ROOT}node_modules/.cache/ordersync-bench/baseline-${commit}`;
  const marker = `${dir}/package.json`;
  if (existsSync(marker) && existsSync(`${dir}/${BASELINE_MODULE}`)) return { dir };
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const archive = execFileSync('git', ['archive', '--format=tar', commit, ...FOLDERS], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    writeFileSync(`${dir}/bench-receiver-entry.ts`, BASELINE_ENTRY);
    buildSync({
      entryPoints: [`${dir}/bench-receiver-entry.ts`],
      outfile: `${dir}/${BASELINE_MODULE}`,
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    });
    // Under node_modules a file is CommonJS unless its package says otherwise; the project is ESM.
    // Written last: its presence says the tree is whole.
    writeFileSync(marker, `${JSON.stringify({ name: `ordersync-baseline-${commit}`, private: true, type: 'module' })}\n`);
    return { dir };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { error: `cannot take commit ${commit} out of git: ${(error as Error).message.split('\n')[0] ?? ''}` };
  }
}
