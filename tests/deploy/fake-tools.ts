import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Stand-ins for `aws`, `docker` and `sls` (fake-bin/) that record every call (one line each, in
 * order) and keep just enough state for scripts/deploy.sh, remove.sh and logs.sh to run their
 * real logic: whether the stack exists and in what status, which image tags each repository holds.
 */
export const ACCOUNT_REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const BIN = fileURLToPath(new URL('fake-bin', import.meta.url));

export interface FakeTools {
  /** Prepend to PATH. */
  bin: string;
  env: Record<string, string>;
  calls(): Promise<string[]>;
  clearCalls(): Promise<void>;
  setStackStatus(status: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createFakeTools(stage: string): Promise<FakeTools> {
  const state = await mkdtemp(join(tmpdir(), 'ordersync-fake-aws-'));
  await mkdir(join(state, 'images'));
  const callsFile = join(state, 'calls');
  await writeFile(callsFile, '');
  return {
    bin: BIN,
    env: { FAKE_STATE: state, FAKE_STAGE: stage, FAKE_REGISTRY: ACCOUNT_REGISTRY },
    async calls() {
      return (await readFile(callsFile, 'utf8')).split('\n').filter(Boolean);
    },
    async clearCalls() {
      await writeFile(callsFile, '');
    },
    async setStackStatus(status: string) {
      await writeFile(join(state, 'stack'), `${status}\n`);
    },
    async cleanup() {
      await rm(state, { recursive: true, force: true });
    },
  };
}
