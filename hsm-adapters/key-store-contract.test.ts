import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crlPem } from '../src/x509/pem.ts';
import { KEY_STORES } from './index.ts';
import { OpensslPki } from '../test/pki/openssl.ts';
import { createSoftHsm, type SoftHsm } from '../test/support/softhsm.ts';
import { startLocalKms, type LocalKms } from '../test/support/local-kms.ts';
import { startService, type TestService } from '../test/support/service.ts';

/*
 * The contract every key store adapter passes, through the whole service and checked with the
 * openssl CLI: a CA key created in the store → CA CSR → an outside root signs it → import → issue →
 * revoke → CRL; and a ROOT CA whose self-signed certificate, leaves and CRLs all come from the store.
 */

/** How the suite runs one store: the harness of each descriptor in KEY_STORES, by type. */
interface Adapter {
  type: string;
  /** Starts what the store needs and returns the service's environment for it. */
  setup(): Promise<Record<string, string>>;
  /** An existing key that a new CA can name by keyUri (EC P-384): made outside the service where the store allows. */
  existingKey(svc: TestService): Promise<string>;
  teardown(): Promise<void>;
}

let hsm: SoftHsm;
let kms: LocalKms;

const HARNESSES: Adapter[] = [
  {
    type: 'software',
    setup: async () => ({}),
    // Software keys only come from the service itself: take the key of a CA made for the purpose.
    async existingKey(svc) {
      const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Key Donor' }, keyAlgorithm: 'EC_secp384r1' });
      const { rows } = await svc.db.query<{ key_uri: string }>('SELECT key_uri FROM cas WHERE id = $1', [ca.body.id]);
      return rows[0]!.key_uri;
    },
    teardown: async () => {},
  },
  {
    type: 'pkcs11',
    async setup() {
      hsm = await createSoftHsm('contract');
      return hsm.env;
    },
    async existingKey() {
      hsm.tool(['--login', '--pin', hsm.pin, '--keypairgen', '--key-type', 'EC:secp384r1', '--id', '0badcafe', '--label', 'operator ca key', '--usage-sign', '--sensitive']);
      return `pkcs11:token=${hsm.label};id=%0b%ad%ca%fe`;
    },
    teardown: async () => hsm?.cleanup(),
  },
  {
    type: 'aws-kms',
    async setup() {
      kms = await startLocalKms();
      // The SDK's standard chain reads these; the service is given no KMS settings of its own.
      Object.assign(process.env, kms.env);
      return { AWS_REGION: kms.env.AWS_REGION };
    },
    async existingKey() {
      return `awskms:${await kms.createKeyWithAlias('ECC_NIST_P384', 'alias/operator-ca-key')}`;
    },
    teardown: async () => kms?.close(),
  },
];

/** Every store the service knows is taken through the contract: a store without a harness here fails. */
const ADAPTERS = KEY_STORES.map((d) => HARNESSES.find((h) => h.type === d.type) ?? missingHarness(d.type));

function missingHarness(type: string): Adapter {
  const fail = async (): Promise<never> => {
    throw new Error(`key store "${type}" is in hsm-adapters/index.ts but has no harness in key-store-contract.test.ts`);
  };
  return { type, setup: fail, existingKey: fail, teardown: async () => {} };
}

