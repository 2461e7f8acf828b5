// Builds the CLI into dist/ as a few ESM chunks. Why bundle: Node 20 has no module compile cache, and
// loading commander, yaml and zod as hundreds of separate files cost more start-up time than the work
// `--help` and `validate` do. Code splitting keeps every dynamic import() lazy, so a command still
// loads only what it needs; the AWS SDK and ora stay external (loaded from node_modules on demand).
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

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
  external: ['@aws-sdk/*', 'ora'],
  // yaml's ESM build (its "browser" entry, plain ES2020 with no Node-only code) tree-shakes to what the
  // loader uses; its CommonJS "node" entry initialises every module at start-up.
  alias: { yaml: './node_modules/yaml/browser/index.js' },
  // commander and yaml are CommonJS and call require() for Node built-ins.
  banner: { js: "import { createRequire as __batchctlRequire } from 'node:module'; const require = __batchctlRequire(import.meta.url);" },
  logLevel: 'warning',
});
