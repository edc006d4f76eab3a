'use strict';

/**
 * The one build definition of the Lambda bundle (handlers/process-order.ts → process-order.mjs and
 * its source map). serverless-esbuild reads it for `sls package` and `sls deploy`
 * (serverless.yml: custom.esbuild.config); `npm run bench` builds with the same esbuild options
 * (`esbuildOptions`), so what it measures is byte for byte what ships (tests/template/lambda.test.ts
 * compares them).
 *
 * Minified, with a linked source map: about 110 KiB instead of about 240 KiB, which is less code
 * for a new execution environment to read and compile at every cold start; stack traces stay
 * readable because the function runs with NODE_OPTIONS=--enable-source-maps, which maps them back
 * to the TypeScript sources.
 */
const ENTRY = 'handlers/process-order.ts';
const EXTENSION = '.mjs';
/**
 * The Lambda runtime has the AWS SDK v3: the handler's DynamoDB client (the orders table) is taken
 * from it, not bundled. Bundled, the client and its @smithy layers made the file 6 times larger
 * (about 660 KiB against 110 KiB) for no faster cold start (docs/decisions.md, "The Lambda and the
 * orders table"). Locally the bundle is written inside the project's node_modules
 * (local/lambda-runtime/lambda-bundle.ts), so the import resolves as it does on Lambda.
 */
const EXTERNAL = ['@aws-sdk/*'];

/** esbuild's options, but for where the files go (entry point and output folder). */
const esbuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: true,
  // Minifying renames classes; errors take their name from their class (lib/errors.ts), and that
  // name is the errorType Lambda logs and puts in the on-failure record. Keep the names.
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'none',
  external: EXTERNAL,
  outExtension: { '.js': EXTENSION },
  // CommonJS dependencies (pino) call require(); an ES module bundle has to provide it.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
};

/** The same as serverless-esbuild's options: it takes the extension and the externals its own way. */
function serverlessEsbuildOptions() {
  const { external, outExtension, ...rest } = esbuildOptions;
  return { ...rest, exclude: external, outputFileExtension: outExtension['.js'] };
}

module.exports = serverlessEsbuildOptions;
module.exports.esbuildOptions = esbuildOptions;
module.exports.ENTRY = ENTRY;
