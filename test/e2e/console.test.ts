import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import pg from 'pg';
import { buildService, killStarted, ServiceProcess } from '../support/process.ts';
import { createTestDatabase } from '../support/service.ts';

/*
 * The admin console in real headless Chromium (Debian's chromium, driven by playwright-core),
 * against the compiled service with its built console, on the embedded database as `npm start`
 * runs it. Every request the page makes is recorded: none may go anywhere but the service, and
 * Chromium must report no Content-Security-Policy violation and no script error.
 * PRIVATECA_SCREENSHOTS=1 also writes the main pages' screenshots into docs/screenshots/.
 */

const TOKEN = 'pca_console_admin_' + 'a'.repeat(32);
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOTS = process.env.PRIVATECA_SCREENSHOTS === '1' ? path.resolve(import.meta.dirname, '../../docs/screenshots') : undefined;

const pki = new OpensslPki();
let build: { dir: string; remove(): Promise<void> };
let svc: ServiceProcess;
let browser: Browser;
let dataDir: string;
const requests: string[] = [];
const problems: string[] = [];
/** The services the tests started: the only places the console may talk to. */
const services = new Set<string>();
/** Every answer of 400 or more the console got, as "status METHOD path" with ids made generic. */
const refusals = new Set<string>();
const generic = (u: string) => new URL(u).pathname.replace(/[0-9a-f-]{36}/g, '{id}').replace(/\/[0-9a-f]{20,}(?=\/|$)/g, '/{serial}');

