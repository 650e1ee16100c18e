import { DEFAULT_OCSP, type Ca } from '../../domain/ca.ts';
import type { CaRepository } from '../../ports/repositories.ts';
import { bytes, type Queryable } from '../db.ts';

type Row = Record<string, any>;

/**
 * The columns of a CA, each with how it is written; `mutable` ones are written by save(). The
 * counters other statements move (partition_blocks, crl_number) are never written back from a CA
 * read earlier.
 */
const FIELDS: { column: string; value: (ca: Ca) => unknown; mutable?: true }[] = [
  { column: 'id', value: (ca) => ca.id },
  { column: 'type', value: (ca) => ca.type },
  { column: 'status', value: (ca) => ca.status, mutable: true },
  { column: 'previous_status', value: (ca) => ca.previousStatus ?? null, mutable: true },
  { column: 'subject', value: (ca) => JSON.stringify(ca.subject) },
  { column: 'key_algorithm', value: (ca) => ca.keyAlgorithm },
  { column: 'signing_algorithm', value: (ca) => ca.signingAlgorithm },
  { column: 'key_store_type', value: (ca) => ca.keyStoreType },
  { column: 'key_uri', value: (ca) => ca.keyUri },
  { column: 'csr', value: (ca) => ca.csrDer ?? null, mutable: true },
  { column: 'certificate', value: (ca) => ca.certificateDer ?? null, mutable: true },
  { column: 'chain', value: (ca) => ca.chainPem, mutable: true },
  { column: 'serial', value: (ca) => ca.serial ?? null, mutable: true },
  { column: 'not_before', value: (ca) => ca.notBefore ?? null, mutable: true },
  { column: 'not_after', value: (ca) => ca.notAfter ?? null, mutable: true },
  { column: 'cert_version', value: (ca) => ca.certVersion, mutable: true },
  { column: 'partition_blocks', value: (ca) => ca.partitionBlocks },
  { column: 'revocation', value: (ca) => JSON.stringify(ca.revocation), mutable: true },
  { column: 'tags', value: (ca) => JSON.stringify(ca.tags), mutable: true },
  { column: 'created_at', value: (ca) => ca.createdAt },
  { column: 'updated_at', value: (ca) => ca.updatedAt, mutable: true },
  { column: 'restorable_until', value: (ca) => ca.restorableUntil ?? null, mutable: true },
];
const COLUMNS = FIELDS.map((f) => f.column).join(', ');
const INSERT = `INSERT INTO cas (${COLUMNS}) VALUES (${FIELDS.map((_, i) => `$${i + 1}`).join(', ')})`;
const MUTABLE = FIELDS.filter((f) => f.mutable);
const SAVE = `UPDATE cas SET ${MUTABLE.map((f, i) => `${f.column} = $${i + 2}`).join(', ')} WHERE id = $1`;

const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

function toCa(r: Row): Ca {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    previousStatus: opt(r.previous_status),
    subject: r.subject,
    keyAlgorithm: r.key_algorithm,
    signingAlgorithm: r.signing_algorithm,
    keyStoreType: r.key_store_type,
    keyUri: r.key_uri,
    csrDer: r.csr == null ? undefined : bytes(r.csr),
    certificateDer: r.certificate == null ? undefined : bytes(r.certificate),
    chainPem: r.chain,
    serial: opt(r.serial),
    notBefore: opt(r.not_before),
    notAfter: opt(r.not_after),
    certVersion: Number(r.cert_version),
    partitionBlocks: Number(r.partition_blocks),
    // CAs stored before OCSP existed have no ocsp part.
    revocation: { ...r.revocation, ocsp: { ...DEFAULT_OCSP, ...r.revocation.ocsp } },
    tags: r.tags,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    restorableUntil: opt(r.restorable_until),
  };
}


export function caRepository(q: Queryable): CaRepository {
  return {
    async insert(ca) {
      await q.query(INSERT, FIELDS.map((f) => f.value(ca)));
    },
    async get(id, options) {
      const r = await q.query<Row>(`SELECT ${COLUMNS} FROM cas WHERE id = $1${options?.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
      return r.rows[0] && toCa(r.rows[0]);
    },
    async list({ limit, after }) {
      const r = after
        ? await q.query<Row>(
            `SELECT ${COLUMNS} FROM cas WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT $3`,
            [after.createdAt, after.id, limit],
          )
        : await q.query<Row>(`SELECT ${COLUMNS} FROM cas ORDER BY created_at, id LIMIT $1`, [limit]);
      return r.rows.map(toCa);
    },
    async save(ca) {
      await q.query(SAVE, [ca.id, ...MUTABLE.map((f) => f.value(ca))]);
    },
    async listVersions() {
      const r = await q.query<Row>('SELECT id, updated_at FROM cas');
      return r.rows.map((x) => ({ id: x.id, updatedAt: x.updated_at }));
    },
    async takePartitionBlock(id) {
      const r = await q.query<{ b: number }>('UPDATE cas SET partition_blocks = partition_blocks + 1 WHERE id = $1 RETURNING partition_blocks - 1 AS b', [id]);
      if (!r.rows[0]) throw new Error(`no CA ${id}`);
      return Number(r.rows[0].b);
    },
    async listPurgeable(now) {
      const r = await q.query<Row>(`SELECT ${COLUMNS} FROM cas WHERE status = 'DELETED' AND restorable_until <= $1`, [now]);
      return r.rows.map(toCa);
    },
    async remove(id) {
      await q.query('DELETE FROM cas WHERE id = $1', [id]);
    },
  };
}
