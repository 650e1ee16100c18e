import type { Repos } from '../../ports/repositories.ts';
import type { Db, Queryable } from '../db.ts';
import { caRepository } from './ca-repository.ts';
import { certificateRepository } from './certificate-repository.ts';
import { crlRepository } from './crl-repository.ts';
import { auditRepository } from './audit-repository.ts';
import { auditReportRepository } from './audit-report-repository.ts';
import { idempotencyRepository } from './idempotency-repository.ts';
import { ocspResponderRepository } from './ocsp-responder-repository.ts';
import { policyRepository } from './policy-repository.ts';
import { principalRepository } from './principal-repository.ts';
import { rateBucketRepository } from './rate-bucket-repository.ts';
import { softwareKeyRepository } from './software-key-repository.ts';
import { tokenRepository } from './token-repository.ts';

function bind(db: Db, q: Queryable, inTx: boolean): Repos {
  return {
    cas: caRepository(q),
    certificates: certificateRepository(q, { batch: !inTx, tx: inTx ? (fn) => fn(q) : (fn) => db.tx(fn) }),
    idempotency: idempotencyRepository(q),
    audit: auditRepository(q),
    auditReports: auditReportRepository(q),
    tokens: tokenRepository(q),
    principals: principalRepository(q),
    rateBuckets: rateBucketRepository(q),
    ocspResponders: ocspResponderRepository(q),
    policies: policyRepository(q),
    softwareKeys: softwareKeyRepository(q),
    crls: crlRepository(q, inTx ? (fn) => fn(q) : (fn) => db.tx(fn)),
    tx: (fn) => db.tx((t) => fn(bind(db, t, true))),
    async ping() {
      try {
        await q.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** The repositories over a database; `tx` gives the same set bound to one transaction. */
export const createRepos = (db: Db): Repos => bind(db, db, false);
