/**
 * Running a child process for which file permission bits apply, wherever the checkout lives. Root
 * ignores them (capabilities(7): CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so a test of "a directory
 * nobody may write" needs one of:
 * - not root: the process as it is;
 * - root with util-linux's `setpriv`: root without those two capabilities. It still owns what it
 *   created, so it reads a checkout inside a private (0700) folder, and a 0555 directory is not writable;
 * - root without `setpriv`: the unprivileged user 65534, when it can read the checkout (it cannot inside
 *   a private folder: Node then fails with "Cannot find package 'tsx'").
 * Else the test is skipped, and says why.
 */
import { spawnSync, type SpawnOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './ctx.js';

/** A command line (`argv[0]` the program) as a spawn call for which permission bits apply. */
export type Spawnable = (argv: string[]) => { file: string; args: string[]; options: SpawnOptions };

/** How to run a command so that permission bits apply to it; or why that is not possible here. */
export type Unprivileged = { how: string; command: Spawnable; skip?: undefined } | { skip: string };

/** True when `command` runs tsx from the checkout and is refused a write into a 0555 folder. */
function bitsApply(command: Spawnable): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'batchctl-perm-'));
  try {
    const locked = join(dir, 'ro');
    mkdirSync(locked, { mode: 0o555 });
    const probe =
      `try { require('node:fs').writeFileSync(${JSON.stringify(join(locked, 'x'))}, ''); process.exit(3) } ` +
      "catch (e) { process.exit(e.code === 'EACCES' ? 0 : 4) }";
    const { file, args, options } = command([process.execPath, '--import', 'tsx', '-e', probe]);
    return spawnSync(file, args, { ...options, cwd: ROOT }).status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const asIs: Spawnable = (argv) => ({ file: argv[0]!, args: argv.slice(1), options: {} });
const withoutDac: Spawnable = (argv) => ({
  file: 'setpriv',
  args: ['--bounding-set=-dac_override,-dac_read_search', '--', ...argv],
  options: {},
});
const asNobody: Spawnable = (argv) => ({ file: argv[0]!, args: argv.slice(1), options: { uid: 65534, gid: 65534 } });

let cached: Unprivileged | undefined;

/** Decided once per test file (each way is tried with one short process). */
export function unprivileged(): Unprivileged {
  if (cached) return cached;
  if (process.getuid?.() !== 0) cached = { how: 'as this user', command: asIs };
  else if (spawnSync('setpriv', ['--version']).status === 0 && bitsApply(withoutDac)) {
    cached = { how: 'as root without CAP_DAC_OVERRIDE (setpriv)', command: withoutDac };
  } else if (bitsApply(asNobody)) cached = { how: 'as uid 65534', command: asNobody };
  else {
    cached = {
      skip:
        'running as root, without setpriv to drop the capabilities that bypass file permissions, and uid 65534 ' +
        `cannot read the checkout ${ROOT} (a private parent folder)`,
    };
  }
  return cached;
}
