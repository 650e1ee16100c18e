import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash } from '../../src/services/audit/canonical.ts';
import { toStoredEvent } from '../../src/db/repositories/audit-repository.ts';
import { OpensslPki } from '../pki/openssl.ts';
import { startService, type TestService } from '../support/service.ts';

/*
 * Tampering with the audit log directly in PostgreSQL, with psql as the database's superuser (triggers
 * off, as an attacker with the database would), and what finds it: GET /v1/audit/verify, `npm run
 * audit:verify` (the CLI, exit 1), and docs/verify-audit.mjs on an `audit:export`. Each case is undone
 * before the next from a copy of the untouched tables.
 */

const REPO = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

describe('tampering with the audit log in PostgreSQL', () => {
  let svc: TestService;
  let env: Record<string, string>;
  let dir: string;
  /** Events and the sizes of the two checkpoints: A (an older one) and N (the latest, covering all). */
  let n: number;
  let a: number;
  const pki = new OpensslPki();

  const psql = (sql: string) =>
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', svc.databaseUrl!, '-c', sql], { encoding: 'utf8' });
  /** As the attacker: triggers (the append-only one) off for this session. */
  const tamper = (sql: string) => psql(`SET session_replication_role = replica; ${sql}`);

  /** The CLI, as an operator runs it against the configured database. */
  const cli = async (command: 'audit-verify' | 'audit-export') => {
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', command], { cwd: REPO, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
      return { code: 0, stdout };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };
  /** docs/verify-audit.mjs on a fresh export, with the public key the service serves. */
  const outsideVerifier = async () => {
    const exported = await cli('audit-export');
    expect(exported.code, exported.stderr).toBe(0);
    const file = path.join(dir, 'audit.jsonl');
    await writeFile(file, exported.stdout);
    await writeFile(path.join(dir, 'audit.pub'), (await svc.api('GET', '/v1/audit/public-key')).text);
    try {
      const { stdout } = await run(process.execPath, [path.join(REPO, 'docs/verify-audit.mjs'), file, path.join(dir, 'audit.pub')]);
      return { code: 0, stdout };
    } catch (e) {
      return { code: (e as { code: number }).code, stdout: (e as { stdout: string }).stdout };
    }
  };

  /** All three verifiers agree on the first bad seq and the kind of damage (the script names the seq). */
  const detected = async (firstBadSeq: number, problem: string, scriptSeq = firstBadSeq) => {
    const api = await svc.api('GET', '/v1/audit/verify');
    expect(api.status, api.text).toBe(200);
    expect(api.body).toMatchObject({ ok: false, firstBadSeq, problem });
    const c = await cli('audit-verify');
    expect(c.code, c.stderr).toBe(1);
    expect(JSON.parse(c.stdout)).toMatchObject({ ok: false, firstBadSeq, problem });
    const o = await outsideVerifier();
    expect(o.code).toBe(1);
    expect(o.stdout).toContain(`BAD at seq ${scriptSeq}:`);
  };

  const intact = async (events: number) => {
    const api = await svc.api('GET', '/v1/audit/verify');
    expect(api.body, api.text).toMatchObject({ ok: true, events, checkpoint: { size: n } });
    const c = await cli('audit-verify');
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ ok: true, events });
    const o = await outsideVerifier();
    expect(o.stdout.trim()).toMatch(new RegExp(`^OK: ${n} events, checkpoint of ${n} signed`));
  };

  beforeAll(async () => {
    svc = await startService('pg');
    dir = await mkdtemp(path.join(os.tmpdir(), 'privateca-tamper-'));
    env = { DATABASE_URL: svc.databaseUrl!, PRIVATECA_KEK: svc.kek, PRIVATECA_DATA_DIR: dir, LOG_LEVEL: 'silent' };
    const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Tamper Root' }, keyAlgorithm: 'EC_prime256v1' });
    expect(ca.status, ca.text).toBe(201);
    const issue = async () => {
      const r = await svc.api('POST', `/v1/cas/${ca.body.id}/certificates`, { csr: pki.csr({ subject: '/CN=t.example', san: 'DNS:t.example' }).csr, template: 'EndEntityServerAuthCertificate/V1', validity: { days: 7 } });
      expect(r.status, r.text).toBe(201);
      return r.body.serial as string;
    };
    for (let i = 0; i < 6; i++) await issue();
    const p = await svc.api('POST', '/v1/principals', { name: 'reader', policies: ['ReadOnlyAccess'] });
    const t = await svc.api('POST', `/v1/principals/${p.body.id}/tokens`, {});
    // a denial is an event too
    expect((await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'x' }, keyAlgorithm: 'EC_prime256v1' }, { authorization: `Bearer ${t.body.token}` })).status).toBe(403);
    a = (await svc.node.sealer.sealNow()).checkpoint!.size;
    await new Promise((r) => setTimeout(r, 1100)); // checkpoint times are whole seconds
    const serial = await issue();
    for (let i = 0; i < 4; i++) await issue();
    expect((await svc.api('POST', `/v1/cas/${ca.body.id}/certificates/${serial}/revoke`, { reason: 'KEY_COMPROMISE' })).status).toBe(200);
    n = (await svc.node.sealer.sealNow()).checkpoint!.size;
    // No more sealing behind the test's back; the tables as they are now, to undo each case.
    svc.node.sealer.stop();
    expect(a).toBeGreaterThanOrEqual(9);
    expect(n).toBe(a + 6);
    psql('CREATE TABLE events_copy AS SELECT * FROM audit_events; CREATE TABLE checkpoints_copy AS SELECT * FROM audit_checkpoints; CREATE TABLE chain_copy AS SELECT * FROM audit_chain');
  }, 120_000);
  afterAll(async () => {
    await svc?.close();
  });

  const undo = () =>
    tamper(
      'DELETE FROM audit_events; INSERT INTO audit_events SELECT * FROM events_copy; DELETE FROM audit_checkpoints; INSERT INTO audit_checkpoints SELECT * FROM checkpoints_copy; DELETE FROM audit_chain; INSERT INTO audit_chain SELECT * FROM chain_copy',
    );

  it('ok/the untouched log verifies everywhere, and the append-only trigger refuses a change without superuser tricks', async () => {
    await intact(n);
    expect(() => psql(`UPDATE audit_events SET details = '{}' WHERE seq = 2`)).toThrow(/never changed/);
    expect(() => psql('DELETE FROM audit_events WHERE seq = 2')).toThrow(/never deleted/);
  }, 60_000);

  it('fail/an updated detail: modified, at its seq', async () => {
    tamper(`UPDATE audit_events SET details = details || '{"reason":"UNSPECIFIED"}' WHERE seq = 3`);
    await detected(3, 'modified');
    undo();
  }, 60_000);

  it('fail/an updated detail with the whole chain after it recomputed: the checkpoint tells, at the first event after the last matching one', async () => {
    const seq = a + 2;
    tamper(`UPDATE audit_events SET details = details || '{"forged":true}' WHERE seq = ${seq}`);
    // The attacker knows the algorithm (docs/audit.md) and rehashes everything after the change.
    const rows = (await svc.db.query<any>('SELECT * FROM audit_events WHERE seq >= $1 - 1 ORDER BY seq', [seq])).rows.map(toStoredEvent);
    let prev = rows[0]!.hash!;
    const updates = rows.slice(1).map((r) => {
      prev = chainHash(prev, { ...r, seq: r.seq! });
      return `UPDATE audit_events SET hash = '\\x${prev.toString('hex')}' WHERE seq = ${r.seq};`;
    });
    tamper(updates.join(' '));
    await detected(a + 1, 'modified', n);
    undo();
  }, 60_000);

  it('fail/a deleted row: missing, at its seq', async () => {
    tamper('DELETE FROM audit_events WHERE seq = 4');
    await detected(4, 'missing');
    undo();
  }, 60_000);

  it('fail/a forged row slipped in (the later ones renumbered): inserted, at its seq', async () => {
    tamper(`UPDATE audit_events SET seq = -(seq + 1) WHERE seq >= 5; UPDATE audit_events SET seq = -seq WHERE seq < 0;
      INSERT INTO audit_events (at, principal_name, action, resource, outcome, details, seq, hash)
      SELECT at, principal_name, 'privateca:RevokeCertificate', resource, 'SUCCESS', '{"serial":"00"}', 5, '\\x${'ab'.repeat(32)}' FROM audit_events WHERE seq = 4`);
    await detected(5, 'inserted');
    undo();
  }, 60_000);

  it('fail/two rows with their contents swapped: reordered, at the first', async () => {
    tamper(`UPDATE audit_events e SET at = o.at, principal_id = o.principal_id, principal_name = o.principal_name, action = o.action,
        resource = o.resource, outcome = o.outcome, source_ip = o.source_ip, request_id = o.request_id, details = o.details
      FROM events_copy o WHERE (e.seq, o.seq) IN ((6, 7), (7, 6))`);
    await detected(6, 'reordered');
    undo();
  }, 60_000);

  it('fail/the newest rows deleted behind the last checkpoint: truncated, at the first one gone', async () => {
    tamper(`DELETE FROM audit_events WHERE seq > ${n - 3}`);
    await detected(n - 2, 'truncated', n - 2);
    undo();
  }, 60_000);

  it('fail/the checkpoint signature replaced by another valid one: bad_signature, at its size', async () => {
    tamper(`UPDATE audit_checkpoints SET signature = (SELECT signature FROM audit_checkpoints WHERE size = ${a}) WHERE size = ${n}`);
    await detected(n, 'bad_signature');
    undo();
  }, 60_000);

  it('ok/events archived up to a checkpoint (docs/audit.md): what remains verifies from it, and without that checkpoint the gap shows', async () => {
    // As docs/audit.md says: the events up to the checkpoint, and their places in audit_chain.
    tamper(`DELETE FROM audit_events WHERE seq <= ${a}; DELETE FROM audit_chain WHERE seq <= ${a}`);
    const api = await svc.api('GET', '/v1/audit/verify');
    expect(api.body, api.text).toMatchObject({ ok: true, events: n - a, archivedThrough: a });
    const c = await cli('audit-verify');
    expect(c.code, c.stderr).toBe(0);
    const o = await outsideVerifier();
    expect(o.stdout.trim()).toMatch(new RegExp(`^OK: ${n} events, checkpoint of ${n}`));
    tamper(`DELETE FROM audit_checkpoints WHERE size = ${a}`);
    await detected(1, 'missing');
    undo();
    await intact(n);
  }, 60_000);
});
