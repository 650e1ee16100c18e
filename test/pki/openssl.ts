import { spawnSync } from 'node:child_process';
import type { RevocationReason } from '../../src/domain/revocation-reason.ts';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** An ephemeral test PKI made with the openssl CLI in a temporary directory, fresh on every run. */
export class OpensslPki {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'privateca-pki-'));
  private n = 0;

  file(name: string, content?: string): string {
    const p = path.join(this.dir, name);
    if (content !== undefined) writeFileSync(p, content);
    return p;
  }

  read(name: string): string {
    return readFileSync(path.join(this.dir, name), 'utf8');
  }

  /** Runs openssl; returns its exit status, stdout+stderr (`out`) and stdout alone, without throwing. */
  run(args: string[], input?: string): { status: number; out: string; stdout: string } {
    const r = spawnSync('openssl', args, { cwd: this.dir, input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    return { status: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
  }

  /** Runs openssl and returns its stdout; throws with its output when it fails. */
  ok(args: string[], input?: string): string {
    const r = this.run(args, input);
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.out}`);
    return r.stdout;
  }

  /** A new private key: 'ec:P-256', 'ec:P-384', 'ec:P-521', 'ec:prime192v1', 'ec:secp256k1', 'rsa:2048', … */
  key(spec: string): string {
    const name = `key${++this.n}.pem`;
    const [kind, param] = spec.split(':');
    if (kind === 'rsa') this.ok(['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${param}`, '-out', name]);
    else this.ok(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${param}`, '-out', name]);
    return name;
  }

  /** A CSR signed by `key`, with a subject like "/CN=x" and SANs like "DNS:a,IP:10.0.0.1". */
  csr(options: { key?: string; subject: string; san?: string }): { csr: string; key: string } {
    const key = options.key ?? this.key('ec:P-256');
    const out = `csr${++this.n}.pem`;
    const args = ['req', '-new', '-key', key, '-subj', options.subject, '-out', out];
    if (options.san) args.push('-addext', `subjectAltName=${options.san}`);
    this.ok(args);
    return { csr: this.read(out), key };
  }

  /** A self-signed root CA made by openssl (the "outside root" of a subordinate CA). */
  root(options: { keySpec?: string; subject?: string; days?: number; pathLen?: number } = {}): { cert: string; certFile: string; key: string } {
    const key = this.key(options.keySpec ?? 'ec:P-256');
    const certFile = `root${++this.n}.pem`;
    const bc = `critical,CA:true${options.pathLen !== undefined ? `,pathlen:${options.pathLen}` : ''}`;
    this.ok([
      'req', '-x509', '-new', '-key', key, '-subj', options.subject ?? '/O=Test/CN=OpenSSL Test Root', '-days', String(options.days ?? 30),
      '-addext', `basicConstraints=${bc}`, '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash',
      '-out', certFile,
    ]);
    return { cert: this.read(certFile), certFile, key };
  }

  /**
   * Signs a CSR with an openssl CA as `openssl x509 -req` does, with the v3_intermediate_ca
   * extensions (or v3 end-entity ones when ca=false).
   */
  sign(csrPem: string, issuer: { certFile: string; key: string }, options: { ca?: boolean; days?: number; pathLen?: number; notBeforeOffsetDays?: number } = {}): { cert: string; certFile: string } {
    const csrFile = this.file(`in${++this.n}.csr`, csrPem);
    const ext = this.file(
      `ext${this.n}.cnf`,
      options.ca === false
        ? '[v3]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n'
        : `[v3]\nbasicConstraints=critical,CA:true${options.pathLen !== undefined ? `,pathlen:${options.pathLen}` : ''}\nkeyUsage=critical,digitalSignature,cRLSign,keyCertSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always,issuer\n`,
    );
    const certFile = `signed${this.n}.pem`;
    this.ok([
      'x509', '-req', '-in', csrFile, '-CA', issuer.certFile, '-CAkey', issuer.key, '-CAcreateserial',
      '-days', String(options.days ?? 20), '-extfile', ext, '-extensions', 'v3', '-out', certFile,
    ]);
    return { cert: this.read(certFile), certFile };
  }

  /** `openssl verify -CAfile root -untrusted chain leaf`: the output, e.g. "leaf.pem: OK". */
  verify(options: { rootFile: string; chainPem?: string; leafPem: string; extra?: string[] }): { status: number; out: string } {
    const leaf = this.file(`leaf${++this.n}.pem`, options.leafPem);
    const args = ['verify', '-CAfile', options.rootFile];
    if (options.chainPem) args.push('-untrusted', this.file(`chain${this.n}.pem`, options.chainPem));
    args.push(...(options.extra ?? []), leaf);
    return this.run(args);
  }

  text(pem: string): string {
    return this.ok(['x509', '-noout', '-text'], pem);
  }
}

/** How `openssl crl -text` names each reason. */
export const OPENSSL_REASON: Record<RevocationReason, string | undefined> = {
  UNSPECIFIED: undefined,
  KEY_COMPROMISE: 'Key Compromise',
  CERTIFICATE_AUTHORITY_COMPROMISE: 'CA Compromise',
  AFFILIATION_CHANGED: 'Affiliation Changed',
  SUPERSEDED: 'Superseded',
  CESSATION_OF_OPERATION: 'Cessation Of Operation',
  PRIVILEGE_WITHDRAWN: 'Privilege Withdrawn',
  A_A_COMPROMISE: 'AA Compromise',
};
