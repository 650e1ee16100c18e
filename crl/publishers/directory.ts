import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { CrlFile, CrlPublisher } from '../../src/ports/crl-publisher.ts';

/** A temp file older than this is left over from a writer that died; a younger one may be in use. */
const STALE_TEMP_MS = 60_000;

/**
 * Writes CRLs into a directory that a web server (or anything else) serves, as `<dir>/<file.path>`.
 * Each file is replaced atomically: the bytes go to a temp file in the same directory, which is
 * fsynced and renamed over the target, and the directory is fsynced; so a reader, or a restart after
 * a crash, sees the old CRL or the new one, never part of one. Files are 0644: CRLs are public.
 *
 * Within one publisher, writes of one path run one after the other and an older CRL number never
 * replaces a newer one; across processes that order comes from the CRL updater's per-CA lock.
 */
export class DirectoryPublisher implements CrlPublisher {
  readonly name: string;
  private readonly dir: string;
  private readonly paths = new Map<string, { highest: bigint; tail: Promise<unknown> }>();

  constructor(options: { dir: string }) {
    this.name = `directory:${options.dir}`;
    this.dir = path.resolve(options.dir);
  }

  async publish(file: CrlFile): Promise<void> {
    const target = path.join(this.dir, checkedPath(file.path));
    let state = this.paths.get(target);
    if (!state) this.paths.set(target, (state = { highest: -1n, tail: Promise.resolve() }));
    const s = state;
    const run = s.tail.then(async () => {
      if (file.crlNumber < s.highest) return;
      await this.write(target, file.der);
      s.highest = file.crlNumber;
    });
    s.tail = run.catch(() => {});
    return run;
  }

  private async write(target: string, der: Buffer): Promise<void> {
    const parent = path.dirname(target);
    const base = path.basename(target);
    try {
      await makeDirs(parent);
    } catch (e) {
      throw new Error(`creating CRL directory ${parent}: ${(e as Error).message}`, { cause: e });
    }
    await removeStaleTemps(parent, base);
    const tmp = path.join(parent, `.${base}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fh = await open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(der);
        // The umask may have taken bits that readers of a public CRL need.
        await fh.chmod(0o644);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw new Error(`writing CRL ${target}: ${(e as Error).message}`, { cause: e });
    }
    // The rename is durable only once the directory entry is.
    await fsyncDir(parent);
  }
}

/** The relative path of a CrlFile, refused when it could leave the directory or look like a temp file. */
function checkedPath(p: string): string {
  const parts = p.split('/');
  if (!p || p.includes('\\') || path.isAbsolute(p) || parts.some((s) => s === '' || s.startsWith('.'))) {
    throw new Error(`refusing CRL path "${p}": expected <caId>.crl or <caId>/<partition>.crl`);
  }
  return path.join(...parts);
}

/** mkdir -p, then the new directories made 0755 and their entries made durable. */
async function makeDirs(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o755 });
  if (!created) return;
  const made: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    made.push(d);
    if (d === created || path.dirname(d) === d) break;
  }
  for (const d of made) await chmod(d, 0o755);
  for (const d of [...made.map((d) => path.dirname(d))].reverse()) await fsyncDir(d);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (e) {
    // Some file systems cannot fsync a directory; the rename itself has happened.
    if (!['EINVAL', 'EISDIR', 'ENOTSUP'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await fh.close();
  }
}

/** Best effort: temp files of this target left by writers that died mid-way. */
async function removeStaleTemps(dir: string, base: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const prefix = `.${base}.`;
  const cutoff = Date.now() - STALE_TEMP_MS;
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    const p = path.join(dir, n);
    try {
      if ((await stat(p)).mtimeMs < cutoff) await unlink(p);
    } catch {
      // gone already, or another writer's business
    }
  }
}