describe.each(ADAPTERS)('key store contract: $type', (adapter) => {
  let svc: TestService;
  const pki = new OpensslPki();
  let root: ReturnType<OpensslPki['root']>;

  beforeAll(async () => {
    svc = await startService('pg', await adapter.setup());
    root = pki.root({ keySpec: 'ec:P-256', subject: '/O=Outside/CN=Outside Root' });
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
    await adapter.teardown();
  });

  /** Publishes the CA's CRL now and returns it as a PEM file that openssl has verified against `issuerFile`. */
  async function publishedCrl(caId: string, issuerFile: string): Promise<string> {
    const published = await svc.api('POST', `/v1/cas/${caId}/crl`);
    expect(published.status, published.text).toBe(201);
    const res = await fetch(`${svc.url}/crl/${caId}.crl`);
    expect(res.status).toBe(200);
    const file = pki.file(`crl-${caId}.pem`, crlPem(new Uint8Array(await res.arrayBuffer())));
    expect(pki.run(['crl', '-in', file, '-noout', '-CAfile', issuerFile, '-verify']).out).toContain('verify OK');
    return file;
  }

  async function issue(caId: string, cn: string) {
    const res = await svc.api('POST', `/v1/cas/${caId}/certificates`, { csr: pki.csr({ subject: `/CN=${cn}`, san: `DNS:${cn}` }).csr, validity: { days: 2 } });
    expect(res.status, res.text).toBe(201);
    return res.body as { serial: string; certificate: string; chain: string };
  }

  it('ok/ SUBORDINATE: key created in the store → CSR → outside root signs → import → issue → revoke → CRL, verified by openssl', async () => {
    const created = await svc.api('POST', '/v1/cas', {
      type: 'SUBORDINATE',
      subject: { commonName: `Contract Issuing CA ${adapter.type}`, organization: 'Acme' },
      keyAlgorithm: 'RSA_2048',
      keyStore: { type: adapter.type },
      revocation: { crl: { enabled: true } },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.keyStore).toEqual({ type: adapter.type, status: 'AVAILABLE' });
    const id = created.body.id;
    const csr = (await svc.api('GET', `/v1/cas/${id}/csr`)).body.csr;
    expect(pki.ok(['req', '-noout', '-verify', '-subject'], csr)).toMatch(/CN\s*=\s*Contract Issuing CA/);
    const signed = pki.sign(csr, root, { ca: true, pathLen: 0 });
    const imported = await svc.api('POST', `/v1/cas/${id}/certificate`, { certificate: signed.cert, chain: root.cert });
    expect(imported.status, imported.text).toBe(200);
    expect(imported.body.status).toBe('ACTIVE');

    const good = await issue(id, 'good.contract.internal');
    const bad = await issue(id, 'bad.contract.internal');
    expect(pki.text(good.certificate)).toContain('sha256WithRSAEncryption');
    const ok = pki.verify({ rootFile: root.certFile, chainPem: good.chain, leafPem: good.certificate, extra: ['-x509_strict', '-purpose', 'sslserver'] });
    expect(ok.out).toMatch(/: OK\s*$/);

    expect((await svc.api('POST', `/v1/cas/${id}/certificates/${bad.serial}/revoke`, { reason: 'KEY_COMPROMISE' })).status).toBe(200);
    const issuerFile = pki.file(`issuer-${id}.pem`, signed.cert);
    const crl = await publishedCrl(id, issuerFile);
    expect(pki.ok(['crl', '-in', crl, '-noout', '-text'])).toContain('Key Compromise');
    const revoked = pki.verify({ rootFile: root.certFile, chainPem: bad.chain, leafPem: bad.certificate, extra: ['-crl_check', '-CRLfile', crl] });
    expect(revoked.out).toContain('certificate revoked');
    expect(revoked.status).not.toBe(0);
    const fine = pki.verify({ rootFile: root.certFile, chainPem: good.chain, leafPem: good.certificate, extra: ['-crl_check', '-CRLfile', crl] });
    expect(fine.out).toMatch(/: OK\s*$/);
  }, 60_000);

  it('ok/ ROOT EC P-256: self-signed certificate, leaves and CRL all signed in the store, verified by openssl', async () => {
    const created = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: `Contract Root ${adapter.type}` },
      keyAlgorithm: 'EC_prime256v1',
      keyStore: { type: adapter.type },
      revocation: { crl: { enabled: true } },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id;
    const rootPem = (await svc.api('GET', `/v1/cas/${id}/certificate`)).body.certificate;
    const rootFile = pki.file(`root-${id}.pem`, rootPem);
    expect(pki.ok(['verify', '-x509_strict', '-CAfile', rootFile, rootFile])).toContain('OK');
    const leaf = await issue(id, 'leaf.root.contract.internal');
    await svc.api('POST', `/v1/cas/${id}/certificates/${leaf.serial}/revoke`, { reason: 'SUPERSEDED' });
    const crl = await publishedCrl(id, rootFile);
    expect(pki.verify({ rootFile, leafPem: leaf.certificate, extra: ['-crl_check', '-CRLfile', crl] }).out).toContain('certificate revoked');
  }, 60_000);

  it('ok/ an existing key named by keyUri becomes the CA key', async () => {
    const keyUri = await adapter.existingKey(svc);
    const created = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: `Operator Key Root ${adapter.type}` },
      keyAlgorithm: 'EC_secp384r1',
      keyStore: { type: adapter.type, keyUri },
    });
    expect(created.status, created.text).toBe(201);
    const rootFile = pki.file(`oproot-${adapter.type}.pem`, (await svc.api('GET', `/v1/cas/${created.body.id}/certificate`)).body.certificate);
    const leaf = await issue(created.body.id, 'op.contract.internal');
    expect(pki.verify({ rootFile, leafPem: leaf.certificate }).out).toMatch(/: OK\s*$/);
    const wrongAlg = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'x' }, keyAlgorithm: 'EC_prime256v1', keyStore: { type: adapter.type, keyUri } });
    expect(wrongAlg.status).toBe(400);
    expect(wrongAlg.body.code).toBe('key_algorithm_mismatch');
  }, 60_000);
});
