import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/*
 * Java's PKIX CertPathValidator as a Java TLS client runs it, with OCSP alone (ONLY_END_ENTITY,
 * NO_FALLBACK, CRL Distribution Points off): it finds the responder in the certificate's AIA (the
 * service's public URL, http://127.0.0.1:PORT here), asks it, and checks the delegated responder's
 * signature, EKU and ocsp-nocheck. The service runs in this process, so Java is spawned
 * asynchronously: a spawnSync would block the very server Java asks.
 */

const JAVA = '/usr/bin/java';
const CHECKER = path.resolve(import.meta.dirname, 'java/OcspCheck.java');
/** Compiling a single-file source program takes a few seconds; the OCSP fetch must fit in too. */
const JAVA_TIMEOUT_MS = 60_000;

/** `java OcspCheck.java root leaf [chain]`: its one line of output (VALID, REVOKED <reason>, ERROR …). */
function javaCheck(rootFile: string, leafFile: string, chainFile?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = [CHECKER, rootFile, leafFile, ...(chainFile ? [chainFile] : [])];
    const child = spawn(JAVA, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const t = setTimeout(() => child.kill('SIGKILL'), JAVA_TIMEOUT_MS - 5_000);
    child.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(t);
      if (code !== 0) reject(new Error(`java exited ${code ?? signal}:\n${out}\n${err}`));
      else resolve(out.trim());
    });
  });
}

describe.each(DRIVERS)('Java PKIX revocation checking over OCSP only (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  beforeAll(async () => {
    svc = await startService(driver);
  });
  afterAll(() => svc?.close());

  const issue = async (caId: string, cn: string) => {
    const r = await svc.api('POST', `/v1/cas/${caId}/certificates`, { csr: pki.csr({ subject: `/CN=${cn}` }).csr, validity: { days: 2 } });
    expect(r.status, r.text).toBe(201);
    return r.body as { serial: string; certificate: string; chain: string };
  };
  const revoke = async (caId: string, serial: string) => {
    const r = await svc.api('POST', `/v1/cas/${caId}/certificates/${serial}/revoke`, { reason: 'KEY_COMPROMISE' });
    expect(r.status, r.text).toBe(200);
  };
  /** The AIA of an issued certificate names this service's responder and CA certificate for the CA. */
  const expectAia = (certificate: string, caId: string) => {
    const text = pki.text(certificate);
    expect(text).toContain('Authority Information Access');
    expect(text).toContain(`OCSP - URI:${svc.url}/ocsp/${caId}`);
    expect(text).toContain(`CA Issuers - URI:${svc.url}/ca/${caId}.crt`);
  };

  it('ok/ROOT: a good leaf is VALID; once revoked (KEY_COMPROMISE) Java says REVOKED KEY_COMPROMISE', { timeout: 3 * JAVA_TIMEOUT_MS }, async () => {
    const ca = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: `Java OCSP Root ${driver}` },
      keyAlgorithm: 'EC_prime256v1',
      revocation: { ocsp: { enabled: true } },
    });
    expect(ca.status, ca.text).toBe(201);
    const id = ca.body.id as string;
    const rootFile = pki.file(`java-root-${id}.pem`, (await svc.api('GET', `/v1/cas/${id}/certificate`)).body.certificate);

    const good = await issue(id, 'java-good.example.internal');
    const bad = await issue(id, 'java-revoked.example.internal');
    expectAia(good.certificate, id);
    const goodFile = pki.file(`java-good-${good.serial}.pem`, good.certificate);
    const badFile = pki.file(`java-bad-${bad.serial}.pem`, bad.certificate);

    expect(await javaCheck(rootFile, goodFile)).toBe('VALID');
    expect(await javaCheck(rootFile, badFile)).toBe('VALID');
    await revoke(id, bad.serial);
    const [afterBad, afterGood] = await Promise.all([javaCheck(rootFile, badFile), javaCheck(rootFile, goodFile)]);
    expect(afterBad).toBe('REVOKED KEY_COMPROMISE');
    // Revoking one certificate leaves the other good.
    expect(afterGood).toBe('VALID');
  });

  it('ok/SUBORDINATE (signed by an OpenSSL root): the leaf through the chain is VALID, then REVOKED KEY_COMPROMISE', { timeout: 3 * JAVA_TIMEOUT_MS }, async () => {
    const root = pki.root({ subject: `/CN=Java OCSP Outside Root ${driver}` });
    const created = await svc.api('POST', '/v1/cas', {
      type: 'SUBORDINATE',
      subject: { commonName: `Java OCSP Issuing CA ${driver}` },
      keyAlgorithm: 'EC_prime256v1',
      revocation: { ocsp: { enabled: true } },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    const csr = await svc.api('GET', `/v1/cas/${id}/csr`);
    expect(csr.status, csr.text).toBe(200);
    const signed = pki.sign(csr.body.csr, root, { ca: true, pathLen: 0 });
    const imported = await svc.api('POST', `/v1/cas/${id}/certificate`, { certificate: signed.cert, chain: root.cert });
    expect(imported.status, imported.text).toBe(200);

    const leaf = await issue(id, 'java-sub-leaf.example.internal');
    expectAia(leaf.certificate, id);
    const leafFile = pki.file(`java-sub-leaf-${leaf.serial}.pem`, leaf.certificate);
    const chainFile = pki.file(`java-sub-chain-${leaf.serial}.pem`, leaf.chain);
    // openssl agrees that the chain is sound before Java judges revocation.
    expect(pki.verify({ rootFile: root.certFile, chainPem: leaf.chain, leafPem: leaf.certificate }).out).toMatch(/: OK\s*$/);

    expect(await javaCheck(pki.file(root.certFile), leafFile, chainFile)).toBe('VALID');
    await revoke(id, leaf.serial);
    expect(await javaCheck(pki.file(root.certFile), leafFile, chainFile)).toBe('REVOKED KEY_COMPROMISE');
  });

  it('fail/a leaf whose root Java does not trust is an ERROR, not VALID (the checker can fail)', { timeout: JAVA_TIMEOUT_MS }, async () => {
    const ca = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: `Java OCSP Trusted ${driver}` },
      keyAlgorithm: 'EC_prime256v1',
      revocation: { ocsp: { enabled: true } },
    });
    expect(ca.status, ca.text).toBe(201);
    const other = pki.root({ subject: `/CN=Java Unrelated Root ${driver}` });
    const leaf = await issue(ca.body.id, 'java-untrusted.example.internal');
    const out = await javaCheck(pki.file(other.certFile), pki.file(`java-untrusted-${leaf.serial}.pem`, leaf.certificate));
    expect(out).toMatch(/^ERROR /);
  });
});
