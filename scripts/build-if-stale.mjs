// `npm start` runs the compiled service (dist/). This compiles it first, with `npm run build`, only
// when the sources changed since the last build: a restart then takes about a second instead of the
// ten that type-checking and compiling take. "Changed" is the newest modification time and the number
// of the files the build reads; both are kept in dist/.build-stamp after a build that succeeded.
import { execSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const inputs = ['src', 'api', 'crl', 'ocsp', 'hsm-adapters', 'bench', 'test/support', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
const stampFile = path.join(root, 'dist', '.build-stamp');

function scan(p, acc) {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return acc;
  if (st.isDirectory()) for (const name of readdirSync(p)) scan(path.join(p, name), acc);
  else {
    acc.files++;
    acc.newest = Math.max(acc.newest, st.mtimeMs);
  }
  return acc;
}

const now = inputs.reduce((acc, p) => scan(path.join(root, p), acc), { files: 0, newest: 0 });
let last;
try {
  last = JSON.parse(readFileSync(stampFile, 'utf8'));
} catch {}
if (last?.files === now.files && last?.newest === now.newest && statSync(path.join(root, 'dist/src/main.js'), { throwIfNoEntry: false })) {
  console.error('privateca: dist/ is up to date with the sources; not rebuilding');
} else {
  console.error(last ? 'privateca: the sources changed since the last build; building' : 'privateca: building dist/');
  execSync('npm run --silent build', { cwd: root, stdio: 'inherit' });
  writeFileSync(stampFile, JSON.stringify(now) + '\n');
}
