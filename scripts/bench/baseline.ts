import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * "Today's" receiver and processor, for the comparisons issue 11 asks for in one run: the code of
 * `containers/` and `lib/` as it was at BASELINE_COMMIT (the last commit before issue 11's
 * receiver and processor changes: per-order SNS Publish, one receive per free slot, one
 * ChangeMessageVisibility per heartbeat), taken out of this repository's own history with
 * `git archive` into node_modules/.cache (ignored by git) and run beside the current code.
 */
export const BASELINE_COMMIT = '4c3ea3a';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The folders a baseline needs: the receiver and processor, and the library and settings they import. */
const FOLDERS = ['containers', 'lib', 'resources'];

/**
 * The folder holding the baseline tree (extracted on first use), or an error saying why there is
 * none (no git, a shallow clone without that commit).
 */
export function baselineTree(commit = BASELINE_COMMIT): { dir: string } | { error: string } {
  const dir = `${ROOT}node_modules/.cache/ordersync-bench/baseline-${commit}`;
  const marker = `${dir}/package.json`;
  if (existsSync(marker)) return { dir };
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const archive = execFileSync('git', ['archive', '--format=tar', commit, ...FOLDERS], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    // Under node_modules a file is CommonJS unless its package says otherwise; the project is ESM.
    writeFileSync(marker, `${JSON.stringify({ name: `ordersync-baseline-${commit}`, private: true, type: 'module' })}\n`);
    return { dir };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { error: `cannot take commit ${commit} out of git: ${(error as Error).message.split('\n')[0] ?? ''}` };
  }
}
