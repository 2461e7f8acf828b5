/**
 * The README and docs/ stay true to the code: every relative link resolves to a file and every #anchor
 * to a heading; every key of the config schema is documented in docs/configuration.md (and nothing the
 * schema does not accept); every command has its section in docs/commands.md and its row in the README;
 * the README stays short and gives exactly the test command CI runs.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './helpers/ctx.js';
import { schemaKeys } from './helpers/schema-keys.js';
import { buildProgram } from '../src/cli/main.js';

/**
 * Pages being written on other branches, linked from the README already. Links to them are not checked
 * while they are missing; once a page exists it is checked like any other.
 */
const PENDING = new Set<string>();

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The lines of a markdown text outside fenced code blocks. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (/^\s*(```|````)/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens, -1, -2... for repeats. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const plain = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    const base = plain
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every broken relative link of `text` (a file at `path`, relative to the repository), as readable strings. */
export function brokenLinks(path: string, text: string, fileText: (p: string) => string | undefined): string[] {
  const broken: string[] = [];
  for (const line of prose(text)) {
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const href = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // https:, mailto:
      const [file, anchor] = href.split('#') as [string, string | undefined];
      const target = file === '' ? path : normalize(join(dirname(path), file));
      if (relative(ROOT, join(ROOT, target)).startsWith('..')) {
        broken.push(`${href}: outside the repository`);
        continue;
      }
      const body = fileText(target);
      if (body === undefined) {
        if (!PENDING.has(target)) broken.push(`${href}: no file ${target}`);
        continue;
      }
      if (anchor !== undefined && target.endsWith('.md') && !anchors(body).has(anchor))
        broken.push(`${href}: no heading #${anchor} in ${target}`);
    }
  }
  return broken;
}

const fromDisk = (p: string): string | undefined => {
  const full = join(ROOT, p);
  if (!existsSync(full)) return undefined;
  try {
    return readFileSync(full, 'utf8');
  } catch {
    return '';
  } // a directory: it exists
};

describe('README and docs/', () => {
  it.each(DOCS)('%s: every relative link resolves to a file, and every #anchor to a heading', (path) => {
    expect(brokenLinks(path, read(path), fromDisk)).toEqual([]);
  });

  it('the link check catches a missing file, a missing heading and a link out of the repository', () => {
    const files: Record<string, string> = {
      'docs/a.md': '# Title\n\n## `batchctl up` and more\n\n```\n## not a heading\n```\n',
    };
    const text = [
      '[ok](a.md#batchctl-up-and-more) [ok](a.md#title) [ok](https://example.com/x#y) `[code](nowhere.md)`',
      '[no file](b.md) [no heading](a.md#not-a-heading) [out](../../etc/passwd) [self](#nope)',
      '```',
      '[fenced](nowhere.md)',
      '```',
    ].join('\n');
    expect(brokenLinks('docs/x.md', text, (p) => (p === 'docs/x.md' ? text : files[p]))).toEqual([
      'b.md: no file docs/b.md',
      'a.md#not-a-heading: no heading #not-a-heading in docs/a.md',
      '../../etc/passwd: outside the repository',
      '#nope: no heading #nope in docs/x.md',
    ]);
  });

  it('docs/configuration.md documents every key of the schema, and no key the schema does not have', () => {
    const text = read('docs/configuration.md');
    const block = /```yaml\n([\s\S]*?)```/.exec(text)?.[1];
    expect(block, 'the first yaml block of docs/configuration.md lists every key').toBeDefined();
    const documented = new Set<string>();
    const walk = (v: unknown, at: string[]): void => {
      if (Array.isArray(v)) return v.forEach((e) => walk(e, at));
      if (v === null || typeof v !== 'object') return;
      for (const [k, child] of Object.entries(v)) {
        documented.add([...at, k].join('.'));
        if (k !== 'jobs' || at.length > 0) walk(child, [...at, k]); // jobs: names are the user's
      }
    };
    walk(parse(block!, { uniqueKeys: false }), []);
    const inProse = (k: string) => text.includes(`\`${k}\``);
    const keys = schemaKeys();
    expect(keys.length).toBeGreaterThan(60);
    expect(keys.filter((k) => !documented.has(k) && !inProse(k))).toEqual([]);
    expect([...documented].filter((k) => !keys.includes(k))).toEqual([]);
  });

  it('docs/commands.md has a section for every command, and the README a row linking to it', () => {
    const headings = prose(read('docs/commands.md'))
      .filter((l) => l.startsWith('## '))
      .join('\n');
    const readme = read('README.md');
    const names = buildProgram().commands.flatMap((c) =>
      c.commands.length ? c.commands.map((s) => `${c.name()} ${s.name()}`) : [c.name()],
    );
    expect(names.length).toBeGreaterThanOrEqual(18);
    expect(names.filter((n) => !headings.includes(`\`batchctl ${n}\``))).toEqual([]);
    expect(names.filter((n) => !new RegExp(`^\\| \\[[^\\]]*\`${n}\``, 'm').test(readme))).toEqual([]);
  });

  it('the README leads: at most 300 lines, and its test command is exactly the one CI runs', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length - 1).toBeLessThanOrEqual(300);
    // CI runs it as is, then again on the current LTS (the same command with that node first on the PATH).
    const lines = read('.ci/run').trim().split('\n');
    expect(lines.at(-1)).toBe('PATH="$PWD/.ci/node/node_modules/node-lts/bin:$PATH" npm test');
    const ci = lines.at(-3)!;
    expect(ci).toBe('npm test');
    expect(readme).toContain(`Run the tests`);
    expect(readme).toMatch(new RegExp(`\`\`\`sh\\n${ci}\\n\`\`\``));
  });
});
