import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { freePort } from './net.ts';

/**
 * A PostgreSQL cluster of its own on a free port, for tests that stop, start and crash the server
 * (pg_ctlcluster) without touching the PostgreSQL that every other test uses. Trust auth, like that one.
 */
export interface PgCluster {
  port: number;
  /** The URL of database `postgres` on it (tests use it as the service's database). */
  url: string;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it unless it runs already. */
  start(): Promise<void>;
  /** pg_ctlcluster restart -m immediate: the server dies without a clean shutdown and a new one comes up at the same address. */
  crashRestart(): Promise<void>;
  drop(): Promise<void>;
}

// Asynchronous: the tests beside this one keep running (and their clients keep timing) meanwhile.
const run = promisify(execFile);
const ctl = async (version: string, name: string, ...args: string[]) => {
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, ...args], { timeout: 60_000 });
};

export async function createPgCluster(): Promise<PgCluster> {
  const version = readdirSync('/etc/postgresql').sort().at(-1)!;
  const name = `privateca_ops_${randomBytes(3).toString('hex')}`;
  const port = await freePort();
  await run('pg_createcluster', [version, name, '-p', String(port), '--start', '--', '--auth=trust'], { timeout: 120_000 });
  const running = async () => (await run('pg_lsclusters', ['-h', version, name])).stdout.includes(' online ');
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: (mode = 'fast') => ctl(version, name, 'stop', '-m', mode),
    start: async () => {
      if (!(await running())) await ctl(version, name, 'start');
    },
    crashRestart: () => ctl(version, name, 'restart', '-m', 'immediate'),
    drop: async () => {
      await run('pg_dropcluster', ['--stop', version, name], { timeout: 60_000 });
    },
  };
}