async function newPage(viewport = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', (r) => {
    if (r.status() >= 400) refusals.add(`${r.status()} ${r.request().method()} ${generic(r.url())}`);
  });
  page.on('console', (m) => {
    // A refused request is logged as "Failed to load resource"; those are checked as `refusals`.
    if ((m.type() === 'error' && !m.text().startsWith('Failed to load resource')) || /Content Security Policy|Refused to/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { context, page };
}

async function signIn(page: Page, token = TOKEN, service = svc): Promise<void> {
  await page.goto(`${service.url}/console/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Certificate authorities' }).click();
  await page.getByRole('heading', { name: 'Certificate authorities', level: 1 }).waitFor();
}

/** The text of a CA page's fact, by its term. */
const fact = (page: Page, term: string) => page.locator('dl.facts dt', { hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]').first().textContent();

const api = (method: string, p: string, body?: unknown, token = TOKEN) => svc.api(token, method, p, body);

async function shot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Walks the wizard from the CA list to its review step and creates the CA. */
async function wizard(page: Page, options: { type: 'Root CA' | 'Subordinate CA'; commonName: string; organization?: string; tags?: string }): Promise<void> {
  await page.getByRole('link', { name: 'Create CA' }).click();
  await page.getByRole('heading', { name: 'Create a certificate authority' }).waitFor();
  await page.getByLabel(options.type).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Common name').fill(options.commonName);
  if (options.organization) await page.getByLabel('Organization', { exact: true }).fill(options.organization);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Key algorithm').selectOption('EC_prime256v1');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { name: /Revocation/ }).waitFor();
  await page.getByRole('button', { name: 'Next' }).click();
  if (options.type === 'Root CA') {
    await page.getByLabel('Validity (days)').fill('365');
    await page.getByRole('button', { name: 'Next' }).click();
  }
  await page.getByLabel('Tags').fill(options.tags ?? '');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { name: /Review/ }).waitFor();
  await page.getByRole('button', { name: 'Create CA' }).click();
}

beforeAll(async () => {
  build = await buildService('console', { console: true });
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'privateca-console-'));
  svc = await ServiceProcess.start(build.dir, { PRIVATECA_DATA_DIR: dataDir, PRIVATECA_BOOTSTRAP_TOKEN: TOKEN });
  services.add(svc.url);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await killStarted();
  await build?.remove();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('admin console (headless Chromium)', () => {
  it('ok/served at /console under a strict CSP, from the service alone; the token is kept in sessionStorage only, and sign-out clears it', async () => {
    const res = await fetch(`${svc.url}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect((await fetch(`${svc.url}/console`, { redirect: 'manual' })).headers.get('location')).toBe('/console/');

    const { context, page } = await newPage();
    await signIn(page);
    expect(await page.evaluate(() => sessionStorage.getItem('privateca.token'))).toBe(TOKEN);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(page.url()).not.toContain(TOKEN);
    expect((await context.cookies()).length).toBe(0);
    await shot(page, 'sign-in-done');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('privateca.token'))).toBeNull();
    await context.close();
  });

  it('ok/creates a ROOT CA step by step; its page shows the certificate with the SHA-256 fingerprint openssl computes', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await wizard(page, { type: 'Root CA', commonName: 'Console Root CA', organization: 'Example', tags: 'team=pki' });
    await page.getByRole('status').filter({ hasText: 'ACTIVE' }).waitFor();
    await page.getByRole('button', { name: 'Open the CA' }).click();
    await page.getByRole('heading', { name: 'Console Root CA (Example)', level: 1 }).waitFor();
    const id = /#\/cas\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    const ca = await api('GET', `/v1/cas/${id}`);
    expect([ca.body.type, ca.body.status, ca.body.tags]).toEqual(['ROOT', 'ACTIVE', { team: 'pki' }]);
    const pem = (await api('GET', `/v1/cas/${id}/certificate`)).body.certificate as string;
    const fp = pki.ok(['x509', '-noout', '-fingerprint', '-sha256'], pem).trim().split('=')[1]!;
    await expect(page.getByText(fp).count()).resolves.toBe(1);
    await expect(fact(page, 'Issuer')).resolves.toBe('Console Root CA (Example) (itself)');
    await shot(page, 'ca-page');
    await context.close();
  });

  it('ok/a SUBORDINATE CA: the CSR is shown, signed by the openssl CLI, a wrong certificate is explained beside its field, the chain pasted back activates it', async () => {
    const root = pki.root({ subject: '/O=Example/CN=Offline Root', days: 60 });
    const { context, page } = await newPage();
    await signIn(page);
    await wizard(page, { type: 'Subordinate CA', commonName: 'Console Issuing CA' });
    // The copy and download buttons come with the CSR.
    await page.getByRole('button', { name: 'Download CSR' }).waitFor();
    await expect(page.getByRole('button', { name: 'Copy CSR' }).isVisible()).resolves.toBe(true);
    const csrPem = (await page.getByTestId('csr').textContent())!;
    expect(csrPem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    await shot(page, 'subordinate-csr');
    expect(pki.ok(['req', '-noout', '-verify', '-subject'], csrPem)).toContain('Console Issuing CA');

    // The root's own certificate is not the one signed for this CA's key.
    await page.getByLabel('Certificate (PEM)').fill(root.cert);
    await page.getByLabel(/^Chain \(PEM\)/).fill(root.cert);
    await page.getByRole('button', { name: 'Import and activate' }).click();
    const fieldError = page.locator('#import-certificate-error');
    await fieldError.waitFor();
    expect(await fieldError.textContent()).toContain("This certificate is for another key");
    await expect(page.getByLabel('Certificate (PEM)').getAttribute('aria-invalid')).resolves.toBe('true');

    const signed = pki.sign(csrPem, root, { ca: true, days: 30, pathLen: 0 });
    await page.getByLabel('Certificate (PEM)').fill(signed.cert);
    await page.getByRole('button', { name: 'Import and activate' }).click();
    await page.getByRole('status').filter({ hasText: 'ACTIVE' }).waitFor();
    await page.getByRole('button', { name: 'Open the CA' }).click();
    await page.getByRole('heading', { name: 'Console Issuing CA', level: 1 }).waitFor();
    const id = /#\/cas\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    const ca = await api('GET', `/v1/cas/${id}`);
    expect([ca.body.type, ca.body.status]).toEqual(['SUBORDINATE', 'ACTIVE']);
    // The issuer shown is the openssl root's subject, as openssl reads it from the imported certificate.
    expect(pki.ok(['x509', '-noout', '-issuer', '-nameopt', 'RFC2253'], signed.cert)).toContain('CN=Offline Root,O=Example');
    await expect(fact(page, 'Issuer')).resolves.toBe('Offline Root (Example)');
    // The imported certificate is the one openssl signed, and it chains to the openssl root.
    const served = (await api('GET', `/v1/cas/${id}/certificate`)).body.certificate as string;
    expect(new X509Certificate(served).fingerprint256).toBe(new X509Certificate(signed.cert).fingerprint256);
    expect(pki.verify({ rootFile: root.certFile, leafPem: served }).out).toContain('OK');
    await context.close();
  });

  it('ok/revokes from the certificate table after a confirmation naming the certificate; the served CRL lists the serial with the reason (openssl crl)', async () => {
    const ca = await api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Console Revoke Root' }, keyAlgorithm: 'EC_prime256v1', revocation: { crl: { enabled: true } } });
    expect(ca.status).toBe(201);
    const issued = [];
    for (const name of ['alpha', 'bravo', 'charlie']) {
      const r = await api('POST', `/v1/cas/${ca.body.id}/certificates`, { csr: pki.csr({ subject: `/CN=${name}.example.internal`, san: `DNS:${name}.example.internal` }).csr, validity: { days: 10 } });
      expect(r.status).toBe(201);
      issued.push(r.body);
    }
    const target = issued[1]!;
    const { context, page } = await newPage();
    await signIn(page);
    await page.getByRole('link', { name: 'Console Revoke Root' }).click();
    await page.getByRole('heading', { name: 'Certificates' }).waitFor();
    const row = page.locator(`tr[data-serial="${target.serial}"]`);
    await expect(row.textContent()).resolves.toContain('bravo.example.internal');
    await row.getByRole('button', { name: /^Revoke/ }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.textContent()).resolves.toContain(`bravo.example.internal`);
    await expect(dialog.textContent()).resolves.toContain(target.serial);
    await shot(page, 'revoke-dialog');
    await dialog.getByLabel('Reason').selectOption('KEY_COMPROMISE');
    await dialog.getByRole('button', { name: 'Revoke certificate' }).click();
    await page.getByRole('status').filter({ hasText: `Revoked bravo.example.internal (serial ${target.serial})` }).waitFor();
    await page.locator(`tr[data-serial="${target.serial}"]`, { hasText: 'KEY_COMPROMISE' }).waitFor();
    expect((await api('GET', `/v1/cas/${ca.body.id}/certificates/${target.serial}`)).body.status).toBe('REVOKED');
    expect((await api('GET', `/v1/cas/${ca.body.id}/certificates/${issued[0]!.serial}`)).body.status).toBe('ISSUED');

    // The CRL is rebuilt within seconds of a revocation.
    const caFile = pki.file(`revoke-ca-${ca.body.id}.pem`, (await api('GET', `/v1/cas/${ca.body.id}/certificate`)).body.certificate);
    let text = '';
    for (let i = 0; i < 50 && !text.includes(target.serial.toUpperCase()); i++) {
      await new Promise((r) => setTimeout(r, 200));
      const der = Buffer.from(await (await fetch(`${svc.url}/crl/${ca.body.id}.crl`)).arrayBuffer());
      const crlFile = path.join(pki.dir, `console-${i}.crl`);
      writeFileSync(crlFile, der);
      text = pki.ok(['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text', '-CAfile', caFile]);
    }
    expect(text).toContain(`Serial Number: ${target.serial.toUpperCase()}`);
    expect(text).toContain('Key Compromise');
    expect(text).not.toContain(issued[0]!.serial.toUpperCase());
    await context.close();
  });

  it('ok/requests a certificate from a pasted CSR; openssl verifies it against the CA; its page offers the PEM and chain', async () => {
    const ca = await api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Console Issue Root' }, keyAlgorithm: 'EC_prime256v1' });
    const { csr } = pki.csr({ subject: '/O=Acme/CN=pasted.example.internal', san: 'DNS:pasted.example.internal,DNS:alt.example.internal' });
    const { context, page } = await newPage();
    await signIn(page);
    await page.getByRole('link', { name: 'Console Issue Root' }).click();
    await page.getByRole('link', { name: 'Request a certificate' }).click();
    await page.getByLabel('CSR (PEM)').fill('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n');
    await page.getByRole('button', { name: 'Issue certificate' }).click();
    // The API's detail beside the CSR field.
    await page.locator('#issue-csr-error').waitFor();
    await page.getByLabel('CSR (PEM)').fill(csr);
    await page.getByLabel('Template').selectOption('EndEntityServerAuthCertificate/V1');
    await page.getByLabel('Validity (days)').fill('30');
    await page.getByRole('button', { name: 'Issue certificate' }).click();
    await page.getByRole('heading', { name: 'Certificate issued' }).waitFor();
    const pem = (await page.getByLabel('Certificate PEM').textContent())!;
    const caFile = pki.file(`issue-ca-${ca.body.id}.pem`, (await api('GET', `/v1/cas/${ca.body.id}/certificate`)).body.certificate);
    expect(pki.verify({ rootFile: caFile, leafPem: pem, extra: ['-purpose', 'sslserver'] }).out).toContain('OK');
    expect(pki.text(pem)).toContain('DNS:alt.example.internal');
    await page.getByRole('link', { name: 'Open its page' }).click();
    await page.getByRole('heading', { name: 'pasted.example.internal', level: 1 }).waitFor();
    await expect(page.getByRole('button', { name: 'Download with chain' }).isVisible()).resolves.toBe(true);
    expect(((await page.getByLabel('Certificate PEM').textContent()) ?? '').trim()).toBe(pem.trim());
    await shot(page, 'certificate-page');
    await context.close();
  });

  it('ok/a key generated by the service: the PKCS#12 and the encrypted PKCS#8 downloaded from the page open with openssl and the passphrase', async () => {
    const ca = await api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Console KeyGen Root' }, keyAlgorithm: 'EC_prime256v1' });
    const caFile = pki.file(`keygen-ca-${ca.body.id}.pem`, (await api('GET', `/v1/cas/${ca.body.id}/certificate`)).body.certificate);
    const pass = 'console passphrase 42';
    const { context, page } = await newPage();
    await signIn(page);
    await page.getByRole('link', { name: 'Console KeyGen Root' }).click();
    await page.getByRole('link', { name: 'Request a certificate' }).click();
    await page.getByLabel('Generate the key here').check();
    await page.getByLabel('Key algorithm').selectOption('EC_secp384r1');
    await page.getByLabel('Common name').fill('sensor-7.example.internal');
    await page.getByLabel('DNS names').fill('sensor-7.example.internal');
    await page.getByLabel('Template').selectOption('EndEntityClientAuthCertificate/V1');
    await page.getByLabel('Passphrase', { exact: true }).fill(pass);
    await page.getByLabel('Passphrase again').fill('something else entirely');
    await page.getByRole('button', { name: 'Issue certificate' }).click();
    await page.getByText('The two passphrases differ.').waitFor();
    await page.getByLabel('Passphrase again').fill(pass);
    await page.getByRole('button', { name: 'Issue certificate' }).click();
    await page.getByRole('heading', { name: 'Certificate issued' }).waitFor();
    await shot(page, 'generated-key');

    const save = async (label: string, name: string) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: label }).click()]);
      const file = pki.file(name);
      await download.saveAs(file);
      return file;
    };
    const p12 = await save('Download PKCS#12', 'console-device.p12');
    const key = await save('Download encrypted key (PKCS#8)', 'console-device.key');
    expect(pki.run(['pkcs12', '-in', p12, '-passin', 'pass:not the passphrase', '-noout']).status).not.toBe(0);
    const dump = pki.ok(['pkcs12', '-in', p12, '-passin', `pass:${pass}`, '-nodes']);
    const leaf = dump.slice(dump.indexOf('-----BEGIN CERTIFICATE-----'), dump.indexOf('-----END CERTIFICATE-----') + 25);
    expect(pki.verify({ rootFile: caFile, leafPem: leaf, extra: ['-purpose', 'sslclient'] }).out).toContain('OK');
    expect(pki.text(leaf)).toContain('DNS:sensor-7.example.internal');
    expect(pki.ok(['pkey', '-in', key, '-passin', `pass:${pass}`, '-pubout'])).toBe(pki.ok(['x509', '-noout', '-pubkey'], leaf));
    expect(pki.ok(['pkey', '-in', key, '-passin', `pass:${pass}`, '-noout', '-text'])).toContain('384 bit');
    await context.close();
  });

  it('ok/the audit log: events with filters (the revocation made above), the latest checkpoint, and the chain verified', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.getByLabel('Action').fill('RevokeCertificate');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('tr[data-action="privateca:RevokeCertificate"]').first().waitFor();
    const actions = await page.locator('tr[data-action]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.every((a) => a === 'privateca:RevokeCertificate')).toBe(true);
    await expect(page.locator('tr[data-action]').first().textContent()).resolves.toContain('KEY_COMPROMISE');
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await page.getByRole('status').filter({ hasText: 'The chain verifies' }).waitFor();
    const verified = await api('GET', '/v1/audit/verify');
    expect(verified.body.ok).toBe(true);
    await shot(page, 'audit-log');
    await context.close();
  });

  it('fail/a principal without rights sees no Create CA and no revoke buttons; an action denied after the page offered it shows the API detail', async () => {
    const readOnly = (await api('GET', '/v1/policies')).body.items.find((p: { name: string }) => p.name === 'ReadOnlyAccess');
    const viewer = await api('POST', '/v1/principals', { name: 'console-viewer', policies: [readOnly.id] });
    expect(viewer.status).toBe(201);
    const viewerToken = (await api('POST', `/v1/principals/${viewer.body.id}/tokens`, {})).body.token as string;
    const ca = await api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Console Viewer Root' }, keyAlgorithm: 'EC_prime256v1' });
    await api('POST', `/v1/cas/${ca.body.id}/certificates`, { csr: pki.csr({ subject: '/CN=viewer.example.internal' }).csr, validity: { days: 5 } });

    const { context, page } = await newPage();
    await signIn(page, viewerToken);
    await page.getByRole('link', { name: 'Console Viewer Root' }).waitFor();
    await expect(page.getByRole('link', { name: 'Create CA' }).count()).resolves.toBe(0);
    await page.getByRole('link', { name: 'Console Viewer Root' }).click();
    await page.getByRole('heading', { name: 'Certificates' }).waitFor();
    await page.locator('tr[data-serial]').first().waitFor();
    await expect(page.getByRole('button', { name: /^Revoke/ }).count()).resolves.toBe(0);
    await expect(page.getByRole('button', { name: 'Disable' }).count()).resolves.toBe(0);
    await context.close();

    // An operator allowed to disable CAs opens the page; the right is taken away before the click.
    const doc = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['privateca:List*', 'privateca:Describe*', 'privateca:Get*', 'privateca:UpdateCertificateAuthority'], Resource: '*' }] };
    const policy = await api('POST', '/v1/policies', { name: 'console-operator', document: doc });
    expect(policy.status).toBe(201);
    const operator = await api('POST', '/v1/principals', { name: 'console-operator', policies: [policy.body.id] });
    const operatorToken = (await api('POST', `/v1/principals/${operator.body.id}/tokens`, {})).body.token as string;
    const second = await newPage();
    await signIn(second.page, operatorToken);
    await second.page.getByRole('link', { name: 'Console Viewer Root' }).click();
    const disable = second.page.getByRole('button', { name: 'Disable' });
    await disable.waitFor();
    expect((await api('PATCH', `/v1/principals/${operator.body.id}`, { policies: [readOnly.id] })).status).toBe(200);
    await disable.click();
    const alert = second.page.getByRole('alert');
    await alert.waitFor();
    const shown = (await alert.textContent()) ?? '';
    expect(shown).toContain('403');
    expect(shown).toContain('access_denied');
    expect(shown).toContain('UpdateCertificateAuthority');
    expect((await api('GET', `/v1/cas/${ca.body.id}`)).body.status).toBe('ACTIVE');
    await second.context.close();
  });

  it('ok/searching a CA with 100,000 certificates (the service on PostgreSQL): by host name and by serial prefix, with paging', async () => {
    const database = await createTestDatabase();
    const big = await ServiceProcess.start(build.dir, { PRIVATECA_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'privateca-console-pg-')), PRIVATECA_BOOTSTRAP_TOKEN: TOKEN, DATABASE_URL: database.url });
    services.add(big.url);
    const client = new pg.Client({ connectionString: database.url });
    try {
      const ca = await big.api(TOKEN, 'POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Console Search Root' }, keyAlgorithm: 'EC_prime256v1' });
      expect(ca.status).toBe(201);
      const seed = await big.api(TOKEN, 'POST', `/v1/cas/${ca.body.id}/certificates`, { csr: pki.csr({ subject: '/CN=seed.example.internal' }).csr, validity: { days: 30 } });
      expect(seed.status).toBe(201);
      // 100,000 more rows in SQL, each with its own serial and name (the seed's DER: the table shows the row's own columns).
      await client.connect();
      await client.query(
        `INSERT INTO certificates (ca_id, serial, status, der, subject, template, not_before, not_after, issued_at, issued_by, search_name)
         SELECT ca_id, md5(i::text), 'ISSUED', der, 'CN=host-' || lpad(i::text, 6, '0') || '.example.internal', template, not_before, not_after, issued_at, issued_by,
                'host-' || lpad(i::text, 6, '0') || '.example.internal'
         FROM certificates, generate_series(1, 100000) AS i WHERE ca_id = $1 AND serial = $2`,
        [ca.body.id, seed.body.serial],
      );
      await client.query('ANALYZE certificates');
      const target = (await client.query<{ s: string }>("SELECT md5('77777') AS s")).rows[0]!.s;

      const { context, page } = await newPage();
      await signIn(page, TOKEN, big);
      await page.getByRole('link', { name: 'Console Search Root' }).click();
      await page.locator('tr[data-serial]').first().waitFor();
      // The first page: 50 of 100,001, and a next page.
      await expect(page.locator('tr[data-serial]').count()).resolves.toBe(50);
      await expect(page.getByRole('button', { name: 'Next' }).isEnabled()).resolves.toBe(true);

      await page.getByLabel('Search').fill('HOST-05432');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.locator('tr[data-serial]', { hasText: 'host-054329.example.internal' }).waitFor();
      const names = await page.locator('tr[data-serial] td:first-child').allTextContents();
      expect(names).toHaveLength(10);
      expect(names.every((n) => n.startsWith('host-05432'))).toBe(true);
      await expect(page.getByRole('button', { name: 'Next' }).isEnabled()).resolves.toBe(false);
      await shot(page, 'certificate-search');

      await page.getByLabel('Search').fill(target.slice(0, 12));
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.locator(`tr[data-serial="${target}"]`).waitFor();
      await page.waitForFunction(() => document.querySelectorAll('tr[data-serial]').length === 1);
      await expect(page.locator(`tr[data-serial="${target}"]`).textContent()).resolves.toContain('host-077777.example.internal');

      // A broad prefix pages through, 50 at a time.
      await page.getByLabel('Search').fill('host-0999');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.locator('tr[data-serial]', { hasText: 'host-0999' }).first().waitFor();
      await expect(page.locator('tr[data-serial]').count()).resolves.toBe(50);
      const firstPage = await page.locator('tr[data-serial]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-serial')));
      await page.getByRole('button', { name: 'Next' }).click();
      await page.locator('tr[data-serial]').first().waitFor();
      await page.waitForFunction((first) => document.querySelector('tr[data-serial]')?.getAttribute('data-serial') !== first, firstPage[0]);
      await expect(page.locator('tr[data-serial]').count()).resolves.toBe(50);
      const secondPage = await page.locator('tr[data-serial]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-serial')));
      expect(secondPage.some((x) => firstPage.includes(x))).toBe(false);
      expect(secondPage[0]! > firstPage.at(-1)!).toBe(true);
      await context.close();
    } finally {
      await client.end().catch(() => {});
      await big.stop();
      await database.drop();
    }
  }, 180_000);

  it('ok/principals: one is created with a policy, its token is shown once and works, deleted it is refused; the principal is disabled', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Principals' }).click();
    await page.getByRole('heading', { name: 'Principals', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'New principal' }).click();
    await page.getByLabel('Name', { exact: true }).fill('console-deployer');
    await page.getByLabel('Description').fill('the deploy pipeline');
    await page.getByLabel('ReadOnlyAccess').check();
    await page.getByRole('button', { name: 'Create principal' }).click();
    await page.getByRole('heading', { name: 'console-deployer', level: 1 }).waitFor();
    const id = /#\/principals\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    const readOnly = (await api('GET', '/v1/policies')).body.items.find((p: { name: string }) => p.name === 'ReadOnlyAccess');
    const created = await api('GET', `/v1/principals/${id}`);
    expect([created.body.name, created.body.description, created.body.status, created.body.policies]).toEqual(['console-deployer', 'the deploy pipeline', 'ACTIVE', [readOnly.id]]);

    await page.getByLabel('Token description').fill('ci runner');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.getByTestId('new-token').textContent())!.trim();
    expect(secret).toMatch(/^pca_/);
    await expect(page.getByRole('button', { name: 'Copy token' }).isVisible()).resolves.toBe(true);
    await page.locator('tr', { hasText: 'ci runner' }).waitFor();
    await shot(page, 'principal');
    // The token works, as that principal; the list never shows it again, not even after a reload.
    expect((await svc.api(secret, 'GET', '/v1/me')).body.principal.name).toBe('console-deployer');
    expect(JSON.stringify((await api('GET', `/v1/principals/${id}/tokens`)).body)).not.toContain(secret);
    await page.reload();
    await page.locator('tr', { hasText: 'ci runner' }).waitFor();
    await expect(page.getByText(secret).count()).resolves.toBe(0);

    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete token ci runner' }).click();
    await page.getByText('No tokens.').waitFor();
    expect((await svc.api(secret, 'GET', '/v1/me')).status).toBe(401);

    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('status').filter({ hasText: 'disabled' }).waitFor();
    expect((await api('GET', `/v1/principals/${id}`)).body.status).toBe('DISABLED');
    await page.getByRole('button', { name: 'Enable' }).waitFor();
    await context.close();
  });

  it('fail/the policy editor shows the API errors at the lines they concern, and a JSON syntax error at its line; fixed, the policy is created and attached', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policies' }).click();
    await page.getByRole('heading', { name: 'Policies', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'AdministratorAccess' }).waitFor();
    await page.getByRole('link', { name: 'New policy' }).click();
    await page.getByRole('heading', { name: 'New policy', level: 1 }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('console-issuer');
    const lines = [
      '{',
      '  "Version": "2012-10-17",',
      '  "Statement": [',
      '    {',
      '      "Sid": "WebOnly",',
      '      "Effect": "Permit",',
      '      "Action": "privateca:IssueCertificate",',
      '      "Resource": "ca/*",',
      '      "Condition": {',
      '        "StringLikeish": { "privateca:CommonName": "*.example.internal" }',
      '      }',
      '    }',
      '  ]',
      '}',
    ];
    const editor = page.getByLabel("Policy document (JSON, as IAM's)");
    await editor.fill(lines.join('\n'));
    await page.getByRole('button', { name: 'Create policy' }).click();
    const errors = page.locator('#policy-document-error li');
    await errors.nth(1).waitFor();
    const shown = await errors.allTextContents();
    // The API names each problem by JSON pointer; the editor puts it at the line a person wrote.
    const direct = await api('POST', '/v1/policies', { name: 'console-issuer-direct', document: JSON.parse(lines.join('\n')) });
    expect(direct.status).toBe(400);
    expect(direct.body.code).toBe('invalid_policy');
    const pointers = (direct.body.errors as { path: string }[]).map((e) => e.path).sort();
    expect(pointers).toEqual(['/Statement/0/Condition/StringLikeish', '/Statement/0/Effect']);
    expect(shown.find((t) => t.includes('/Statement/0/Effect'))).toMatch(/^Line 6\b/);
    expect(shown.find((t) => t.includes('/Statement/0/Condition/StringLikeish'))).toMatch(/^Line 10\b/);
    await expect(page.locator('.gutter li.bad').allTextContents()).resolves.toEqual(['6', '10']);
    await shot(page, 'policy-editor');
    // "Line 10" selects that line in the editor.
    await errors.filter({ hasText: 'StringLikeish' }).getByRole('button').click();
    const selected = await editor.evaluate((el: HTMLTextAreaElement) => el.value.slice(el.selectionStart, el.selectionEnd));
    expect(selected).toBe(lines[9]);
    expect((await api('GET', '/v1/policies')).body.items.some((p: { name: string }) => p.name === 'console-issuer')).toBe(false);

    // A trailing comma is not JSON: said at its line, before anything is sent.
    const trailing = [...lines];
    trailing[6] = '      "Action": "privateca:IssueCertificate",,';
    await editor.fill(trailing.join('\n'));
    await page.getByRole('button', { name: 'Create policy' }).click();
    await errors.filter({ hasText: 'This is not JSON' }).waitFor();
    expect(await errors.first().textContent()).toMatch(/^Line 7\b/);

    const fixed = [...lines];
    fixed[5] = '      "Effect": "Allow",';
    fixed[9] = '        "StringLike": { "privateca:CommonName": "*.example.internal" }';
    await editor.fill(fixed.join('\n'));
    await page.getByRole('button', { name: 'Create policy' }).click();
    await page.getByRole('heading', { name: 'console-issuer', level: 1 }).waitFor();
    const policy = (await api('GET', '/v1/policies')).body.items.find((p: { name: string }) => p.name === 'console-issuer');
    expect(policy.document).toEqual(JSON.parse(fixed.join('\n')));
    await context.close();
  });

  it('ok/"would this be allowed?" evaluates the edited principal\'s policies (POST /v1/authorize with principalId), with the failing condition named', async () => {
    const policy = (await api('GET', '/v1/policies')).body.items.find((p: { name: string }) => p.name === 'console-issuer');
    expect(policy).toBeDefined();
    const issuer = await api('POST', '/v1/principals', { name: 'console-web-issuer', policies: [policy.id] });
    expect(issuer.status).toBe(201);
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`${svc.url}/console/#/principals/${issuer.body.id}`);
    await page.getByRole('heading', { name: 'console-web-issuer', level: 1 }).waitFor();
    await expect(page.getByLabel('console-issuer').isChecked()).resolves.toBe(true);
    await page.getByRole('combobox', { name: 'Action', exact: true }).selectOption('IssueCertificate');
    await page.getByLabel('Resource', { exact: true }).fill('ca/*');
    const context_ = page.getByLabel(/^Condition keys/);
    await context_.fill('privateca:CommonName=web.example.internal');
    await page.getByRole('button', { name: 'Check' }).click();
    await expect(page.getByTestId('simulation').textContent()).resolves.toMatch(/^Allowed.*WebOnly/);
    await context_.fill('privateca:CommonName=web.other.internal');
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByTestId('simulation').filter({ hasText: 'Denied' }).waitFor();
    const denied = (await page.getByTestId('simulation').textContent())!;
    expect(denied).toContain('privateca:CommonName');
    expect(denied).toContain('web.other.internal');
    // The panel says what the API says for that principal.
    const direct = await api('POST', '/v1/authorize', { principalId: issuer.body.id, checks: [{ action: 'privateca:IssueCertificate', resource: 'ca/*', context: { 'privateca:CommonName': 'web.other.internal' } }] });
    expect(direct.body.results[0].allowed).toBe(false);
    expect(denied).toContain(direct.body.results[0].detail);
    await page.getByRole('combobox', { name: 'Action', exact: true }).selectOption('DeleteCertificateAuthority');
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByTestId('simulation').filter({ hasText: 'No Allow statement matches' }).waitFor();
    await context.close();
  });

  it('ok/the dashboard: CAs and certificates by status and the issuance charts agree with the API; what expires within 30 days is listed', async () => {
    const ca = await api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Console Dashboard Root' }, keyAlgorithm: 'EC_prime256v1', revocation: { crl: { enabled: true }, ocsp: { enabled: true } } });
    expect(ca.status).toBe(201);
    const soon = await api('POST', `/v1/cas/${ca.body.id}/certificates`, { csr: pki.csr({ subject: '/CN=soon.example.internal' }).csr, validity: { days: 3 } });
    const later = await api('POST', `/v1/cas/${ca.body.id}/certificates`, { csr: pki.csr({ subject: '/CN=later.example.internal' }).csr, validity: { days: 200 } });
    const revoked = await api('POST', `/v1/cas/${ca.body.id}/certificates`, { csr: pki.csr({ subject: '/CN=gone.example.internal' }).csr, validity: { days: 5 } });
    expect((await api('POST', `/v1/cas/${ca.body.id}/certificates/${revoked.body.serial}/revoke`, { reason: 'SUPERSEDED' })).status).toBe(200);

    const { context, page } = await newPage();
    await signIn(page);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await page.getByTestId('certificate-tiles').waitFor();
    // The figures are the sums of every CA's statistics, as the API gives them.
    const cas = (await api('GET', '/v1/cas?limit=1000')).body.items as { id: string; status: string }[];
    const stats = await Promise.all(cas.filter((c) => c.status !== 'PENDING_CERTIFICATE').map(async (c) => (await api('GET', `/v1/cas/${c.id}/certificate-stats`)).body));
    const sum = (k: string) => stats.reduce((s, x) => s + x[k], 0);
    const tiles = (await page.getByTestId('certificate-tiles').locator('.n').allTextContents()).map((t) => Number(t.replace(/,/g, '')));
    expect(tiles).toEqual([sum('issued'), sum('revoked'), sum('expired'), sum('expiringWithin30Days')]);
    expect(sum('revoked')).toBeGreaterThanOrEqual(2);
    const caTiles = await page.getByTestId('ca-tiles').textContent();
    expect(caTiles).toContain(`${cas.length} in all`);
    expect(caTiles).toContain(`${cas.filter((c) => c.status === 'ACTIVE').length} ACTIVE`);
    // The charts: this hour's bar holds at least the three just issued; the 30 days add up to every issuance counted.
    const totalDaily = stats.reduce((s, x) => s + x.daily.reduce((a: number, b: { count: number }) => a + b.count, 0), 0);
    await expect(page.locator('#chart-daily-caption').textContent()).resolves.toContain(`${totalDaily.toLocaleString('en')} in all`);
    const bars = await page.locator('#chart-hourly-caption').locator('xpath=..').locator('rect.bar title').allTextContents();
    expect(bars).toHaveLength(24);
    const thisHour = stats.reduce((s, x) => s + x.hourly.at(-1).count, 0);
    expect(thisHour).toBeGreaterThanOrEqual(3);
    expect(bars.at(-1)).toContain(`: ${thisHour.toLocaleString('en')}`);
    // Expiring: the 3-day certificate is listed, the 200-day and the revoked ones are not.
    const expiring = page.locator('section[aria-labelledby="dash-expiring"] tbody tr');
    await expect(expiring.filter({ hasText: soon.body.serial }).count()).resolves.toBe(1);
    await expect(expiring.filter({ hasText: later.body.serial }).count()).resolves.toBe(0);
    await expect(expiring.filter({ hasText: revoked.body.serial }).count()).resolves.toBe(0);
    await shot(page, 'dashboard');
    await context.close();
  });

  it('ok/a CA page shows its OCSP responder once one answered, and makes an audit report whose signature openssl verifies', async () => {
    const cas = (await api('GET', '/v1/cas?limit=1000')).body.items as { id: string; subject: { commonName: string } }[];
    const ca = cas.find((c) => c.subject.commonName === 'Console Dashboard Root')!;
    expect(ca).toBeDefined();
    const caPem = (await api('GET', `/v1/cas/${ca.id}/certificate`)).body.certificate as string;
    const leaf = (await api('GET', `/v1/cas/${ca.id}/certificates?limit=1&include=certificate`)).body.items[0].certificate as string;
    const { context, page } = await newPage();
    await signIn(page);
    await page.getByRole('link', { name: 'Console Dashboard Root' }).click();
    await page.getByRole('heading', { name: 'OCSP' }).waitFor();
    await page.getByText('none yet: the first OCSP request makes one').waitFor();
    // An OCSP request from openssl; the page then shows the responder that signed the answer.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'privateca-console-ocsp-'));
    try {
      writeFileSync(path.join(dir, 'ca.pem'), caPem);
      writeFileSync(path.join(dir, 'leaf.pem'), leaf);
      const answer = pki.ok(['ocsp', '-issuer', path.join(dir, 'ca.pem'), '-cert', path.join(dir, 'leaf.pem'), '-url', `${svc.url}/ocsp/${ca.id}`, '-no_nonce', '-resp_text', '-noverify']);
      expect(answer).toMatch(/Cert Status: (good|revoked)/);
      const ocsp = (await api('GET', `/v1/cas/${ca.id}/ocsp`)).body;
      expect(ocsp.responder).not.toBeNull();
      await page.reload();
      await page.getByRole('heading', { name: 'OCSP' }).waitFor();
      const responderFact = page.locator('dl.facts dt', { hasText: /^Responder certificate$/ }).locator('xpath=following-sibling::dd[1]');
      await responderFact.filter({ hasText: ocsp.responder.serial }).waitFor();
      expect(answer.toLowerCase().replace(/:/g, '')).toContain(ocsp.responder.serial.toLowerCase().replace(/^0+/, ''));
      expect(ocsp.url).toBe(`${svc.url}/ocsp/${ca.id}`);
      await expect(page.locator('section[aria-labelledby="ocsp-heading"]').textContent()).resolves.toContain(ocsp.url);

      await page.getByLabel('Format').selectOption('CSV');
      await page.getByRole('button', { name: 'Create audit report' }).click();
      await page.getByRole('button', { name: 'Download signature' }).waitFor({ timeout: 30_000 });
      const save = async (button: string, name: string) => {
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button }).click()]);
        const file = path.join(dir, name);
        await download.saveAs(file);
        return file;
      };
      const report = await save('Download report', 'report.csv');
      const signature = await save('Download signature', 'report.sig');
      const pub = await save('Download audit public key', 'audit.pub');
      expect(pki.ok(['dgst', '-sha256', '-verify', pub, '-signature', signature, report])).toContain('Verified OK');
      const csv = pki.ok(['x509', '-noout', '-serial'], leaf).trim().split('=')[1]!.toLowerCase();
      expect(readFileSync(report, 'utf8').toLowerCase()).toContain(csv.replace(/^0+/, ''));
      // The key openssl used is the service's audit key.
      expect(readFileSync(pub, 'utf8')).toBe((await fetch(`${svc.url}/v1/audit/public-key`).then((r) => r.text())));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await context.close();
  });

  it('ok/usable at 390 px wide: the dashboard, the CA list, a CA page, a principal and the policy editor render without sideways scrolling, every control has a name, and focus is visible', async () => {
    const { context, page } = await newPage({ width: 390, height: 844 });
    await signIn(page);
    await shot(page, 'ca-list-390');
    const principals = (await api('GET', '/v1/principals')).body.items as { id: string; name: string }[];
    const cas = (await api('GET', '/v1/cas?limit=1000')).body.items as { id: string }[];
    const pages: [string, string][] = [
      ['#/cas', 'Certificate authorities'],
      ['#/', 'Dashboard'],
      [`#/cas/${cas[0]!.id}`, ''],
      [`#/principals/${principals.find((p) => p.name === 'console-deployer')!.id}`, 'console-deployer'],
      ['#/policies/new', 'New policy'],
    ];
    for (const [hash, heading] of pages) {
      await page.goto(`${svc.url}/console/${hash}`);
      if (heading) await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      else await page.getByRole('heading', { name: 'Certificates' }).waitFor();
      await page.waitForFunction(() => !document.querySelector('.loading'));
      // No control without a name: every input, select and textarea has a label, every button a name.
      const unnamed = await page.evaluate(() =>
        Array.from(document.querySelectorAll('input, select, textarea, button, a[href]'))
          .filter((el) => {
            const e = el as HTMLInputElement;
            const labelled = (e.labels && e.labels.length > 0) || e.getAttribute('aria-label') || (el.textContent ?? '').trim();
            return !labelled;
          })
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      expect(unnamed, hash).toEqual([]);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, hash).toBeLessThanOrEqual(390);
    }
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return { tag: el.tagName, outline: getComputedStyle(el).outlineStyle };
    });
    expect(focused.tag).not.toBe('BODY');
    expect(focused.outline).not.toBe('none');
    await context.close();
  });

  it('ok/no request of the console went anywhere but the service, and Chromium reported no CSP violation or script error', () => {
    expect(requests.length).toBeGreaterThan(20);
    const elsewhere = requests.filter((u) => !services.has(new URL(u).origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
    expect(services.size).toBe(2);
    expect(elsewhere).toEqual([]);
    // The console calls the public API only: /v1 routes and its own files.
    const paths = new Set(requests.map(generic));
    for (const p of paths) expect(p, p).toMatch(/^\/(v1\/|console\/)/);
    expect(problems).toEqual([]);
    // The only refusals: the wrong certificate, the broken CSR and the invalid policy sent on purpose,
    // the action denied on purpose, and the CRL status of a CA that has published none yet (the page says so).
    const expected = new Set(['400 POST /v1/cas/{id}/certificate', '400 POST /v1/cas/{id}/certificates', '403 PATCH /v1/cas/{id}', '404 GET /v1/cas/{id}/crl', '400 POST /v1/policies']);
    expect([...refusals].filter((r) => !expected.has(r))).toEqual([]);
    expect(refusals.has('400 POST /v1/cas/{id}/certificate') && refusals.has('403 PATCH /v1/cas/{id}')).toBe(true);
  });
});
