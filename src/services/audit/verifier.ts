import { verify, type KeyObject } from 'node:crypto';
import type { AuditCheckpoint } from '../../domain/audit-event.ts';
import type { AuditRepository, StoredAuditEvent } from '../../ports/repositories.ts';
import { GENESIS, chainHash, checkpointText } from './canonical.ts';

export type AuditDamage = 'modified' | 'missing' | 'inserted' | 'reordered' | 'truncated' | 'bad_signature';

export type VerifyResult =
  | { ok: true; events: number; archivedThrough?: number; checkpoint?: AuditCheckpoint }
  | { ok: false; firstBadSeq: number; problem: AuditDamage; detail: string; events: number; archivedThrough?: number; checkpoint?: AuditCheckpoint };

const PAGE = 10_000;
/** Rows added behind the chain's back that verification looks at (a few show the damage). */
const STRAYS = 1_000;

type ChainReader = Pick<AuditRepository, 'chainBounds' | 'sealedRange' | 'strays'>;

/**
 * The sealed events in seq order, as stored: the chain (audit_chain) says which events hold each
 * seq, a range at a time; events that carry a seq the chain does not give them (rows inserted by
 * hand) are merged in by their seq, after a chain row of the same seq.
 */
export async function* sealedEvents(audit: ChainReader): AsyncGenerator<StoredAuditEvent> {
  const bounds = await audit.chainBounds();
  const strays = await audit.strays(STRAYS);
  let s = 0;
  if (bounds) {
    for (let after = bounds.first - 1; after < bounds.last; after += PAGE) {
      for (const row of await audit.sealedRange(after, Math.min(after + PAGE, bounds.last))) {
        while (s < strays.length && strays[s]!.seq! < row.seq!) yield strays[s++]!;
        yield row;
      }
    }
  }
  while (s < strays.length) yield strays[s++]!;
}

/** An iterator with a look at the next row. */
class Rows {
  private ahead?: IteratorResult<StoredAuditEvent>;

  constructor(private readonly it: AsyncIterator<StoredAuditEvent>) {}

  async peek(): Promise<StoredAuditEvent | undefined> {
    this.ahead ??= await this.it.next();
    return this.ahead.done ? undefined : this.ahead.value;
  }

  async next(): Promise<StoredAuditEvent | undefined> {
    const row = await this.peek();
    if (row) this.ahead = undefined;
    return row;
  }
}

/**
 * Checks the whole chain and the latest checkpoint: each event's hash from its content and the one
 * before it, seqs without gaps, every checkpoint's hash at its size, none of the covered events
 * missing at the end, the latest checkpoint's signature. Names the first bad seq and the kind of
 * damage (docs/audit.md says how each is told apart).
 */
export async function verifyAuditChain(o: {
  /** The sealed events in seq order, from the start each time it is called (sealedEvents). */
  read: () => AsyncIterator<StoredAuditEvent>;
  checkpoints: readonly AuditCheckpoint[];
  /** The audit key that signed a checkpoint, by its id, from the key store (not the database). */
  publicKey: (keyId: string) => KeyObject | undefined;
}): Promise<VerifyResult> {
  const latest = o.checkpoints[o.checkpoints.length - 1];
  let events = 0;
  let archivedThrough: number | undefined;
  const tail = () => ({ ...(archivedThrough ? { archivedThrough } : {}), ...(latest ? { checkpoint: latest } : {}) });
  const bad = (firstBadSeq: number, problem: AuditDamage, detail: string): VerifyResult => ({ ok: false, firstBadSeq, problem, detail, events, ...tail() });

  if (latest) {
    const key = o.publicKey(latest.keyId);
    const text = Buffer.from(checkpointText(latest), 'utf8');
    if (!key || !verify('sha256', text, { key, dsaEncoding: 'der' }, latest.signature)) {
      return bad(latest.size, 'bad_signature', `the signature of the checkpoint of ${latest.size} events does not verify with audit key ${latest.keyId}`);
    }
  }
  const bySize = new Map(o.checkpoints.map((c) => [c.size, c]));
  let lastGoodCheckpoint = 0;
  let prev: Buffer = GENESIS;
  let expected = 1;
  const rows = new Rows(o.read());
  // Events up to a checkpoint may have been archived (docs/audit.md): the chain then goes on from
  // that checkpoint's hash. Without a checkpoint just before the first event, its absence is damage.
  const first = await rows.peek();
  const base = first && first.seq! > 1 ? bySize.get(first.seq! - 1) : undefined;
  if (base) {
    archivedThrough = base.size;
    lastGoodCheckpoint = base.size;
    prev = base.hash;
    expected = base.size + 1;
  }
  for (let row = await rows.next(); row; row = await rows.next()) {
    const seq = row.seq!;
    if (seq > expected) return bad(expected, 'missing', `event ${expected} is not there${seq > expected + 1 ? ` (nor those up to ${seq - 1})` : ''}`);
    if (seq < expected) return bad(seq, 'inserted', `a second event claims seq ${seq}`);
    const hash = chainHash(prev, { ...row, seq });
    if (!hash.equals(row.hash!)) return bad(seq, await classify(row, prev, rows, o.read, latest, base?.hash ?? GENESIS), `event ${seq} does not hash to its recorded chain hash`);
    const cp = bySize.get(seq);
    if (cp) {
      if (!cp.hash.equals(hash)) return bad(lastGoodCheckpoint + 1, 'modified', `the chain up to event ${seq} is not the one the checkpoint of ${seq} events signed: it was rewritten after event ${lastGoodCheckpoint}`);
      lastGoodCheckpoint = seq;
    }
    prev = hash;
    expected++;
    events++;
  }
  const end = expected - 1;
  if (latest && end < latest.size) return bad(end + 1, 'truncated', `the checkpoint covers ${latest.size} events, the log ends at ${end}`);
  return { ok: true, events, ...tail() };
}

/**
 * What happened to an event that does not hash to its recorded hash: its content changed (the next
 * event still chains from its recorded hash), it belongs elsewhere (its content hashes to another
 * row's recorded hash there: two rows swapped), or it was added: the event after it is the one that
 * was here (it hashes to its recorded hash at this seq, the later ones having been renumbered), or
 * nothing follows it and no checkpoint covers it.
 */
async function classify(
  row: StoredAuditEvent,
  previous: Buffer,
  rows: Rows,
  read: () => AsyncIterator<StoredAuditEvent>,
  latest: AuditCheckpoint | undefined,
  start: Buffer,
): Promise<AuditDamage> {
  const seq = row.seq!;
  const next = await rows.peek();
  if (next && next.seq === seq + 1 && chainHash(row.hash!, { ...next, seq: next.seq }).equals(next.hash!)) return 'modified';
  // Does this content belong at another seq? A second pass over the chain, only when damaged.
  const again = new Rows(read());
  let before = start;
  for (let r = await again.next(); r; r = await again.next()) {
    if (r.seq !== seq && chainHash(before, { ...row, seq: r.seq! }).equals(r.hash!)) return 'reordered';
    before = r.hash!;
  }
  if (next && chainHash(previous, { ...next, seq }).equals(next.hash!)) return 'inserted';
  return !next && (!latest || seq > latest.size) ? 'inserted' : 'modified';
}
