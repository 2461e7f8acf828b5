/**
 * Files a command writes never clobber what they should not: `plan --out batch.config.yaml` must not
 * replace the config with plan JSON, nor `plan --out .batchctl/<stack>.state.json` the state. Every path a
 * command writes on the user's behalf goes through guardOutputPath first.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from './errors.js';

/** A file a command must never write over (the config, the state). */
export interface ProtectedPath {
  path: string;
  /** How it reads in a refusal: "the config", "the state". */
  what: string;
}

/** What guardOutputPath checks a path against. */
export interface OutputGuard {
  /** What the command writes there: "the plan". */
  what: string;
  /** Never written over, whatever `force` says. */
  protect: ProtectedPath[];
  /** Whether an existing file's text is one this command may replace (an older plan). */
  accepts: (text: string) => boolean;
  /** The user said to replace a file `accepts` refuses (`--force`). */
  force?: boolean;
  /** The flag that allows it, for the hint (default `--force`); null: nothing allows it. */
  forceFlag?: string | null;
}

/** The same file, whatever the path: symlinks followed, and hard links (same device and inode) caught. */
async function identity(path: string): Promise<{ real: string; dev?: number; ino?: number }> {
  const abs = resolve(path);
  let real: string;
  try {
    real = await realpath(abs);
  } catch {
    // Not there yet: its directory may still be a link.
    try {
      real = join(await realpath(dirname(abs)), basename(abs));
    } catch {
      real = abs;
    }
  }
  try {
    const st = await stat(real);
    return { real, dev: st.dev, ino: st.ino };
  } catch {
    return { real };
  }
}

async function samePath(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([identity(a), identity(b)]);
  if (x.real === y.real) return true;
  return x.ino !== undefined && x.dev === y.dev && x.ino === y.ino;
}

/**
 * Refuse to write `path` when it is a protected file (always), a directory, or an existing file whose
 * content `accepts` rejects (unless `force`). A missing file, or one `accepts` recognises, may be written.
 */
export async function guardOutputPath(path: string, g: OutputGuard): Promise<void> {
  for (const p of g.protect) {
    if (await samePath(path, p.path)) {
      throw new UserError(
        `refusing to write ${g.what} to ${path}: it is ${p.what} (${p.path})`,
        `name another file for ${g.what}`,
      );
    }
  }
  let text: string;
  try {
    const st = await stat(resolve(path));
    if (st.isDirectory())
      throw new UserError(
        `refusing to write ${g.what} to ${path}: it is a directory`,
        `name a file, e.g. ${join(path, 'plan.json')}`,
      );
    text = await readFile(resolve(path), 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new UserError(
      `cannot check ${path} before writing ${g.what} to it: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      'name another file',
    );
  }
  if (g.accepts(text) || g.force) return;
  throw new UserError(
    `refusing to write ${g.what} to ${path}: the file exists and is not ${g.what.replace(/^the /, 'a ')} written by batchctl`,
    g.forceFlag === null
      ? 'name another file, or move this one aside first'
      : `name another file, or pass ${g.forceFlag ?? '--force'} to replace it`,
  );
}
