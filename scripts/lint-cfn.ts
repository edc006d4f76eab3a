import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { packageStack, PROCESSOR_MODES } from './package-stack.ts';

/**
 * cfn-lint over the packaged template of every processor mode: no error and no warning may
 * remain. The only suppression is written beside what it suppresses, with its reason
 * (serverless.yml, resources.extensions, W3005).
 *
 * Usage: npm run lint:cfn [-- --stage NAME] [--keep]   (--keep leaves the packaged templates)
 */
export interface LintResult {
  ok: boolean;
  output: string;
}

/** Runs cfn-lint on one template; ok only when it exits 0 (no error, warning or info). */
export function lintTemplate(templatePath: string): LintResult {
  const run = spawnSync('cfn-lint', ['--', templatePath], { encoding: 'utf8' });
  if (run.error) {
    return { ok: false, output: `cfn-lint could not run (${run.error.message}): install it with pip install cfn-lint` };
  }
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}`.trim() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { stage: { type: 'string', default: 'lint' }, keep: { type: 'boolean', default: false } } });
  let failed = false;
  for (const mode of PROCESSOR_MODES) {
    const stack = await packageStack({ stage: values.stage, mode });
    const { ok, output } = lintTemplate(stack.templatePath);
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} processorMode=${mode} ${stack.templatePath}\n${output ? `${output}\n` : ''}`);
    failed ||= !ok;
    if (!values.keep) await rm(stack.dir, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  await main();
}
