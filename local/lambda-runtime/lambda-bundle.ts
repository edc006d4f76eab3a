import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The one build definition of the Lambda bundle, the one serverless.yml packages with. */
const LAMBDA_BUNDLE = createRequire(import.meta.url)('../../scripts/lambda-bundle.cjs') as { esbuildOptions: BuildOptions; ENTRY: string };

/** serverless.yml's `handler: handlers/process-order.handler`: the export the runtime calls. */
export const HANDLER_NAME = 'handler';

export interface LambdaBundle {
  /** handlers/process-order.mjs, with its source map beside it. */
  outfile: string;
  metafile: Metafile;
}

/**
 * Builds the bundle as `sls package` does (the same options, entry and output name) into `dir`:
 * what the local stack runs and `npm run bench` measures is byte for byte what ships
 * (tests/template/lambda.test.ts compares them).
 */
export async function buildLambdaBundle(dir: string): Promise<LambdaBundle> {
  const result = await build({
    ...LAMBDA_BUNDLE.esbuildOptions,
    absWorkingDir: ROOT,
    entryPoints: [LAMBDA_BUNDLE.ENTRY],
    outdir: join(dir, 'handlers'),
    metafile: true,
    logLevel: 'silent',
  });
  return { outfile: join(dir, 'handlers', 'process-order.mjs'), metafile: result.metafile };
}

let built: Promise<LambdaBundle> | undefined;

/**
 * The bundle for this process's local stacks: built once, on first use, into a temporary folder
 * of its own (so that two stacks on one machine never read a half-written file), removed at exit.
 */
export function localLambdaBundle(): Promise<LambdaBundle> {
  built ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ordersync-lambda-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return buildLambdaBundle(dir);
  })();
  return built;
}
