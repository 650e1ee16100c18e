import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, KMSClient, UpdateAliasCommand } from '@aws-sdk/client-kms';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, randomUUID, verify } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaError } from '../../src/domain/ca-error.ts';
import {
  KEY_ALGORITHMS,
  KEY_ALGORITHM_INFO,
  SIGNING_ALGORITHMS,
  SIGNING_ALGORITHM_INFO,
  type KeyAlgorithm,
  type SigningAlgorithm,
} from '../../src/domain/key-algorithm.ts';
import { LOCAL_KMS_CREDENTIALS, startLocalKms, type LocalKms } from '../../test/support/local-kms.ts';
import { freePort } from '../../test/support/net.ts';
import { AwsKmsKeyStore } from './aws-kms-key-store.ts';
import { expectCaErrorCode } from '../../test/support/ca-error.ts';

const KEY_ARN_URI = /^awskms:(arn:aws:kms:us-east-1:111122223333:key\/([0-9a-f-]{36}))$/;
const KMS_SPEC: Record<KeyAlgorithm, string> = {
  EC_prime256v1: 'ECC_NIST_P256',
  EC_secp384r1: 'ECC_NIST_P384',
  EC_secp521r1: 'ECC_NIST_P521',
  RSA_2048: 'RSA_2048',
  RSA_3072: 'RSA_3072',
  RSA_4096: 'RSA_4096',
};
/** What the store must send to KMS: EC keys have one ECDSA algorithm each, RSA keys follow the hash. */
const KMS_SIGNING: Record<KeyAlgorithm, (sa: SigningAlgorithm) => string> = {
  EC_prime256v1: () => 'ECDSA_SHA_256',
  EC_secp384r1: () => 'ECDSA_SHA_384',
  EC_secp521r1: () => 'ECDSA_SHA_512',
  RSA_2048: (sa) => `RSASSA_PKCS1_V1_5_SHA_${sa.slice(3, 6)}`,
  RSA_3072: (sa) => `RSASSA_PKCS1_V1_5_SHA_${sa.slice(3, 6)}`,
  RSA_4096: (sa) => `RSASSA_PKCS1_V1_5_SHA_${sa.slice(3, 6)}`,
};

let kms: LocalKms;
let client: KMSClient;
let store: AwsKmsKeyStore;

const kmsClient = (over: Partial<ConstructorParameters<typeof KMSClient>[0]> = {}) =>
  new KMSClient({ region: 'us-east-1', endpoint: kms.endpoint, credentials: LOCAL_KMS_CREDENTIALS, maxAttempts: 1, ...over });

beforeAll(async () => {
  kms = await startLocalKms();
  client = kmsClient();
  store = new AwsKmsKeyStore({ client, statusCacheMs: 20 });
});
afterAll(async () => {
  await store?.close();
  client?.destroy();
  await kms?.close();
});


