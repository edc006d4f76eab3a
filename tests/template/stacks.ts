import { rmSync } from 'node:fs';
import {
  packageStack,
  type CloudFormationResource,
  type CloudFormationTemplate,
  type PackagedStack,
  type PackageOptions,
  type ProcessorMode,
} from '../../scripts/package-stack.ts';

export type { CloudFormationResource, CloudFormationTemplate, PackagedStack, ProcessorMode };

/**
 * The packaged stacks the template tests read. Each combination is packaged once per test run,
 * whichever test file asks first, one `sls package` at a time (they share the esbuild work
 * folder), and the temporary directories are removed when the run ends.
 */
export const STAGE = 'dev';
/** Parameters the `both` package overrides, to show that stage parameters reach the tasks. */
export const OVERRIDDEN = { processorConcurrency: '250', processingTimeMs: '1500' };

const cache = new Map<string, Promise<PackagedStack>>();
const dirs: string[] = [];
let queue: Promise<unknown> = Promise.resolve();

process.once('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function packagedOnce(options: PackageOptions): Promise<PackagedStack> {
  const key = JSON.stringify(options);
  let stack = cache.get(key);
  if (!stack) {
    stack = queue.then(() => packageStack(options));
    queue = stack.catch(() => undefined);
    void stack.then(({ dir }) => dirs.push(dir), () => undefined);
    cache.set(key, stack);
  }
  return stack;
}

/** The stage `dev` in a processor mode, with default parameters (`both`: with OVERRIDDEN). */
export function packaged(mode: ProcessorMode): Promise<PackagedStack> {
  return packagedOnce({ stage: STAGE, mode, ...(mode === 'both' ? { params: OVERRIDDEN } : {}) });
}

/** Another stage a user names, in the default mode. */
export function packagedStage(stage: string): Promise<PackagedStack> {
  return packagedOnce({ stage, mode: 'ecs' });
}

/** The stage `dev` in the default mode with these stage parameters given on the command line. */
export function packagedWith(params: Record<string, string>): Promise<PackagedStack> {
  return packagedOnce({ stage: STAGE, mode: 'ecs', params });
}

/** The message `sls package` stops with for these stage parameters (undefined when it succeeds). */
export async function packageError(params: Record<string, string>): Promise<string | undefined> {
  return packagedOnce({ stage: STAGE, mode: 'ecs', params }).then(
    () => undefined,
    (error: unknown) => (error as Error).message,
  );
}

/** Templates of all three modes, for properties every mode must have. */
export async function allModes(): Promise<PackagedStack[]> {
  return [await packaged('ecs'), await packaged('lambda'), await packaged('both')];
}

/** Time a before hook may take to package (several packages may be queued ahead of it). */
export const PACKAGE_TIMEOUT_MS = 150_000;

// ---- reading templates -------------------------------------------------------------------

export type Props = Record<string, any>;

export const ref = (logicalId: string) => ({ Ref: logicalId });
export const getAtt = (logicalId: string, attribute: string) => ({ 'Fn::GetAtt': [logicalId, attribute] });

export function resource(template: CloudFormationTemplate, logicalId: string): CloudFormationResource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`the template has no resource ${logicalId}`);
  return found;
}

export function props(template: CloudFormationTemplate, logicalId: string): Props {
  return (resource(template, logicalId).Properties ?? {}) as Props;
}

/** [logical id, properties] of every resource of a type. */
export function ofType(template: CloudFormationTemplate, type: string): [string, Props][] {
  return Object.entries(template.Resources)
    .filter(([, found]) => found.Type === type)
    .map(([logicalId, found]) => [logicalId, (found.Properties ?? {}) as Props]);
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** A container definition's environment as an object (values as the template has them). */
export function environment(template: CloudFormationTemplate, taskLogicalId: string): Props {
  const [container] = props(template, taskLogicalId).ContainerDefinitions as Props[];
  return Object.fromEntries((container?.Environment as { Name: string; Value: unknown }[]).map(({ Name, Value }) => [Name, Value]));
}

export function container(template: CloudFormationTemplate, taskLogicalId: string): Props {
  const [first] = props(template, taskLogicalId).ContainerDefinitions as Props[];
  if (!first) throw new Error(`${taskLogicalId} has no container`);
  return first;
}

export interface PolicyStatement {
  Effect: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

/** Every statement of every role's inline policies, with the role's logical id. */
export function roleStatements(template: CloudFormationTemplate): { role: string; statement: PolicyStatement }[] {
  return ofType(template, 'AWS::IAM::Role').flatMap(([role, roleProps]) =>
    asArray(roleProps.Policies as Props[]).flatMap((policy) =>
      asArray(policy.PolicyDocument.Statement as PolicyStatement[]).map((statement) => ({ role, statement })),
    ),
  );
}

/** The statements of one role, each with its actions as a sorted list. */
export function statementsOf(template: CloudFormationTemplate, role: string): { actions: string[]; resource: unknown }[] {
  return roleStatements(template)
    .filter((entry) => entry.role === role)
    .map(({ statement }) => ({ actions: asArray(statement.Action).sort(), resource: statement.Resource }));
}

/** A value with CloudFormation's Fn::Join of literal parts joined, and `{Ref: AWS::Region}` as "REGION". */
export function flatten(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(flatten);
  if (value && typeof value === 'object') {
    const join = (value as Props)['Fn::Join'];
    if (Array.isArray(join)) {
      const parts = (join[1] as unknown[]).map(flatten);
      if (parts.every((part) => typeof part === 'string')) return parts.join(join[0] as string);
    }
    if ((value as Props).Ref === 'AWS::Region') return 'REGION';
  }
  return value;
}
