/**
 * What an install of batchctl holds and runs (run after `npm run build`): the bundle imports exactly the
 * packages package.json depends on (everything else is bundled, so nothing is installed twice and nothing
 * unused), the package ships its licence, metadata and the docs its hints name, and `--debug` traces
 * point at source lines through the shipped maps.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { ROOT } from '../helpers/ctx.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  license: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  files: string[];
  repository?: { url: string };
  bugs?: { url: string };
  homepage?: string;
  engines: { node: string };
};

/** The package a bare specifier names (`@smithy/core/client` -> `@smithy/core`). */
const packageOf = (spec: string) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

function bundleImports(): Set<string> {
  const out = new Set<string>();
  for (const f of readdirSync(join(ROOT, 'dist')).filter((n) => n.endsWith('.js'))) {
    const text = readFileSync(join(ROOT, 'dist', f), 'utf8');
    for (const m of text.matchAll(
      /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)["']((?:@[a-z0-9._-]+\/)?[a-z0-9._-]+(?:\/[a-z0-9._/-]+)?)["']/g,
    )) {
      const spec = m[1]!;
      if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!)) continue;
      out.add(packageOf(spec));
    }
  }
  return out;
}

describe('the install', () => {
  it('the bundle imports exactly the dependencies: the rest is bundled and is a devDependency', () => {
    expect([...bundleImports()].sort()).toEqual(Object.keys(pkg.dependencies).sort());
    for (const bundled of ['commander', 'yaml', 'zod', '@aws-sdk/client-ec2'])
      expect(pkg.devDependencies[bundled], bundled).toBeDefined();
    expect(Object.keys(pkg.dependencies).filter((d) => d in pkg.devDependencies)).toEqual([]);
  });

  it('@aws-sdk/credential-providers, which nothing imports, is not a dependency of any kind', () => {
    expect({ ...pkg.dependencies, ...pkg.devDependencies }['@aws-sdk/credential-providers']).toBeUndefined();
  });

  it('the package: MIT licence file, repository, bugs, the docs the hints name, the bin shim and its type', () => {
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
    expect(pkg.repository?.url).toMatch(/^git\+https:\/\//);
    expect(pkg.bugs?.url).toMatch(/^https:\/\//);
    expect(pkg.homepage).toMatch(/^https:\/\//);
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }),
    ) as { files: { path: string }[] }[];
    const files = new Set(packed[0]!.files.map((f) => f.path));
    for (const f of [
      'LICENSE',
      'README.md',
      'bin/batchctl',
      'bin/package.json',
      'dist/main.js',
      'docs/configuration.md',
    ])
      expect(files.has(f), f).toBe(true);
    expect([...files].filter((f) => /^(src|test|bench)\//.test(f))).toEqual([]);
    // The lock, as npm-shrinkwrap.json (written by prepack): npm installs exactly the tested SDK runtime.
    expect(pkg.files).toContain('npm-shrinkwrap.json');
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.prepack).toBe(
      'cp package-lock.json npm-shrinkwrap.json',
    );
    // Every doc a hint names (docPath('x.md')) is shipped.
    const named = new Set<string>();
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
        d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)],
      );
    for (const file of walk(join(ROOT, 'src')))
      for (const m of readFileSync(file, 'utf8').matchAll(/docPath\('([^']+)'\)/g)) named.add(m[1]!);
    expect(named.size).toBeGreaterThan(0);
    for (const doc of named) expect(files.has(`docs/${doc}`), doc).toBe(true);
  });

  it('--debug: a trace names src/*.ts lines, through the shipped source maps', () => {
    const res = spawnSync(
      process.execPath,
      ['bin/batchctl', '--debug', '-c', 'no-such-dir/batch.config.yaml', 'validate'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/at loadConfig \(.*src\/config\/load\.ts:\d+:\d+\)/);
    expect(res.stderr).not.toMatch(/dist\/chunk-/);
    // Without --debug no trace, and the maps are not even read.
    const plain = spawnSync(process.execPath, ['bin/batchctl', '-c', 'no-such-dir/batch.config.yaml', 'validate'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(plain.stderr).not.toMatch(/\bat /);
  });

  it("a hint's doc path is one the user can open from where they are", () => {
    const inside = spawnSync(process.execPath, [join(ROOT, 'bin/batchctl'), '-c', 'nothing.yaml', 'validate'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(inside.stderr).toMatch(/every key: docs\/configuration\.md/);
    const outside = spawnSync(process.execPath, [join(ROOT, 'bin/batchctl'), '-c', 'nothing.yaml', 'validate'], {
      cwd: '/',
      encoding: 'utf8',
    });
    const path = /every key: (\S+configuration\.md)/.exec(outside.stderr)?.[1];
    expect(path && existsSync(path), outside.stderr).toBe(true);
  });
});
