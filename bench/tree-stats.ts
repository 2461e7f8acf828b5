/**
 * The shape of a source tree, for comparing two checkouts (before and after a restructuring): files and
 * lines per top-level folder of src/, the longest functions, long lines, and import cycles between
 * files and between folders (the graph test/architecture checks). Reads files only: the tree needs no
 * install.
 *
 *   node --import tsx bench/tree-stats.ts [checkout] [--json]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { cycles, importGraph } from '../test/helpers/imports.js';

/** How many functions the list shows. */
const LONGEST = 10;

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listTs(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** A function's name as a reader finds it: declared, a method, or the variable or property it is bound to. */
function nameOf(n: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string | undefined {
  if (n.name) return n.name.getText(sf);
  const p = n.parent;
  const bound = ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p);
  if (bound) return p.name.getText(sf);
  return undefined;
}

/** Every named function of a file with its length in lines (nested functions included in their parent's). */
function functionsOf(path: string, text: string): { name: string; lines: number }[] {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const out: { name: string; lines: number }[] = [];
  const visit = (n: ts.Node): void => {
    if (
      ts.isFunctionDeclaration(n) ||
      ts.isMethodDeclaration(n) ||
      ts.isFunctionExpression(n) ||
      ts.isArrowFunction(n) ||
      ts.isConstructorDeclaration(n) ||
      ts.isGetAccessor(n) ||
      ts.isSetAccessor(n)
    ) {
      const name = ts.isConstructorDeclaration(n) ? 'constructor' : nameOf(n, sf);
      if (name && n.body) {
        const first = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
        const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
        out.push({ name, lines: last - first + 1 });
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

export interface TreeStats {
  folders: { folder: string; files: number; lines: number }[];
  total: { files: number; lines: number };
  longest: { name: string; file: string; lines: number }[];
  over120: number;
  over140: number;
  fileCycles: string[][];
  folderCycles: string[][];
  topFolderCycles: string[][];
}

export function treeStats(root: string): TreeStats {
  const files = listTs(join(root, 'src'))
    .map((f) => relative(root, f).split('\\').join('/'))
    .sort();
  const folders = new Map<string, { files: number; lines: number }>();
  const fns: TreeStats['longest'] = [];
  let over120 = 0;
  let over140 = 0;
  for (const f of files) {
    const text = readFileSync(join(root, f), 'utf8');
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    // A file directly under src/ counts as its own folder (src/version.ts).
    const top = f.split('/').length > 2 ? f.split('/').slice(0, 2).join('/') : f;
    const agg = folders.get(top) ?? { files: 0, lines: 0 };
    agg.files += 1;
    agg.lines += lines.length;
    folders.set(top, agg);
    for (const l of lines) {
      if (l.length > 120) over120 += 1;
      if (l.length > 140) over140 += 1;
    }
    for (const fn of functionsOf(f, text)) fns.push({ ...fn, file: f });
  }
  const graph = importGraph(root);
  const fileCycles = cycles(graph.files, (f) => graph.edges.get(f) ?? []);
  const by = (folderOf: (f: string) => string) => {
    const edges = new Map<string, Set<string>>();
    for (const [from, tos] of graph.edges) {
      for (const to of tos) {
        const a = folderOf(from);
        const b = folderOf(to);
        if (a === b) continue;
        if (!edges.has(a)) edges.set(a, new Set());
        edges.get(a)!.add(b);
      }
    }
    return cycles(new Set(graph.files.map(folderOf)), (d) => edges.get(d) ?? []);
  };
  const dirOf = (f: string) => f.split('/').slice(0, -1).join('/');
  const topOf = (f: string) => f.split('/').slice(0, 2).join('/');
  fns.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));
  const total = { files: 0, lines: 0 };
  for (const x of folders.values()) {
    total.files += x.files;
    total.lines += x.lines;
  }
  return {
    folders: [...folders].map(([folder, x]) => ({ folder, ...x })),
    total,
    longest: fns.slice(0, LONGEST),
    over120,
    over140,
    fileCycles,
    folderCycles: by(dirOf),
    topFolderCycles: by(topOf),
  };
}

function print(s: TreeStats): void {
  const out: string[] = [];
  out.push('folder                 files  lines');
  const row = (name: string, x: { files: number; lines: number }) =>
    `${name.padEnd(22)} ${String(x.files).padStart(5)} ${String(x.lines).padStart(6)}`;
  for (const f of s.folders) out.push(row(f.folder, f));
  out.push(row('total', s.total));
  out.push('', `longest functions (lines, name, file):`);
  for (const f of s.longest) out.push(`${String(f.lines).padStart(5)}  ${f.name}  ${f.file}`);
  out.push('', `lines over 120 characters: ${s.over120}; over 140: ${s.over140}`);
  out.push(
    `import cycles: ${s.fileCycles.length} between files, ${s.folderCycles.length} between folders` +
      ` (${s.topFolderCycles.length} between top-level folders)`,
  );
  for (const c of s.fileCycles) out.push(`  files: ${c.join(' <-> ')}`);
  for (const c of s.folderCycles) out.push(`  folders: ${c.join(' <-> ')}`);
  process.stdout.write(out.join('\n') + '\n');
}

const args = process.argv.slice(2);
const root = resolve(args.find((a) => !a.startsWith('--')) ?? '.');
const stats = treeStats(root);
if (args.includes('--json')) process.stdout.write(JSON.stringify(stats, null, 2) + '\n');
else print(stats);
