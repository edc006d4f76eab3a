import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROCESSOR_MODES, type ProcessorMode } from '../local/provision.ts';

/**
 * `sls package` for one stage and processor mode, offline: placeholder credentials, no AWS call,
 * no Docker. Where this machine allows it (root, util-linux `unshare`), the command runs in a
 * network namespace of its own with no network at all, which proves it needs none.
 * Used by the template tests and by `npm run lint:cfn`.
 */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SLS = join(ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');

export { PROCESSOR_MODES, type ProcessorMode };

/** Credentials that let the framework start and would fail against AWS: nothing here calls it. */
export const PLACEHOLDER_AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'placeholder',
  AWS_SECRET_ACCESS_KEY: 'placeholder',
  AWS_SESSION_TOKEN: 'placeholder',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
};

export interface CloudFormationResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
  Metadata?: Record<string, unknown>;
}

export interface CloudFormationTemplate {
  Resources: Record<string, CloudFormationResource>;
  Outputs: Record<string, { Value: unknown; Description?: string }>;
}

export interface PackagedStack {
  stage: string;
  mode: ProcessorMode;
  /** The --package directory: templates, the Lambda's zip, serverless-state.json. */
  dir: string;
  templatePath: string;
  template: CloudFormationTemplate;
  /** Whether the command ran in a network namespace without network. */
  isolated: boolean;
}

export interface PackageOptions {
  stage: string;
  mode: ProcessorMode;
  /** More stage parameters (--param NAME=VALUE). */
  params?: Record<string, string | number>;
  /** Where the package goes; a new temporary directory when absent. */
  dir?: string;
}

let isolation: boolean | undefined;

/** True when `unshare -n` can give a command a network namespace with no network. */
export function canIsolateNetwork(): boolean {
  isolation ??= spawnSync('unshare', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  return isolation;
}

export async function packageStack(options: PackageOptions): Promise<PackagedStack> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), `ordersync-${options.stage}-${options.mode}-`)));
  const params = { imageTag: 'packaged', ...options.params, processorMode: options.mode };
  const args = [
    SLS,
    'package',
    '--stage',
    options.stage,
    '--region',
    PLACEHOLDER_AWS_ENV.AWS_REGION,
    '--package',
    dir,
    ...Object.entries(params).flatMap(([name, value]) => ['--param', `${name}=${value}`]),
  ];
  const isolated = canIsolateNetwork();
  const [command, commandArgs] = isolated ? ['unshare', ['-n', process.execPath, ...args]] : [process.execPath, args];
  const env: NodeJS.ProcessEnv = { ...process.env, ...PLACEHOLDER_AWS_ENV };
  delete env.AWS_PROFILE;
  delete env.AWS_ENDPOINT_URL;

  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, commandArgs, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`sls package --stage ${options.stage} (processorMode ${options.mode}) exited ${code}:\n${text}`));
    });
  });

  const templatePath = join(dir, 'cloudformation-template-update-stack.json');
  const template = JSON.parse(await readFile(templatePath, 'utf8')) as CloudFormationTemplate;
  return { stage: options.stage, mode: options.mode, dir, templatePath, template, isolated };
}
