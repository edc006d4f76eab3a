import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

/**
 * Bundles the container entry points into self-contained ES modules for Node 24: everything they
 * import (Koa, pino, zod, the AWS SDK) is inside, so an image needs only Node and these files.
 *
 *   dist/receiver.mjs   dist/receiver-healthcheck.mjs
 *   dist/processor.mjs  dist/processor-healthcheck.mjs
 *
 * Usage: node scripts/build.ts [receiver] [processor]   (both when none is named)
 */
export const COMPONENTS = ['receiver', 'processor'] as const;
export type Component = (typeof COMPONENTS)[number];

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** CommonJS dependencies (pino) call require(); an ES module bundle has to provide it. */
const REQUIRE_SHIM = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

const COMMON: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  banner: { js: REQUIRE_SHIM },
  logLevel: 'warning',
  legalComments: 'none',
};

export interface BuildResult {
  component: Component;
  entry: string;
  healthcheck: string;
}

/** Builds the named components into `outdir` (a relative path is taken from the repository root). */
export async function buildContainers(components: readonly Component[] = COMPONENTS, outdir = 'dist'): Promise<BuildResult[]> {
  const out = resolve(ROOT, outdir);
  const results: BuildResult[] = [];
  for (const component of components) {
    const source = join(ROOT, 'containers', component);
    // The app with a source map (the images run node --enable-source-maps) ...
    await build({ ...COMMON, entryPoints: { [component]: join(source, 'main.ts') }, outdir: out, sourcemap: true });
    // ... and the small health check script its Dockerfile and ECS task run.
    await build({ ...COMMON, entryPoints: { [`${component}-healthcheck`]: join(source, 'healthcheck.ts') }, outdir: out });
    results.push({ component, entry: join(out, `${component}.mjs`), healthcheck: join(out, `${component}-healthcheck.mjs`) });
  }
  return results;
}

async function main(args: string[]): Promise<void> {
  const unknown = args.filter((arg) => !(COMPONENTS as readonly string[]).includes(arg));
  if (unknown.length > 0) {
    process.stderr.write(`unknown component ${unknown.join(', ')}: name receiver and/or processor\n`);
    process.exit(2);
  }
  const components = args.length > 0 ? (args as Component[]) : COMPONENTS;
  if (args.length === 0) await rm(join(ROOT, 'dist'), { recursive: true, force: true });
  for (const { entry, healthcheck } of await buildContainers(components)) {
    process.stdout.write(`built ${entry} and ${healthcheck}\n`);
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  await main(process.argv.slice(2));
}
