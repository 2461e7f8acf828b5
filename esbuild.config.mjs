// Builds the CLI into dist/ as a few ESM chunks. Why bundle: Node 20 has no module compile cache, and
// loading commander, yaml and zod as hundreds of separate files cost more start-up time than the work
// `--help` and `validate` do. Code splitting keeps every dynamic import() lazy, so a command still
// loads only what it needs.
//
// The AWS SDK's service clients are bundled too, from their ES modules, so that only the commands
// batchctl sends are kept: each client package holds every operation of its service (EC2's alone is
// some 70 MB of memory once loaded), and `up` needs twelve of them. The SDK's shared runtime (@smithy/*
// and the other @aws-sdk/* packages) and ora stay external, loaded from node_modules on demand.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { rm } from 'node:fs/promises';

const require = createRequire(import.meta.url);

/**
 * `@aws-sdk/client-*`: a module that notes the client was loaded (for bench/import-trace.mjs, which
 * checks that `--help` and `logs` load no client they do not need) and re-exports the package's ES
 * build, which esbuild then tree-shakes. Everything else from the SDK stays external.
 */
const sdkClients = {
  name: 'sdk-clients',
  setup(b) {
    b.onResolve({ filter: /^@aws-sdk\/client-[a-z0-9-]+$/ }, (args) => {
      if (args.namespace !== 'sdk-client') return { path: args.path, namespace: 'sdk-client' };
      const pkg = require.resolve(`${args.path}/package.json`);
      return { path: join(dirname(pkg), JSON.parse(readFileSync(pkg, 'utf8')).module) };
    });
    b.onLoad({ filter: /.*/, namespace: 'sdk-client' }, (args) => ({
      contents: `globalThis.__batchctlSdkClients?.add(${JSON.stringify(args.path.replace('@aws-sdk/', ''))});\nexport * from ${JSON.stringify(args.path)};\n`,
      resolveDir: process.cwd(),
    }));
    // (Registered after the client rule, which takes `@aws-sdk/client-*` first.)
    b.onResolve({ filter: /^(@smithy\/|@aws-sdk\/|ora$)/ }, (args) => ({ path: args.path, external: true }));
  },
};

await rm('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Smaller files parse faster, which is most of what start-up costs; the source map keeps stack traces readable.
  minify: true,
  keepNames: true,
  plugins: [sdkClients],
  // yaml's ESM build (its "browser" entry, plain ES2020 with no Node-only code) tree-shakes to what the
  // loader uses; its CommonJS "node" entry initialises every module at start-up.
  alias: { yaml: './node_modules/yaml/browser/index.js' },
  // commander and yaml are CommonJS and call require() for Node built-ins.
  banner: { js: "import { createRequire as __batchctlRequire } from 'node:module'; const require = __batchctlRequire(import.meta.url);" },
  logLevel: 'warning',
});
