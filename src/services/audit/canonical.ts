import { createHash } from 'node:crypto';
import type { AuditEvent } from '../../domain/audit-event.ts';

/*
 * The bytes the audit chain hashes and the checkpoints sign, defined here once and in docs/audit.md
 * for verifiers written elsewhere (docs/verify-audit.mjs is one, in node:crypto alone).
 */

/**
 * JSON with object keys sorted (by UTF-16 code units) and no white space: RFC 8785's canonical form
 * for the values events hold (strings, finite numbers, booleans, null, arrays, objects).
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error('audit events hold finite numbers only');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

/** An event as the API shows it, without its hash: exactly what the chain hashes (canonically). */
export function eventObject(e: AuditEvent & { seq?: number }) {
  return {
    seq: e.seq ?? null,
    time: e.time.toISOString(),
    principal: e.principal ? { id: e.principal.id ?? null, name: e.principal.name } : null,
    action: e.action,
    resource: e.resource,
    outcome: e.outcome,
    sourceIp: e.sourceIp ?? null,
    requestId: e.requestId ?? null,
    details: e.details,
  };
}

/** The previous hash of the first event. */
export const GENESIS = Buffer.alloc(32);

/** hash(n) = SHA-256(hash(n-1) ‖ UTF-8(canonical JSON of event n without its hash)). */
export function chainHash(previous: Uint8Array, e: AuditEvent & { seq: number }): Buffer {
  return createHash('sha256').update(previous).update(canonicalJson(eventObject(e)), 'utf8').digest();
}

/** What a checkpoint's signature covers (UTF-8, every line ending in \n). */
export function checkpointText(c: { size: number; hash: Uint8Array; time: Date }): string {
  return `privateca audit checkpoint v1\nsize ${c.size}\nhash ${Buffer.from(c.hash).toString('hex')}\ntime ${c.time.toISOString()}\n`;
}
