/**
 * Finding the config the way git finds its repository: `batch.config.yaml` in the current directory,
 * else in the nearest directory above it. A command run from a stack's subdirectory (its `batch/` job,
 * say) then works on that stack instead of failing, or `init` creating a second stack inside it.
 */
import { statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** The file name every command looks for when `-c` is not given. */
export const CONFIG_FILE = 'batch.config.yaml';

/** A config found by walking up from a directory. */
export interface FoundConfig {
  /** Its path, relative to the directory searched from when it is under it (`../batch.config.yaml`), else absolute. */
  path: string;
  /** The directory holding it (absolute). */
  dir: string;
  /** Found in the directory searched from itself (not a parent). */
  here: boolean;
}

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** The nearest `batch.config.yaml` at or above `from` (up to the root), or undefined. */
export function findConfig(from: string = process.cwd()): FoundConfig | undefined {
  const start = resolve(from);
  for (let dir = start; ; dir = dirname(dir)) {
    const path = join(dir, CONFIG_FILE);
    if (isFile(path)) return { path: relative(start, path) || CONFIG_FILE, dir, here: dir === start };
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The nearest `batch.config.yaml` strictly above `dir` (its parents only): the stack whose directory tree
 * `dir` is inside, if any. `init` refuses to start a second stack there unless asked.
 */
export function enclosingConfig(dir: string): FoundConfig | undefined {
  const parent = dirname(resolve(dir));
  if (parent === resolve(dir)) return undefined;
  const found = findConfig(parent);
  return found && { ...found, path: join(found.dir, CONFIG_FILE), here: false };
}
