import { expect } from 'vitest';
import { CaError } from '../../src/domain/ca-error.ts';

/** Awaits `p`, expects it to fail with a CaError (of `code`, when given) and returns that error. */
export async function expectCaErrorCode(p: Promise<unknown>, code?: string): Promise<CaError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected a CaError ${code ?? ''}`).toBeInstanceOf(CaError);
  if (code) expect((err as CaError).code, (err as CaError).detail).toBe(code);
  return err as CaError;
}
