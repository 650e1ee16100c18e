import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/*
 * Issue: a million distinct serials asked must not grow the process past the answer cache's budget.
 * A child process with --expose-gc asks an OcspResponder for 1,000,000 distinct serials (each a
 * request of its own, given as its GET text too, so that every entry also holds its alias) with a
 * 4 MiB budget, and reports at checkpoints what the cache says it holds and what the process really
 * holds after a full GC (V8 heap used plus external memory).
 */

const BUDGET = 4 * 2 ** 20;
const MiB = 2 ** 20;

interface Checkpoint {
  asked: number;
  entries: number;
  cacheBytes: number;
  heldBytes: number;
  rssBytes: number;
}

async function run(n: number, mode: 'text' | 'none'): Promise<Checkpoint[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/support/ocsp-cache-memory.ts', String(n), String(BUDGET), mode], {
    maxBuffer: 1 << 20,
    timeout: 540_000,
  });
  const { checkpoints } = JSON.parse(stdout) as { checkpoints: Checkpoint[] };
  for (const c of checkpoints) {
    console.log(
      `${mode} ${c.asked} asked: ${c.entries} kept, estimate ${(c.cacheBytes / MiB).toFixed(2)} MiB, held ${(c.heldBytes / MiB).toFixed(2)} MiB ` +
        `(${Math.round(c.heldBytes / c.entries)} B/entry), rss ${(c.rssBytes / MiB).toFixed(0)} MiB`,
    );
  }
  return checkpoints;
}

function expectBounded(checkpoints: Checkpoint[], n: number): void {
  expect(checkpoints.map((c) => c.asked)).toEqual([n / 8, n / 4, n / 2, (3 * n) / 4, n]);
  for (const c of checkpoints) {
    expect(c.cacheBytes).toBeLessThanOrEqual(BUDGET);
    // The cache is full: it keeps what the budget allows, not a handful.
    expect(c.cacheBytes).toBeGreaterThan(BUDGET * 0.95);
    // Its estimate is not below what the process really holds for it (1 MiB of GC noise allowed).
    expect(c.heldBytes, `held ${c.heldBytes} against the estimate ${c.cacheBytes}`).toBeLessThanOrEqual(c.cacheBytes + MiB);
  }
  // No growth once full: what is held after a million is what was held after an eighth of them.
  const first = checkpoints[0]!;
  const last = checkpoints.at(-1)!;
  expect(last.entries).toBe(first.entries);
  expect(last.heldBytes - first.heldBytes).toBeLessThan(0.05 * BUDGET);
  expect(last.rssBytes - checkpoints[1]!.rssBytes, 'RSS grew while the cache was full').toBeLessThan(32 * MiB);
}

describe('OCSP answer cache memory', () => {
  it('ok/a million distinct serials asked (each with its GET text): the process holds no more than the 4 MiB budget', { timeout: 600_000 }, async () => {
    expectBounded(await run(1_000_000, 'text'), 1_000_000);
  });

  it('ok/answers kept without a request text: the estimate covers them too', { timeout: 120_000 }, async () => {
    expectBounded(await run(40_000, 'none'), 40_000);
  });
});
