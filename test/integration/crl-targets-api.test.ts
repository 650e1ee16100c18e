import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.ts';
import { startService, type TestService } from '../support/service.ts';


describe('CRL publication targets through the service', () => {
  let svc: TestService;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'privateca-crl-dir-'));
  beforeAll(async () => {
    svc = await startService('pg', {
      PRIVATECA_CRL_DIR: dir,
      PRIVATECA_CRL_S3_BUCKET: 'crls',
      PRIVATECA_CRL_S3_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
      PRIVATECA_CRL_S3_REGION: 'us-east-1',
    });
  });
  afterAll(() => svc?.close());

  it('ok/the directory gets the served CRL; fail/the unreachable S3 target is retried and shown failed in the CRL status, without stopping the directory', async () => {
    const ca = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: 'Targets Root' },
      keyAlgorithm: 'EC_prime256v1',
      revocation: { crl: { enabled: true } },
    });
    const id = ca.body.id;
    const file = path.join(dir, `${id}.crl`);
    const deadline = Date.now() + 15_000;
    let status: any;
    for (;;) {
      status = (await svc.api('GET', `/v1/cas/${id}/crl`)).body;
      const s3 = status?.targets?.find((t: any) => t.target.startsWith('s3:'));
      if (existsSync(file) && s3 && s3.ok === false) break;
      if (Date.now() > deadline) throw new Error(`targets not as expected: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const served = Buffer.from(await (await fetch(`${svc.url}/crl/${id}.crl`)).arrayBuffer());
    expect(readFileSync(file).equals(served)).toBe(true);
    const dirTarget = status.targets.find((t: any) => t.target === `directory:${dir}`);
    expect(dirTarget).toMatchObject({ ok: true, attempts: 1, partition: '', crlNumber: status.crlNumber });
    const s3 = status.targets.find((t: any) => t.target.startsWith('s3:'));
    expect(s3.attempts).toBe(3);
    expect(s3.error).toBeTruthy();
    expect(JSON.stringify(s3)).not.toMatch(/secret|password/i);
  });
});
