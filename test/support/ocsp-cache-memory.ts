/**
 * Run by test/unit/ocsp-memory.test.ts as `node --expose-gc --import tsx test/support/ocsp-cache-memory.ts N BUDGET`:
 * asks an OcspResponder (cacheBytes = BUDGET) for N distinct serials, each a request of its own as
 * a GET's base64 text, and prints as JSON, at checkpoints, what the cache says it holds and what
 * the process holds after a full GC (V8 heap used plus memory outside the heap: Buffers).
 */
import { ocspRequest, issuerIds } from '../../bench/ocsp-request.ts';
import { OpensslPki } from '../pki/openssl.ts';
import { FIXTURE_CA_ID, fixtureResponder, responderFixture } from './ocsp-responder-fixture.ts';

const [n, budget] = process.argv.slice(2, 4).map(Number) as [number, number];
/** 'text': each request given as its GET text too (an alias kept with the entry); 'none': DER alone. */
const withText = process.argv[4] !== 'none';
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const held = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

const fixture = responderFixture(new OpensslPki());
const ids = issuerIds(fixture.caDer);
const { r } = fixtureResponder(fixture, { cacheBytes: budget, lookup: async () => ({ status: 'ISSUED' }) });

// Warm the code paths first, so that compiled code and one-time allocations are in the baseline.
for (let i = 0; i < 200; i++) await r.answer(FIXTURE_CA_ID, ocspRequest(ids, serial(i)), 'warm' + i);
r.reset();
const baseline = held();
const checkpoints: { asked: number; entries: number; cacheBytes: number; heldBytes: number; rssBytes: number }[] = [];
const marks = new Set([n / 8, n / 4, n / 2, (3 * n) / 4, n].map(Math.round));
for (let i = 1; i <= n; i++) {
  const der = ocspRequest(ids, serial(1_000_000 + i));
  const a = await r.answer(FIXTURE_CA_ID, der, withText ? encodeURIComponent(der.toString('base64')) : undefined);
  if (a.kind !== 'good') throw new Error(`serial ${i}: ${a.kind}`);
  if (marks.has(i)) checkpoints.push({ asked: i, entries: r.cache.size, cacheBytes: r.cache.bytes, heldBytes: held() - baseline, rssBytes: process.memoryUsage().rss });
}
console.log(JSON.stringify({ baseline, checkpoints }));

function serial(i: number): Uint8Array {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0x40000000 + i, 12);
  b[0] = 0x5a;
  return b;
}