const callsSince = (mark: number, op?: string) => kms.calls.slice(mark).filter((c) => !op || c.op === op);
const spkiOf = (signer: { publicKeySpki: Uint8Array }) => createPublicKey({ key: Buffer.from(signer.publicKeySpki), format: 'der', type: 'spki' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AwsKmsKeyStore', () => {
  describe.each(KEY_ALGORITHMS)('%s', (algorithm: KeyAlgorithm) => {
    const info = KEY_ALGORITHM_INFO[algorithm];
    const signingAlgorithms = SIGNING_ALGORITHMS.filter((s) => SIGNING_ALGORITHM_INFO[s].family === info.family);

    it('ok/creates a KMS key whose signatures verify on the original data, for every signing algorithm of its family', async () => {
      const mark = kms.calls.length;
      const { keyUri } = await store.createKey({ algorithm, label: `privateca-${algorithm}` });
      const [, arn, keyId] = KEY_ARN_URI.exec(keyUri) ?? [];
      expect(arn, keyUri).toBeDefined();
      expect(callsSince(mark, 'CreateKey').map((c) => c.body)).toEqual([
        { KeyUsage: 'SIGN_VERIFY', KeySpec: KMS_SPEC[algorithm], Description: `privateca-${algorithm}`, Tags: [{ TagKey: 'privateca', TagValue: `privateca-${algorithm}` }] },
      ]);

      const signer = await store.getSigner(keyUri);
      expect(signer.keyUri).toBe(keyUri);
      expect(signer.keyAlgorithm).toBe(algorithm);
      expect(signer.signSync).toBeUndefined();
      const expectedSpki = kms.keys.get(keyId!)!.publicKey!.export({ format: 'der', type: 'spki' });
      expect(Buffer.from(signer.publicKeySpki).equals(expectedSpki)).toBe(true);
      expect(await store.getSigner(keyUri)).toBe(signer);

      const publicKey = spkiOf(signer);
      const data = randomBytes(5000); // over KMS's 4096-byte RAW limit: only a digest goes to KMS
      for (const sa of signingAlgorithms) {
        const hash = SIGNING_ALGORITHM_INFO[sa].nodeHash;
        const before = kms.calls.length;
        const sig = await signer.sign(sa, data);
        const [call, ...more] = callsSince(before);
        expect(more).toEqual([]);
        expect(call!.op).toBe('Sign');
        expect(call!.body).toMatchObject({ KeyId: arn, MessageType: 'DIGEST', SigningAlgorithm: KMS_SIGNING[algorithm](sa) });
        const sent = Buffer.from(call!.body.Message, 'base64');
        const digest = createHash(hash).update(data).digest();
        if (info.family === 'RSA' || sent.length === digest.length) expect(sent.equals(digest)).toBe(true);
        else if (sent.length < digest.length) expect(sent.equals(digest.subarray(0, sent.length))).toBe(true);
        else expect(sent.equals(Buffer.concat([Buffer.alloc(sent.length - digest.length), digest]))).toBe(true);

        if (info.family === 'EC') expect(sig[0]).toBe(0x30);
        else expect(sig.length).toBe(info.modulusLength! / 8);
        expect(verify(hash, data, { key: publicKey, dsaEncoding: 'der' }, sig), `${sa} verifies`).toBe(true);
        expect(verify(hash, Buffer.concat([data, Buffer.from([0])]), { key: publicKey, dsaEncoding: 'der' }, sig)).toBe(false);
        // The same data in pieces (how a large CRL is signed): one digest of their concatenation.
        const inPieces = await signer.sign(sa, [data.subarray(0, 1), data.subarray(1, 4000), data.subarray(4000)]);
        expect(verify(hash, data, { key: publicKey, dsaEncoding: 'der' }, inPieces), `${sa} in pieces verifies`).toBe(true);
        const streamed = await signer.sign(sa, { [Symbol.asyncIterator]: async function* () { yield data.subarray(0, 7); yield data.subarray(7); } });
        expect(verify(hash, data, { key: publicKey, dsaEncoding: 'der' }, streamed), `${sa} streamed verifies`).toBe(true);
      }
      expect(await store.keyStatus(keyUri)).toEqual({ state: 'AVAILABLE' });
    });
  });

  it('ok/EC signatures made through KMS verify with openssl dgst -verify, also where the hash is longer or shorter than the curve', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'privateca-kms-openssl-'));
    try {
      const cases: [KeyAlgorithm, SigningAlgorithm][] = [
        ['EC_prime256v1', 'SHA256WITHECDSA'],
        ['EC_prime256v1', 'SHA512WITHECDSA'],
        ['EC_secp384r1', 'SHA384WITHECDSA'],
        ['EC_secp521r1', 'SHA256WITHECDSA'],
      ];
      for (const [algorithm, sa] of cases) {
        const signer = await store.getSigner((await store.createKey({ algorithm, label: 'openssl' })).keyUri);
        const data = Buffer.from(`to be signed by ${algorithm} with ${sa}`);
        const sig = await signer.sign(sa, data);
        const pem = spkiOf(signer).export({ format: 'pem', type: 'spki' });
        const [pub, sigFile, dataFile] = ['pub.pem', 'sig.der', 'data.bin'].map((f) => path.join(dir, `${algorithm}-${sa}-${f}`));
        await writeFile(pub!, pem);
        await writeFile(sigFile!, sig);
        await writeFile(dataFile!, data);
        const out = execFileSync('openssl', ['dgst', `-${SIGNING_ALGORITHM_INFO[sa].nodeHash}`, '-verify', pub!, '-signature', sigFile!, dataFile!], { encoding: 'utf8' });
        expect(out.trim(), `${algorithm} ${sa}`).toBe('Verified OK');
        // openssl also parses it as a DER ECDSA-Sig-Value and nothing more.
        expect(execFileSync('openssl', ['asn1parse', '-inform', 'DER', '-in', sigFile!], { encoding: 'utf8' })).toMatch(/SEQUENCE[\s\S]*INTEGER[\s\S]*INTEGER/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ok/an existing key named by alias, alias ARN or bare key id resolves to its key ARN, which every Sign uses', async () => {
    await kms.createKeyWithAlias('ECC_NIST_P384', 'alias/operator-key');
    const keyId = kms.aliases.get('alias/operator-key')!;
    const arn = kms.keys.get(keyId)!.arn;
    for (const name of ['alias/operator-key', `arn:aws:kms:us-east-1:111122223333:alias/operator-key`, keyId]) {
      const mark = kms.calls.length;
      const signer = await store.getSigner(`awskms:${name}`);
      expect(signer.keyUri).toBe(`awskms:${name}`);
      expect(signer.keyAlgorithm).toBe('EC_secp384r1');
      expect((signer as unknown as { keyArn: string }).keyArn).toBe(arn);
      expect(callsSince(mark, 'GetPublicKey').map((c) => c.body.KeyId)).toEqual([name]);
      await signer.sign('SHA384WITHECDSA', Buffer.from('x'));
      expect(callsSince(mark, 'Sign').map((c) => c.body.KeyId)).toEqual([arn]);
    }
  });

  it('ok/a signer keeps its key when the alias is retargeted: signatures still verify with the public key it was loaded with', async () => {
    await kms.createKeyWithAlias('ECC_NIST_P256', 'alias/moving');
    const first = kms.keys.get(kms.aliases.get('alias/moving')!)!;
    const signer = await store.getSigner('awskms:alias/moving');
    const other = await client.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' }));
    await client.send(new UpdateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: other.KeyMetadata!.KeyId! }));
    const mark = kms.calls.length;
    const data = Buffer.from('still the first key');
    const sig = await signer.sign('SHA256WITHECDSA', data);
    expect(callsSince(mark, 'Sign')[0]!.body.KeyId).toBe(first.arn);
    expect(verify('sha256', data, { key: spkiOf(signer), dsaEncoding: 'der' }, sig)).toBe(true);
  });

  it('fail/a key whose usage is not SIGN_VERIFY is refused: key_usage_invalid', async () => {
    await kms.createKeyWithAlias('RSA_2048', 'alias/encryption-rsa', 'ENCRYPT_DECRYPT');
    const err = await expectCaErrorCode(store.getSigner('awskms:alias/encryption-rsa'), 'key_usage_invalid');
    expect(err.kind).toBe('invalid_request');
    expect(err.detail).toContain('ENCRYPT_DECRYPT');
    await kms.createKeyWithAlias('SYMMETRIC_DEFAULT', 'alias/symmetric', 'ENCRYPT_DECRYPT');
    expect((await expectCaErrorCode(store.getSigner('awskms:alias/symmetric'), 'key_usage_invalid')).kind).toBe('invalid_request');
    expect((await store.keyStatus('awskms:alias/symmetric')).state).toBe('UNAVAILABLE');
  });

  it('fail/a KMS key spec with no KeyAlgorithm here (secp256k1) is refused: key_algorithm_unsupported', async () => {
    await kms.createKeyWithAlias('ECC_SECG_P256K1', 'alias/koblitz');
    const err = await expectCaErrorCode(store.getSigner('awskms:alias/koblitz'), 'key_algorithm_unsupported');
    expect(err.kind).toBe('invalid_request');
    expect(err.detail).toContain('ECC_SECG_P256K1');
  });

  it('fail/an unknown key: key_not_found, and keyStatus UNAVAILABLE', async () => {
    for (const uri of ['awskms:alias/nobody', `awskms:arn:aws:kms:us-east-1:111122223333:key/${randomUUID()}`, `awskms:${randomUUID()}`]) {
      const err = await expectCaErrorCode(store.getSigner(uri), 'key_not_found');
      expect(err.kind).toBe('unavailable');
      expect(err.detail).toContain('does not exist');
      const status = await store.keyStatus(uri);
      expect(status.state).toBe('UNAVAILABLE');
      expect(status.reason).toContain('does not exist');
    }
  });

  it('fail/a key URI that names no KMS key: invalid_key_uri, before any call to KMS', async () => {
    const mark = kms.calls.length;
    for (const uri of ['awskms:', 'awskms:not a key', 'awskms:alias/', 'software:0b7c3a4e-0000-4000-8000-000000000000', 'awskms:arn:aws:s3:::bucket']) {
      expect((await expectCaErrorCode(store.getSigner(uri), 'invalid_key_uri')).kind).toBe('invalid_request');
    }
    expect(callsSince(mark)).toEqual([]);
  });

  it('fail/a disabled key: sign fails with key_store_unavailable and keyStatus says disabled; enabled again, it signs again', async () => {
    const { keyUri } = await store.createKey({ algorithm: 'EC_prime256v1', label: 'disable-me' });
    const arn = KEY_ARN_URI.exec(keyUri)![1]!;
    const signer = await store.getSigner(keyUri);
    await signer.sign('SHA256WITHECDSA', Buffer.from('before'));

    await client.send(new DisableKeyCommand({ KeyId: arn }));
    const err = await expectCaErrorCode(signer.sign('SHA256WITHECDSA', Buffer.from('while disabled')), 'key_store_unavailable');
    expect(err.kind).toBe('unavailable');
    expect(err.detail).toBe(`signing with KMS key ${arn}: key is disabled`);
    const status = await store.keyStatus(keyUri);
    expect(status.state).toBe('UNAVAILABLE');
    expect(status.reason).toContain('disabled');

    await client.send(new EnableKeyCommand({ KeyId: arn }));
    await sleep(30); // the status cache of this store lasts 20 ms
    expect(await store.keyStatus(keyUri)).toEqual({ state: 'AVAILABLE' });
    const data = Buffer.from('after');
    expect(verify('sha256', data, { key: spkiOf(signer), dsaEncoding: 'der' }, await signer.sign('SHA256WITHECDSA', data))).toBe(true);
  });

  it('ok/keyStatus is cached per key; a failed Sign updates the cached status at once', async () => {
    const cached = new AwsKmsKeyStore({ client, statusCacheMs: 60_000 });
    const { keyUri } = await cached.createKey({ algorithm: 'EC_prime256v1', label: 'cached' });
    const arn = KEY_ARN_URI.exec(keyUri)![1]!;
    const mark = kms.calls.length;
    expect(await Promise.all([cached.keyStatus(keyUri), cached.keyStatus(keyUri)])).toEqual([{ state: 'AVAILABLE' }, { state: 'AVAILABLE' }]);
    expect(await cached.keyStatus(keyUri)).toEqual({ state: 'AVAILABLE' });
    expect(callsSince(mark, 'DescribeKey')).toHaveLength(1);

    await client.send(new DisableKeyCommand({ KeyId: arn }));
    expect(await cached.keyStatus(keyUri)).toEqual({ state: 'AVAILABLE' }); // still cached
    await expectCaErrorCode((await cached.getSigner(keyUri)).sign('SHA256WITHECDSA', Buffer.from('x')), 'key_store_unavailable');
    expect(await cached.keyStatus(keyUri)).toEqual({ state: 'UNAVAILABLE', reason: `signing with KMS key ${arn}: key is disabled` });
    expect(callsSince(mark, 'DescribeKey')).toHaveLength(1);
    await cached.close();
  });

  it('fail/a signing algorithm of the other family is refused before KMS is called', async () => {
    const signer = await store.getSigner((await store.createKey({ algorithm: 'EC_prime256v1', label: 'family' })).keyUri);
    const mark = kms.calls.length;
    await expectCaErrorCode(signer.sign('SHA256WITHRSA', Buffer.from('x')), 'signing_algorithm_mismatch');
    expect(callsSince(mark)).toEqual([]);
  });

  it('ok/deleteKey schedules deletion in 7 days for keys this store created, and leaves aliases and foreign keys alone', async () => {
    const { keyUri } = await store.createKey({ algorithm: 'EC_prime256v1', label: 'to-delete' });
    const [, arn, keyId] = KEY_ARN_URI.exec(keyUri)!;
    const signer = await store.getSigner(keyUri);
    const mark = kms.calls.length;
    await store.deleteKey(keyUri);
    expect(callsSince(mark, 'ScheduleKeyDeletion').map((c) => c.body)).toEqual([{ KeyId: arn, PendingWindowInDays: 7 }]);
    const key = kms.keys.get(keyId!)!;
    expect(key.state).toBe('PendingDeletion');
    expect(Math.round((key.deletionDate!.getTime() - Date.now()) / 86_400_000)).toBe(7);

    const err = await expectCaErrorCode(signer.sign('SHA256WITHECDSA', Buffer.from('x')), 'key_store_unavailable');
    expect(err.detail).toContain('pending deletion');
    expect((await store.keyStatus(keyUri)).reason).toContain('pending deletion');

    // A key the user brought, named by alias or by its ARN, is theirs: it is never scheduled for deletion.
    await kms.createKeyWithAlias('ECC_NIST_P256', 'alias/users-key');
    const users = kms.keys.get(kms.aliases.get('alias/users-key')!)!;
    const mark2 = kms.calls.length;
    await store.deleteKey('awskms:alias/users-key');
    await store.deleteKey(`awskms:${users.keyId}`);
    await store.deleteKey(`awskms:${users.arn}`);
    expect(callsSince(mark2, 'ScheduleKeyDeletion')).toEqual([]);
    expect(users.state).toBe('Enabled');
    // A key that is already gone is deleted.
    await store.deleteKey(`awskms:arn:aws:kms:us-east-1:111122223333:key/${randomUUID()}`);
  });

  it('fail/KMS unreachable: key_store_unavailable from getSigner and sign, keyStatus UNAVAILABLE', async () => {
    const gone = await startLocalKms();
    const goneClient = new KMSClient({ region: 'us-east-1', endpoint: gone.endpoint, credentials: LOCAL_KMS_CREDENTIALS, maxAttempts: 1 });
    const s = new AwsKmsKeyStore({ client: goneClient, statusCacheMs: 0 });
    const { keyUri } = await s.createKey({ algorithm: 'EC_prime256v1', label: 'gone' });
    const signer = await s.getSigner(keyUri);
    await gone.close();

    const err = await expectCaErrorCode(signer.sign('SHA256WITHECDSA', Buffer.from('x')), 'key_store_unavailable');
    expect(err.kind).toBe('unavailable');
    expect(err.detail).toMatch(/^signing with KMS key arn:aws:kms:.*: the KMS endpoint is unreachable \((ECONNREFUSED|ECONNRESET)\)$/);
    expect(await s.keyStatus(keyUri)).toEqual({ state: 'UNAVAILABLE', reason: expect.stringContaining('unreachable') });
    await s.close();
    goneClient.destroy();

    const closedPort = new KMSClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${await freePort()}`, credentials: LOCAL_KMS_CREDENTIALS, maxAttempts: 1 });
    const s2 = new AwsKmsKeyStore({ client: closedPort });
    const refused = await expectCaErrorCode(s2.getSigner('awskms:alias/anything'), 'key_store_unavailable');
    expect(refused.detail).toBe('loading KMS key alias/anything: the KMS endpoint is unreachable (ECONNREFUSED)');
    await expectCaErrorCode(s2.createKey({ algorithm: 'RSA_2048', label: 'x' }), 'key_store_unavailable');
    expect((await s2.keyStatus('awskms:alias/anything')).state).toBe('UNAVAILABLE');
    await s2.close();
    closedPort.destroy();
  });

  it('fail/the local endpoint checks SigV4: no signature, a bad signature, a wrong region or unknown credentials are refused', async () => {
    const body = JSON.stringify({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' });
    const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.CreateKey' };
    const keysBefore = kms.keys.size;

    const unsigned = await fetch(kms.endpoint, { method: 'POST', headers, body });
    expect(unsigned.status).toBe(400);
    expect((await unsigned.json()).__type).toBe('UnrecognizedClientException');

    const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const forged = await fetch(kms.endpoint, {
      method: 'POST',
      body,
      headers: {
        ...headers,
        'x-amz-date': amzDate,
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${amzDate.slice(0, 8)}/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
      },
    });
    expect(forged.status).toBe(400);
    expect((await forged.json()).__type).toBe('InvalidSignatureException');
    expect(kms.keys.size).toBe(keysBefore);

    const secret = 'not-the-right-secret-key/0123456789abcdef';
    const refused: [Partial<ConstructorParameters<typeof KMSClient>[0]>, RegExp][] = [
      [{ credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret } }, /KMS refused the request signature/],
      [{ region: 'eu-west-1' }, /KMS refused the request signature/],
      [{ credentials: { accessKeyId: 'AKIDSOMEONEELSE', secretAccessKey: secret } }, /does not recognise the AWS credentials/],
      [{ credentials: () => Promise.reject(Object.assign(new Error(`no credentials (${secret})`), { name: 'CredentialsProviderError' })) }, /no AWS credentials found/],
    ];
    for (const [over, reason] of refused) {
      const c = kmsClient(over);
      const s = new AwsKmsKeyStore({ client: c });
      const err = await expectCaErrorCode(s.createKey({ algorithm: 'EC_prime256v1', label: 'x' }), 'key_store_unavailable');
      expect(err.detail).toMatch(reason);
      expect(err.detail).toMatch(/^creating a ECC_NIST_P256 KMS key: /);
      expect(err.message).not.toContain(secret);
      expect(err.message).not.toContain('AKID');
      expect(err.message).not.toContain('Signature');
      const status = await s.keyStatus('awskms:alias/operator-key');
      expect(status.state).toBe('UNAVAILABLE');
      expect(status.reason).toMatch(reason);
      await s.close();
      c.destroy();
    }
    expect(kms.keys.size).toBe(keysBefore);
  });

  it('ok/without a client, region, endpoint and credentials come from the standard AWS chain (AWS_ENDPOINT_URL_KMS...)', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, kms.env);
    try {
      const s = new AwsKmsKeyStore();
      const { keyUri } = await s.createKey({ algorithm: 'RSA_2048', label: 'from-env' });
      expect(keyUri).toMatch(KEY_ARN_URI);
      const signer = await s.getSigner(keyUri);
      const data = Buffer.from('env');
      expect(verify('sha384', data, spkiOf(signer), await signer.sign('SHA384WITHRSA', data))).toBe(true);
      await s.close();
    } finally {
      for (const k of Object.keys(kms.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
