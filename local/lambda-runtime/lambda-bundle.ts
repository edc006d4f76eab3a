import { rmSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join } from 'node:path';
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
export async function buildLambdaBundle(dir: string, entry: string = LAMBDA_BUNDLE.ENTRY): Promise<LambdaBundle> {
  const result = await build({
    ...LAMBDA_BUNDLE.esbuildOptions,
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outdir: join(dir, dirname(entry)),
    metafile: true,
    logLevel: 'silent',
  });
  return { outfile: join(dir, dirname(entry), `${basename(entry, extname(entry))}.mjs`), metafile: result.metafile };
}

/**
 * Where local bundles are built: inside the project's node_modules, not the system's temporary
 * folder. The bundle leaves the AWS SDK to the runtime (scripts/lambda-bundle.cjs: `@aws-sdk/*`
 * external), so its `import '@aws-sdk/client-dynamodb'` must resolve, as on Lambda, from where the
 * file lies: Node looks in the node_modules folders above it, which a folder under /tmp has none of.
 */
export const LOCAL_BUNDLE_ROOT = join(ROOT, 'node_modules', '.cache', 'ordersync-lambda');

/** A new folder of its own under LOCAL_BUNDLE_ROOT, for one bundle (`prefix` names its user). */
export async function localBundleDir(prefix = 'bundle-'): Promise<string> {
  await mkdir(LOCAL_BUNDLE_ROOT, { recursive: true });
  return mkdtemp(join(LOCAL_BUNDLE_ROOT, prefix));
}

let built: Promise<LambdaBundle> | undefined;

/**
 * The bundle for this process's local stacks: built once, on first use, into a folder of its own
 * under LOCAL_BUNDLE_ROOT (so that two stacks on one machine never read a half-written file, and
 * the external AWS SDK resolves from the project's node_modules), removed at exit.
 */
export function localLambdaBundle(): Promise<LambdaBundle> {
  built ??= (async () => {
    const dir = await localBundleDir('stack-');
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return buildLambdaBundle(dir);
  })();
  return built;
}
