/**
 * The real CLI in a process of its own (test/fake-aws/remote-cli.ts), against a fake AWS this process
 * serves over HTTP (test/fake-aws/http.ts): two processes racing for one account, or one killed mid-call.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './ctx.js';

/** How a child CLI ended: its pid (how the fake names its calls), exit code or signal, and its output. */
export interface RemoteRun {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `batchctl <args>` in a child process whose AWS calls go to the fake served at `url`. */
export function remoteCli(url: string, args: string[]): Promise<RemoteRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fake-aws/remote-cli.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, FAKE_AWS_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ pid: child.pid!, code, signal, stdout, stderr }));
  });
}
