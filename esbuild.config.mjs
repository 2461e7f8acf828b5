// Builds the CLI into dist/ as a few ESM chunks. Why bundle: Node 20 has no module compile cache, and
// loading commander, yaml and zod as hundreds of separate files cost more start-up time than the work
// `--help` and `validate` do. Code splitting keeps every dynamic import() lazy, so a command still
// loads only what it needs.
//
// The AWS SDK's service clients are bundled too, from their ES modules, so that only the commands
// batchctl sends are kept: each client package holds every operation of its service (EC2's alone is
// some 70 MB of memory once loaded), and `up` needs twelve of them. src/aws/sdk/ re-exports each client
// class on its own: a namespace import (`(await import('@aws-sdk/client-ec2')).EC2Client`) keeps every
// export, some 1 MB of JavaScript more to load.
//
// What is external is exactly package.json's `dependencies` (the SDK's shared runtime: @smithy/* and the
// other @aws-sdk/* packages, and ora), loaded from node_modules on demand; everything else is bundled
// and is a devDependency, so an install holds nothing twice (test/package checks both directions).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { rm } from 'node:fs/promises';

const require = createRequire(import.meta.url);
const { dependencies = {} } = JSON.parse(readFileSync('package.json', 'utf8'));
/** A bare import of a dependency, or of one of its subpaths (`@smithy/core/client`). */
const external = new RegExp(
  `^(${Object.keys(dependencies)
    .map((d) => d.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('|')})(/|$)`,
);

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
    b.onResolve({ filter: external }, (args) => ({ path: args.path, external: true }));
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
  // The maps map the bundle back to src/*.ts lines for `--debug` (bin/batchctl enables them only then);
  // without the sources embedded they are a third of the size, and the lines are what a trace needs.
  sourcemap: true,
  sourcesContent: false,
  // Smaller files parse faster, which is most of what start-up costs.
  minify: true,
  keepNames: true,
  plugins: [sdkClients],
  // yaml's ESM build (its "browser" entry, plain ES2020 with no Node-only code) tree-shakes to what the
  // loader uses; its CommonJS "node" entry initialises every module at start-up.
  alias: { yaml: './node_modules/yaml/browser/index.js' },
  // commander and yaml are CommonJS and call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __batchctlRequire } from 'node:module'; const require = __batchctlRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
