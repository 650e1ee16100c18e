import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * scripts/build-if-stale.mjs (what `npm start` runs first) in a project of its own whose `npm run build`
 * only counts its runs: it builds when there is no build, when a source is newer, added or removed,
 * or the output is gone, and not otherwise.
 */
describe('npm start rebuilds only when the sources changed', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'privateca-stale-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'scripts'));
  mkdirSync(path.join(dir, 'src'));
  copyFileSync(path.resolve(import.meta.dirname, '../../scripts/build-if-stale.mjs'), path.join(dir, 'scripts/build-if-stale.mjs'));
  const build = "const f=require('fs');f.mkdirSync('dist/src',{recursive:true});f.writeFileSync('dist/src/main.js','');f.appendFileSync('builds','x')";
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'stale-test', private: true, scripts: { build: `node -e "${build}"` } }));
  writeFileSync(path.join(dir, 'src/a.ts'), 'export const a = 1;\n');
  const start = () => execFileSync(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const builds = () => readFileSync(path.join(dir, 'builds'), 'utf8').length;

  it('ok/builds the first time, then not until something changes; a newer, added or removed source or a missing output rebuilds', () => {
    start();
    expect(builds()).toBe(1);
    start();
    start();
    expect(builds()).toBe(1);
    const later = new Date(Date.now() + 5_000);
    utimesSync(path.join(dir, 'src/a.ts'), later, later);
    start();
    expect(builds()).toBe(2);
    start();
    expect(builds()).toBe(2);
    writeFileSync(path.join(dir, 'src/b.ts'), 'export const b = 2;\n');
    utimesSync(path.join(dir, 'src/b.ts'), new Date(0), new Date(0)); // older than everything: the count tells
    start();
    expect(builds()).toBe(3);
    rmSync(path.join(dir, 'src/b.ts'));
    start();
    expect(builds()).toBe(4);
    rmSync(path.join(dir, 'dist/src/main.js'));
    start();
    expect(builds()).toBe(5);
    start();
    expect(builds()).toBe(5);
  });
});
