import { CaError } from '../src/domain/ca-error.ts';
import type { Req } from './http.ts';

/**
 * Picks the representation of `offered` (most preferred first) that the request's Accept header
 * (RFC 9110 12.5.1) wants most: the highest q, then the order of `offered`. No Accept header takes
 * the first. None acceptable is 406 not_acceptable, naming what is offered.
 */
export function negotiate<T extends string>(req: Req, offered: readonly [T, ...T[]], options: { fallback?: T } = {}): T {
  const header = req.headers.accept;
  if (!header) return offered[0];
  const ranges = header.split(',').map((part) => {
    const [range, ...params] = part.trim().toLowerCase().split(';').map((p) => p.trim());
    const q = params.find((p) => p.startsWith('q='));
    return { range: range!, q: q ? Number(q.slice(2)) : 1 };
  });
  let best: { type: T; q: number; specificity: number } | undefined;
  for (const type of offered) {
    // The most specific range that matches decides this type's q (RFC 9110 12.5.1).
    let match: { q: number; specificity: number } | undefined;
    for (const { range, q } of ranges) {
      const specificity = range === type ? 2 : range === '*/*' ? 0 : range.endsWith('/*') && type.startsWith(range.slice(0, -1)) ? 1 : -1;
      if (specificity >= 0 && (!match || specificity > match.specificity)) match = { q: Number.isFinite(q) ? q : 0, specificity };
    }
    if (match && match.q > 0 && (!best || match.q > best.q)) best = { type, ...match };
  }
  if (!best && options.fallback) return options.fallback;
  if (!best) throw new CaError('not_acceptable', 'not_acceptable', `this resource is offered as ${offered.join(', ')}`);
  return best.type;
}
