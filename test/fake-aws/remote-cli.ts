/**
 * The real CLI in its own process, against a fake AWS served by another process (http.ts):
 *   FAKE_AWS_URL=http://127.0.0.1:<port>/ node --import tsx test/fake-aws/remote-cli.ts up
 */
import { createFakeAws } from './index.js';
import { installRemoteFake } from './http.js';
import { buildProgram } from '../../src/cli/main.js';

const url = process.env.FAKE_AWS_URL;
if (!url) throw new Error('FAKE_AWS_URL is not set');
installRemoteFake(createFakeAws({ install: false }), url);
await buildProgram().parseAsync(['node', 'batchctl', ...process.argv.slice(2)]);
process.exit(Number(process.exitCode ?? 0));
