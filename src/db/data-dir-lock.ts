import { open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * The embedded database's directory belongs to one process (PGlite has no lock of its own; two
 * processes on it would corrupt it): a lock file holding the pid, made exclusively. A lock whose
 * process is gone (killed) is taken over; one of this very process too (a reopen in tests).
 * Returns the release.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, 'pgdata.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const h = await open(file, 'wx', 0o600);
      await h.writeFile(`${process.pid}\n`);
      await h.close();
      return () => unlink(file).catch(() => {});
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`the embedded database in ${dir} is in use by process ${pid}: stop that process first (several processes need PostgreSQL, DATABASE_URL)`);
      }
      await unlink(file).catch(() => {});
    }
  }
  throw new Error(`could not lock the embedded database in ${dir} (${file})`);
}
