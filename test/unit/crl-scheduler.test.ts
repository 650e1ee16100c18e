import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from 'pino';
import { CrlScheduler } from '../../crl/crl-scheduler.ts';
import type { CrlUpdater } from '../../crl/crl-updater.ts';
import { conflict } from '../../src/domain/ca-error.ts';

/** A scheduler over an updater that does what `publish` is given, and a logger that records errors. */
function scheduler(publish: (caId: string) => Promise<undefined>) {
  const errors: unknown[] = [];
  const calls: string[] = [];
  const logger = { error: (o: unknown) => errors.push(o) } as unknown as Logger;
  const updater = {
    publish: (caId: string) => {
      calls.push(caId);
      return publish(caId);
    },
  } as unknown as CrlUpdater;
  return { s: new CrlScheduler({ updater, logger }), errors, calls };
}

describe('CrlScheduler after a revocation', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('builds once for revocations gathered within a second', async () => {
    vi.useFakeTimers();
    const { s, calls, errors } = scheduler(async () => undefined);
    s.revoked('ca-1');
    s.revoked('ca-1');
    await vi.advanceTimersByTimeAsync(1_100);
    expect(calls).toEqual(['ca-1']);
    expect(errors).toEqual([]);
    await s.stop();
  });

  it('logs nothing for a CA that does not publish CRLs (a revocation of a CA with CRLs off)', async () => {
    vi.useFakeTimers();
    const { s, calls, errors } = scheduler(async (caId) => {
      throw conflict('crl_disabled', `CA ${caId} does not publish CRLs`);
    });
    s.revoked('ca-off');
    await vi.advanceTimersByTimeAsync(1_100);
    expect(calls).toEqual(['ca-off']);
    expect(errors).toEqual([]);
    await s.stop();
  });

  it('logs a build that fails for another reason', async () => {
    vi.useFakeTimers();
    const { s, errors } = scheduler(async () => {
      throw new Error('disk full');
    });
    s.revoked('ca-2');
    await vi.advanceTimersByTimeAsync(1_100);
    expect(errors).toHaveLength(1);
    expect((errors[0] as { caId: string }).caId).toBe('ca-2');
    await s.stop();
  });
});
