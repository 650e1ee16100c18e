import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, startService, type TestService } from '../support/service.ts';

/*
 * A database from before principals existed (migrations 001–006, one administrator token with
 * role 'admin') is migrated at start: its token keeps working, as the principal `admin` with
 * AdministratorAccess, and no new administrator is made.
 */
describe('an existing database migrates to principals', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let svc: TestService;
  const legacy = 'pca_legacy_' + randomBytes(16).toString('hex');
  const revoked = 'pca_revoked_' + randomBytes(16).toString('hex');

  beforeAll(async () => {
    database = await createTestDatabase();
    const c = new pg.Client({ connectionString: database.url });
    await c.connect();
    const dir = new URL('../../src/db/migrations/', import.meta.url);
    await c.query('CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    for (const f of readdirSync(dir).filter((n) => n < '007').sort()) {
      await c.query(readFileSync(new URL(f, dir), 'utf8'));
      await c.query('INSERT INTO schema_migrations (name) VALUES ($1)', [f]);
    }
    const hash = (t: string) => createHash('sha256').update(t).digest();
    await c.query("INSERT INTO api_tokens (id, name, token_hash, role, created_at) VALUES ($1, 'administrator', $2, 'admin', now() - interval '1 day')", [randomUUID(), hash(legacy)]);
    await c.query("INSERT INTO api_tokens (id, name, token_hash, role, created_at, revoked_at) VALUES ($1, 'old', $2, 'admin', now() - interval '2 days', now() - interval '1 day')", [randomUUID(), hash(revoked)]);
    await c.end();
    svc = await startService('pg', {}, { database: database.url });
  });
  afterAll(async () => {
    await svc?.close();
    await database?.drop();
  });

  it('ok/the old administrator token works as the principal admin with AdministratorAccess', async () => {
    const me = await svc.api('GET', '/v1/me', undefined, { authorization: `Bearer ${legacy}` });
    expect(me.status, me.text).toBe(200);
    expect(me.body.principal.name).toBe('admin');
    expect(me.body.policies.map((p: any) => p.name)).toEqual(['AdministratorAccess']);
    const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'After Migration' }, keyAlgorithm: 'EC_prime256v1' }, { authorization: `Bearer ${legacy}` });
    expect(ca.status, ca.text).toBe(201);
  });

  it('ok/no second administrator was made, the bootstrap token of this start was not added, and a revoked token stays refused', async () => {
    const principals = await svc.db.query<{ name: string }>('SELECT name FROM principals');
    expect(principals.rows.map((r) => r.name)).toEqual(['admin']);
    expect((await svc.api('GET', '/v1/me')).status).toBe(401);
    const old = await svc.api('GET', '/v1/me', undefined, { authorization: `Bearer ${revoked}` });
    expect([old.status, old.body.detail]).toEqual([401, expect.stringMatching(/deleted/)]);
    const orphans = await svc.db.query('SELECT 1 FROM api_tokens WHERE principal_id IS NULL');
    expect(orphans.rows).toHaveLength(0);
  });
});
