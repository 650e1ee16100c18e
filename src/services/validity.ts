import { invalid } from '../domain/ca-error.ts';

const DAY = 86_400_000;
/** notBefore is set this far in the past, for relying parties whose clocks run a little behind. */
const BACKDATE = 60_000;

/** How long a certificate is valid: a number of days, calendar months or years from now, or until a time. */
export type Validity = { days: number } | { months: number } | { years: number } | { notAfter: Date };

/**
 * A leaf's validity in whole seconds (RFC 5280 has no fractions): notBefore backdated 60 s, never
 * before the CA's own notBefore; notAfter from a number of days or a time, in the future and never
 * past the CA's notAfter (400 validity_exceeds_ca). Without the CA's bounds (it has no certificate
 * yet), only the request's own sense is checked.
 */
export function leafValidity(validity: Validity, ca: { notBefore: Date; notAfter: Date } | undefined, now: Date): { notBefore: Date; notAfter: Date } {
  const nowSec = Math.floor(now.getTime() / 1000) * 1000;
  const notBefore = new Date(Math.max(nowSec - BACKDATE, ca?.notBefore.getTime() ?? 0));
  const notAfter =
    'days' in validity
      ? new Date(nowSec + validity.days * DAY)
      : 'notAfter' in validity
        ? new Date(Math.floor(validity.notAfter.getTime() / 1000) * 1000)
        : addMonths(new Date(nowSec), 'months' in validity ? validity.months : validity.years * 12);
  if (notAfter.getTime() <= now.getTime()) throw invalid('invalid_validity', 'validity.notAfter must be in the future');
  if (ca && notAfter > ca.notAfter) {
    throw invalid('validity_exceeds_ca', `notAfter ${notAfter.toISOString()} is past the CA's notAfter ${ca.notAfter.toISOString()}`);
  }
  return { notBefore, notAfter };
}

/** `months` calendar months after `from` (UTC), on the last day of the month when that day is missing (Jan 31 + 1 → Feb 28/29). */
function addMonths(from: Date, months: number): Date {
  const out = new Date(from);
  out.setUTCDate(1);
  out.setUTCMonth(out.getUTCMonth() + months);
  const last = new Date(Date.UTC(out.getUTCFullYear(), out.getUTCMonth() + 1, 0)).getUTCDate();
  out.setUTCDate(Math.min(from.getUTCDate(), last));
  return out;
}
