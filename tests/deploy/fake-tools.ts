import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Stand-ins for `aws`, `docker`, `sls` and `sleep` (fake-bin/) that record every call (one line
 * each, in order) and keep just enough state for scripts/deploy.sh, remove.sh and logs.sh to run
 * their real logic: whether the stack exists, in what status and with its outputs or not, which
 * image tags each repository holds, which service-linked roles exist, and which calls fail.
 * tests/rehearsal runs the same scripts against moto instead.
 */
export const ACCOUNT_REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const BIN = fileURLToPath(new URL('fake-bin', import.meta.url));

export interface FakeTools {
  /** Prepend to PATH. */
  bin: string;
  env: Record<string, string>;
  calls(): Promise<string[]>;
  clearCalls(): Promise<void>;
  /** A stack in this status, with its outputs (repositories, URL) or, like a failed first deploy, without. */
  setStackStatus(status: string, options?: { outputs?: boolean }): Promise<void>;
  /** Makes `aws <service> <operation>` (or `sls deploy`: 'sls', 'deploy') fail with this error. */
  failCall(service: string, operation: string, error: string): Promise<void>;
  clearFailures(): Promise<void>;
  /** When the stack deleted a queue, as describe-stack-events gives it. */
  setQueueDeleted(timestamp: string): Promise<void>;
  /** A service-linked role that exists already, by its service principal. */
  addServiceLinkedRole(service: string): Promise<void>;
  /** What `aws logs get-query-results` answers once the query is no longer Running (its JSON). */
  setQueryResults(json: string): Promise<void>;
  /** The arguments of the last `aws logs start-query`, or undefined when there was none. */
  startQueryArgs(): Promise<string[] | undefined>;
  cleanup(): Promise<void>;
}

export async function createFakeTools(stage: string): Promise<FakeTools> {
  const state = await mkdtemp(join(tmpdir(), 'ordersync-fake-aws-'));
  await mkdir(join(state, 'images'));
  const callsFile = join(state, 'calls');
  await writeFile(callsFile, '');
  return {
    bin: BIN,
    env: { FAKE_STATE: state, FAKE_STAGE: stage, FAKE_REGISTRY: ACCOUNT_REGISTRY, FAKE_BUILDKIT: '1' },
    async calls() {
      return (await readFile(callsFile, 'utf8')).split('\n').filter(Boolean);
    },
    async clearCalls() {
      await writeFile(callsFile, '');
    },
    async setStackStatus(status: string, { outputs = true } = {}) {
      await writeFile(join(state, 'stack'), `${status}\n`);
      if (outputs) await writeFile(join(state, 'outputs'), '');
      else await rm(join(state, 'outputs'), { force: true });
    },
    async failCall(service: string, operation: string, error: string) {
      await mkdir(join(state, 'fail'), { recursive: true });
      await writeFile(join(state, 'fail', `${service}-${operation}`), `${error}\n`);
    },
    async clearFailures() {
      await rm(join(state, 'fail'), { recursive: true, force: true });
    },
    async setQueueDeleted(timestamp: string) {
      await writeFile(join(state, 'queue-deleted'), `${timestamp}\n`);
    },
    async addServiceLinkedRole(service: string) {
      await mkdir(join(state, 'roles'), { recursive: true });
      await writeFile(join(state, 'roles', `_aws-service-role_${service}_`), `AWSServiceRoleFor-${service}\n`);
    },
    async setQueryResults(json: string) {
      await writeFile(join(state, 'query-results'), json);
    },
    async startQueryArgs() {
      const text = await readFile(join(state, 'start-query'), 'utf8').catch(() => undefined);
      return text?.split('\0').slice(0, -1);
    },
    async cleanup() {
      await rm(state, { recursive: true, force: true });
    },
  };
}
