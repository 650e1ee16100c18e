/** What the benchmarks share: memory readings, an RSS sampler, rounding, a fresh database. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import pg from 'pg';

export const MB = 1024 * 1024;
export const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;
export const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where the resident memory is: V8's heap (reserved / live), memory outside it, and its ArrayBuffers. */
export const memoryLine = () => {
  const m = process.memoryUsage();
  return `heap ${mb(m.heapTotal)}/${mb(m.heapUsed)} MB, external ${mb(m.external)} MB (ArrayBuffers ${mb(m.arrayBuffers)} MB), RSS ${mb(m.rss)} MB`;
};

/**
 * Samples the process's RSS every 10 ms from a worker thread: the main thread is busy (encoding,
 * signing) exactly when memory peaks, so a timer on it would miss the peak. RSS is per process, so
 * the worker sees the service's memory.
 */
export class RssSampler {
  private readonly worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads');
    let timer, peak = 0, samples = 0;
    const sample = () => { const r = process.memoryUsage.rss(); samples++; if (r > peak) peak = r; };
    parentPort.on('message', (m) => {
      if (m === 'start') { peak = 0; samples = 0; sample(); timer = setInterval(sample, 10); parentPort.postMessage('started'); }
      else if (m === 'stop') { clearInterval(timer); sample(); parentPort.postMessage({ peak, samples }); }
    });`,
    { eval: true, execArgv: [] },
  );
  private next(): Promise<any> {
    return new Promise((resolve) => this.worker.once('message', resolve));
  }
  async start(): Promise<void> {
    const started = this.next();
    this.worker.postMessage('start');
    await started;
  }
  async stop(): Promise<{ peak: number; samples: number }> {
    const done = this.next();
    this.worker.postMessage('stop');
    return done;
  }
  close(): Promise<number> {
    return this.worker.terminate();
  }
}

/** A new database on the PostgreSQL at `adminUrl`, the server's settings that matter for speed, and how to drop it. */
export async function freshPgDatabase(adminUrl: string, prefix: string): Promise<{ url: string; settings: Record<string, string>; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const settings: Record<string, string> = {};
  for (const s of ['server_version', 'shared_buffers', 'work_mem', 'synchronous_commit', 'fsync']) settings[s] = (await admin.query(`SHOW ${s}`)).rows[0][s];
  await admin.end();
  return {
    url: adminUrl.replace(/\/[^/]*$/, `/${name}`),
    settings,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** What every result file starts with: when, on which machine, how busy it was, which Node. */
export const runInfo = () => ({
  when: new Date().toISOString(),
  machine: `${os.cpus()[0]?.model} × ${os.availableParallelism()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
  loadAverage: os.loadavg().map((x) => round(x, 2)),
  node: process.version,
});

/** Writes a result file (bench/results/…), making its directory. */
export function writeResult(file: string, result: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
}
