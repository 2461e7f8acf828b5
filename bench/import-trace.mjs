// Loaded with `node --import`: records every AWS SDK client package the process resolves or loads, and prints
// them at exit to stderr as `aws-clients-loaded: [...]` (read by bench/startup.ts and a test).
import { register } from 'node:module';

const channel = new MessageChannel();
const loaded = new Set();
channel.port1.on('message', (url) => loaded.add(url));
channel.port1.unref();
register('./import-trace-hooks.mjs', import.meta.url, { data: { port: channel.port2 }, transferList: [channel.port2] });
// The built CLI bundles the clients: each notes itself here as it loads (esbuild.config.mjs).
globalThis.__batchctlSdkClients = loaded;
process.on('exit', () => {
  process.stderr.write(`aws-clients-loaded: ${JSON.stringify([...loaded].sort())}\n`);
});
