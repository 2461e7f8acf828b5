/**
 * The shape of src/, as docs/how-it-works.md draws it ("Layers"): every import goes down the layer
 * table written there, no file or folder imports itself back through others, and no folder but the
 * one-file-per-kind src/resources/ holds more than 25 files. The table in the docs is the source: change
 * the picture and the code together.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/ctx.js';
import { cycles, folderOf, importGraph } from '../helpers/imports.js';

const MAX_FILES = 25;
const EXEMPT = new Set(['src/resources']);

/** The layers of docs/how-it-works.md: rank and folder, from its table's rows `| 3 | `src/engine/` | ...`. */
function layers(): { rank: number; folder: string; row: number }[] {
  const doc = readFileSync(join(ROOT, 'docs/how-it-works.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Layers'));
  if (!section) throw new Error('docs/how-it-works.md has no "## Layers" section');
  return [...section.matchAll(/^\| (\d+) \| ((?:`src\/[a-z/-]+\/`(?:, )?)+) \|/gm)].flatMap((m, row) =>
    [...m[2]!.matchAll(/`(src\/[a-z/-]+)\/`/g)].map((f) => ({ rank: Number(m[1]), folder: f[1]!, row })),
  );
}

const graph = importGraph(ROOT);
const table = layers();

/** The layer of a file: the deepest folder of the table that holds it. */
function layerOf(file: string): { rank: number; folder: string; row: number } {
  const hits = table.filter((l) => file.startsWith(`${l.folder}/`)).sort((a, b) => b.folder.length - a.folder.length);
  if (!hits[0]) throw new Error(`${file} is in no layer of docs/how-it-works.md`);
  return hits[0];
}

describe('the layers of src/', () => {
  it('the docs name every folder of src/ once, with a rank', () => {
    expect(table.length).toBeGreaterThanOrEqual(10);
    expect(new Set(table.map((l) => l.folder)).size).toBe(table.length);
    for (const f of graph.files) expect(() => layerOf(f)).not.toThrow();
  });

  it('every import goes down the table (or stays in its layer)', () => {
    const wrong: string[] = [];
    for (const [from, tos] of graph.edges) {
      const a = layerOf(from);
      for (const to of tos) {
        const b = layerOf(to);
        // The folders of one row (a layer and its `lib/` or `commands/`) are one layer.
        if (a.row === b.row) continue;
        if (a.rank <= b.rank)
          wrong.push(`${from} (${a.folder}, rank ${a.rank}) imports ${to} (${b.folder}, rank ${b.rank})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no file imports itself back through other files', () => {
    expect(cycles(graph.files, (f) => graph.edges.get(f) ?? [])).toEqual([]);
  });

  it('no folder imports itself back through other folders', () => {
    const folders = new Map<string, Set<string>>();
    for (const [from, tos] of graph.edges) {
      const set = folders.get(folderOf(from)) ?? new Set<string>();
      for (const to of tos) if (folderOf(to) !== folderOf(from)) set.add(folderOf(to));
      folders.set(folderOf(from), set);
    }
    expect(cycles(folders.keys(), (f) => folders.get(f) ?? [])).toEqual([]);
  });

  it(`no folder but src/resources/ holds more than ${MAX_FILES} files`, () => {
    const counts = new Map<string, number>();
    for (const f of graph.files) counts.set(folderOf(f), (counts.get(folderOf(f)) ?? 0) + 1);
    const over = [...counts].filter(([dir, n]) => n > MAX_FILES && !EXEMPT.has(dir));
    expect(over).toEqual([]);
  });

  it('commands reach resource kinds only through the layers below them', () => {
    const reaching = [...graph.edges].flatMap(([from, tos]) =>
      from.startsWith('src/cli/')
        ? [...tos].filter((t) => t.startsWith('src/resources/')).map((t) => `${from} -> ${t}`)
        : [],
    );
    expect(reaching).toEqual([]);
  });
});
