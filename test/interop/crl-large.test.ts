import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RevocationReason } from '../../src/domain/revocation-reason.ts';
import { OPENSSL_REASON, OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/**
 * A CRL large enough to take the updater's whole path: several pages packed by PostgreSQL, entry
 * chunks stored while the build goes on and released, read back from the database for the signature,
 * and the rest stored at commit. openssl checks the signature and every entry against the rows.
 */
const SEEDED = 26_000; // three pages of 10,000; ~1.1 MB of entries, so chunks are stored and read back

const crlPem = (der: Buffer) => `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END X509 CRL-----\n`;

/** "Jan  2 03:04:05 2031 GMT" as openssl prints it. */
const opensslDate = (d: Date) => {
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const p = (n: number) => String(n).padStart(2, '0');
  return `${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()} GMT`;
};

describe.each(DRIVERS)('a CRL spanning pages and stored chunks (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  beforeAll(async () => {
    svc = await startService(driver);
  });
  afterAll(() => svc?.close());

  const seed = async (caId: string) => {
    // Serials with a high first bit (DER pads them), others with a leading zero octet (DER drops it),
    // revocation times down to the second, every reason; and expired ones, which must not appear.
    await svc.db.query(
      `INSERT INTO certificates (ca_id, serial, status, der, subject, template, not_before, not_after, issued_at, revoked_at, revocation_reason)
       SELECT $1, CASE g % 3 WHEN 0 THEN 'f' || substr(m, 2) WHEN 1 THEN '00' || substr(m, 3) ELSE '5' || substr(m, 2) END, 'REVOKED', '\\x3000'::bytea,
              'CN=seed-' || g, 'EndEntityCertificate/V1', now() - interval '100 days',
              CASE WHEN g % 500 = 0 THEN now() - interval '1 day' ELSE now() + interval '300 days' END,
              now() - interval '100 days', now() - (g * 37 % 7776000) * interval '1 second' - interval '0.25 second',
              (ARRAY['UNSPECIFIED','KEY_COMPROMISE','CERTIFICATE_AUTHORITY_COMPROMISE','AFFILIATION_CHANGED','SUPERSEDED',
                     'CESSATION_OF_OPERATION','PRIVILEGE_WITHDRAWN','A_A_COMPROMISE'])[1 + g % 8]
       FROM (SELECT g, md5('seed' || g::text) AS m FROM generate_series(1, $2::int) AS g) s`,
      [caId, SEEDED],
    );
  };

  it('ok/openssl verifies the CRL and lists exactly the unexpired revoked rows with their dates and reasons (EC and RSA)', async () => {
    for (const keyAlgorithm of ['EC_prime256v1', 'RSA_2048']) {
      const ca = await svc.api('POST', '/v1/cas', {
        type: 'ROOT',
        subject: { commonName: `Large CRL ${keyAlgorithm}` },
        keyAlgorithm,
        revocation: { crl: { enabled: true, schedule: '0 0 1 1 *' } },
      });
      expect(ca.status).toBe(201);
      const id = ca.body.id as string;
      await seed(id);
      const published = await svc.api('POST', `/v1/cas/${id}/crl`);
      expect(published.status, JSON.stringify(published.body)).toBe(201);
      const expected = await svc.db.query<{ serial: string; revoked_at: Date; revocation_reason: string }>(
        `SELECT serial, revoked_at, revocation_reason FROM certificates WHERE ca_id = $1 AND status = 'REVOKED' AND not_after > now() ORDER BY serial`,
        [id],
      );
      expect(expected.rows.length).toBe(SEEDED - SEEDED / 500);
      expect(published.body.revokedCount).toBe(expected.rows.length);
      // The CRL was stored in pieces, more than the head, one chunk and the tail.
      const parts = await svc.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM crl_parts WHERE ca_id = $1 AND crl_number = $2`, [id, published.body.crlNumber]);
      expect(Number(parts.rows[0]!.n)).toBeGreaterThan(4);

      const res = await fetch(`${svc.url}/crl/${id}.crl`);
      expect(res.status).toBe(200);
      const der = Buffer.from(await res.arrayBuffer());
      const rootFile = pki.file(`large-root-${id}.pem`, (await svc.api('GET', `/v1/cas/${id}/certificate`)).body.certificate);
      const crlFile = pki.file(`large-crl-${id}.pem`, crlPem(der));
      expect(pki.run(['crl', '-in', crlFile, '-CAfile', rootFile, '-verify', '-noout']).out).toContain('verify OK');

      // Every entry, in order, as openssl reads it.
      const text = pki.ok(['crl', '-in', crlFile, '-noout', '-text']);
      const entries = [...text.matchAll(/Serial Number: ([0-9A-F]+)\n\s+Revocation Date: ([^\n]+)(?:\n\s+CRL entry extensions:\s*\n\s+X509v3 CRL Reason Code:\s*\n\s+([^\n]+))?/g)];
      expect(entries.length).toBe(expected.rows.length);
      entries.forEach((m, i) => {
        const row = expected.rows[i]!;
        // openssl prints the serial's minimal octets; the fractional second is dropped (RFC 5280).
        const serial = row.serial.replace(/^(00)+(?=..)/, '').toUpperCase();
        expect(m[1], `entry ${i}`).toBe(serial);
        expect(m[2], `entry ${i}`).toBe(opensslDate(new Date(Math.floor(row.revoked_at.getTime() / 1000) * 1000)));
        expect(m[3]?.trim(), `entry ${i}`).toBe(OPENSSL_REASON[row.revocation_reason as RevocationReason]);
      });
    }
  });

  it('fail/a revoked row with a reason the service does not know fails the build loudly; the served CRL and its number stay', async () => {
    const ca = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: 'Large CRL bad reason' },
      keyAlgorithm: 'EC_prime256v1',
      revocation: { crl: { enabled: true, schedule: '0 0 1 1 *' } },
    });
    const id = ca.body.id as string;
    await seed(id);
    const good = await svc.api('POST', `/v1/cas/${id}/crl`);
    expect(good.status).toBe(201);
    const before = Buffer.from(await (await fetch(`${svc.url}/crl/${id}.crl`)).arrayBuffer());

    const bad = (await svc.db.query<{ serial: string }>(`SELECT serial FROM certificates WHERE ca_id = $1 AND status = 'REVOKED' AND not_after > now() ORDER BY serial OFFSET 15000 LIMIT 1`, [id])).rows[0]!.serial;
    await svc.db.query(`UPDATE certificates SET revocation_reason = 'REMOVE_FROM_CRL' WHERE ca_id = $1 AND serial = $2`, [id, bad]);
    const failed = await svc.api('POST', `/v1/cas/${id}/crl`);
    expect(failed.status).toBe(500);
    expect(JSON.stringify(failed.body)).not.toContain('REMOVE_FROM_CRL');
    const info = await svc.api('GET', `/v1/cas/${id}/crl`);
    expect(info.body.crlNumber).toBe(good.body.crlNumber);
    expect(Buffer.from(await (await fetch(`${svc.url}/crl/${id}.crl`)).arrayBuffer()).equals(before)).toBe(true);

    // Repaired, the next CRL has a higher number than the one the failed build took.
    await svc.db.query(`UPDATE certificates SET revocation_reason = 'SUPERSEDED' WHERE ca_id = $1 AND serial = $2`, [id, bad]);
    const again = await svc.api('POST', `/v1/cas/${id}/crl`);
    expect(again.status).toBe(201);
    expect(BigInt(again.body.crlNumber)).toBe(BigInt(good.body.crlNumber) + 2n);
  });
});
