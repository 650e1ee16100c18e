import type { Ca } from '../../domain/ca.ts';
import type { CaRepository } from '../../ports/repositories.ts';
import { bytes, type Queryable } from '../db.ts';

const COLUMNS = `id, type, status, previous_status, subject, key_algorithm, signing_algorithm, key_store_type,
  key_uri, csr, certificate, chain, serial, not_before, not_after, cert_version, partition_blocks, revocation, tags, created_at,
  updated_at, restorable_until`;

type Row = Record<string, any>;

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
    revocation: r.revocation,
    tags: r.tags,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    restorableUntil: opt(r.restorable_until),
  };
}

const values = (ca: Ca): unknown[] => [
  ca.id,
  ca.type,
  ca.status,
  ca.previousStatus ?? null,
  JSON.stringify(ca.subject),
  ca.keyAlgorithm,
  ca.signingAlgorithm,
  ca.keyStoreType,
  ca.keyUri,
  ca.csrDer ?? null,
  ca.certificateDer ?? null,
  ca.chainPem,
  ca.serial ?? null,
  ca.notBefore ?? null,
  ca.notAfter ?? null,
  ca.certVersion,
  ca.partitionBlocks,
  JSON.stringify(ca.revocation),
  JSON.stringify(ca.tags),
  ca.createdAt,
  ca.updatedAt,
  ca.restorableUntil ?? null,
];

export function caRepository(q: Queryable): CaRepository {
  return {
    async insert(ca) {
      await q.query(
        `INSERT INTO cas (${COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)`,
        values(ca),
      );
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
      await q.query(
        `UPDATE cas SET status=$2, previous_status=$3, csr=$4, certificate=$5, chain=$6, serial=$7, not_before=$8,
           not_after=$9, cert_version=$10, revocation=$11, tags=$12, updated_at=$13, restorable_until=$14
         WHERE id=$1`,
        [
          ca.id,
          ca.status,
          ca.previousStatus ?? null,
          ca.csrDer ?? null,
          ca.certificateDer ?? null,
          ca.chainPem,
          ca.serial ?? null,
          ca.notBefore ?? null,
          ca.notAfter ?? null,
          ca.certVersion,
          JSON.stringify(ca.revocation),
          JSON.stringify(ca.tags),
          ca.updatedAt,
          ca.restorableUntil ?? null,
        ],
      );
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
