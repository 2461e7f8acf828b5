/**
 * Where the documentation a hint points at is on this machine. The package ships docs/ (package.json
 * `files`), so a hint names a file the user has: relative to the current directory when it is below it
 * (a clone), else its absolute path (an npm install).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null | undefined;

/** The nearest directory at or above `from` holding batchctl's package.json. */
export function findPackageRoot(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    try {
      if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'batchctl')
        return dir;
    } catch {
      // Not JSON: not ours, look further up.
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The batchctl package's directory (this module is in its src/ or its dist/). */
export function packageRoot(): string | undefined {
  if (cached === undefined) cached = findPackageRoot(dirname(fileURLToPath(import.meta.url))) ?? null;
  return cached ?? undefined;
}

/** A documentation file (`configuration.md`) as a path the user can open. */
export function docPath(file: string, cwd: string = process.cwd()): string {
  const base = packageRoot();
  const abs = base ? join(base, 'docs', file) : undefined;
  if (!abs) return `docs/${file}`;
  // Relative only from inside the package (a clone): from anywhere else the absolute path is the clear one.
  const inside = relative(base!, cwd);
  if (inside.startsWith('..') || isAbsolute(inside)) return abs;
  return relative(cwd, abs);
}
