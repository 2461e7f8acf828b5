// Preload (node --import) for the interrupted-write test: counts the state writes of the process (each
// makes a `*.tmp` beside its file) and, at write KILL_AT_WRITE (1-based), sends the process SIGTERM at
// phase KILL_PHASE of it:
// - `create`: as the temp file is created (before the creation completes when it is asynchronous);
// - `sync`: while its content is fsynced;
// - `rename`: while it is renamed (or hard-linked) into place.
// The signal's handler runs at the next turn of the event loop, while the write goes on: a moment in the
// middle of it. An fsync or a rename the kill lands on is held back 30 ms, so the handler runs while it
// is still to come; an asynchronous creation starts at once, so it is in flight on the thread pool. At exit the count is written to stderr: `state-writes: <n>`.
// KILL_AT_WRITE=0 only counts.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

const at = Number(process.env.KILL_AT_WRITE ?? 0);
const phase = process.env.KILL_PHASE ?? 'create';
let writes = 0;
/** Temp file -> its write's number. */
const writeOf = new Map();
/** Open FileHandles of temp files -> the temp file. */
const handles = new WeakMap();
const isTemp = (p) => typeof p === 'string' && p.endsWith('.tmp');
const hold = () => new Promise((r) => setTimeout(r, 30));
let killed = false;
const kill = () => {
  if (killed) return;
  killed = true;
  process.kill(process.pid, 'SIGTERM');
};
const due = (tmp, which) => at > 0 && phase === which && writeOf.get(tmp) === at;

const created = (tmp) => {
  writes += 1;
  writeOf.set(tmp, writes);
};

const openSync = fs.openSync;
fs.openSync = function (path, flags, ...rest) {
  const creates = isTemp(path) && /[wax]/.test(String(flags ?? 'r'));
  if (creates) {
    created(path);
    if (due(path, 'create')) kill();
  }
  return openSync.call(this, path, flags, ...rest);
};

const open = fsp.open;
fsp.open = async function (path, flags, ...rest) {
  if (isTemp(path) && /[wax]/.test(String(flags ?? 'r'))) {
    created(path);
    // The creation starts once the handler has run (two turns of the loop later): it is in flight while
    // the cleanups run, as an open on a busy thread pool is.
    if (due(path, 'create')) {
      kill();
      for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
    }
  }
  const fh = await open.call(this, path, flags, ...rest);
  if (isTemp(path)) handles.set(fh, path);
  return fh;
};

const probe = await open(process.execPath, 'r');
const FileHandle = Object.getPrototypeOf(probe);
await probe.close();
const sync = FileHandle.sync;
FileHandle.sync = async function () {
  const tmp = handles.get(this);
  if (tmp && due(tmp, 'sync')) {
    kill();
    await hold();
  }
  return sync.call(this);
};

for (const name of ['rename', 'link']) {
  const original = fsp[name];
  fsp[name] = async function (from, ...rest) {
    if (isTemp(from) && due(from, 'rename')) {
      kill();
      await hold();
    }
    return original.call(this, from, ...rest);
  };
}

syncBuiltinESMExports();
process.on('exit', () => fs.writeSync(2, `state-writes: ${writes}\n`));
