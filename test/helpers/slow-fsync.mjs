// Preload (node --import) for interrupt tests: every FileHandle.sync() takes SLOW_FSYNC_MS (default 3000),
// so a state write is in flight, its temp file on disk, for long enough to Ctrl-C in the middle of it.
import { open } from 'node:fs/promises';

const fh = await open(process.execPath, 'r');
const FileHandle = Object.getPrototypeOf(fh);
await fh.close();
const sync = FileHandle.sync;
FileHandle.sync = async function slowSync() {
  await new Promise((r) => setTimeout(r, Number(process.env.SLOW_FSYNC_MS ?? 3000)));
  return sync.call(this);
};
