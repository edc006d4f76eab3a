import { spawnSync } from 'node:child_process';

/**
 * The Python tools some suites need and npm does not bring: cfn-lint (template lint), moto (the
 * AWS emulator of the deploy rehearsal) and the AWS CLI the deploy scripts drive. A suite asks for
 * one in its before hook:
 *
 *   before(function () { requirePythonTool(this, 'moto'); });
 *
 * When the tool is missing, the suite is skipped with a line saying so and how to install it,
 * except on CI (CI set): there every test must run, so the hook fails with the same message.
 */
export type PythonTool = 'moto' | 'cfn-lint' | 'aws-cli';

export const PYTHON_TOOLS_INSTALL = "pip install cfn-lint 'moto[server]' awscli";

const CHECKS: Record<PythonTool, { name: string; command: string; args: string[] }> = {
  // moto_server's own import: moto with its [server] extras (flask, werkzeug).
  moto: { name: 'moto', command: 'python3', args: ['-c', 'import moto.server'] },
  'cfn-lint': { name: 'cfn-lint', command: 'cfn-lint', args: ['--version'] },
  'aws-cli': { name: 'the AWS CLI', command: 'aws', args: ['--version'] },
};

const found = new Map<PythonTool, boolean>();

/** Whether the tool runs here (checked once per test run). */
export function hasPythonTool(tool: PythonTool): boolean {
  let present = found.get(tool);
  if (present === undefined) {
    const { command, args } = CHECKS[tool];
    const run = spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 });
    present = run.error === undefined && run.status === 0;
    found.set(tool, present);
  }
  return present;
}

/** CI set to anything but empty, 0 or false. */
export function onCi(): boolean {
  const ci = process.env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

/** The line printed (or failed with, on CI) when the tool is missing. */
export function missingToolMessage(tool: PythonTool): string {
  return `${CHECKS[tool].name} is not installed — ${PYTHON_TOOLS_INSTALL}`;
}

/**
 * In a before hook: returns when the tool runs; otherwise skips the suite (this.skip()), or on CI
 * fails with the same message.
 */
export function requirePythonTool(context: Mocha.Context, tool: PythonTool): void {
  if (hasPythonTool(tool)) return;
  const message = missingToolMessage(tool);
  if (onCi()) throw new Error(`${message} (CI is set: every test must run)`);
  console.log(`      skipped: ${message}`);
  context.skip();
}
