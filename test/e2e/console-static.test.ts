import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, consoleFiles } from '../../api/console-static.ts';
import { errorHandler } from '../../api/errors.ts';
import { CaError } from '../../src/domain/ca-error.ts';

/* How /console is served, built or not: headers, caching, the redirect, and what is refused. */

const dir = mkdtempSync(path.join(os.tmpdir(), 'privateca-console-static-'));
mkdirSync(path.join(dir, 'assets'));
writeFileSync(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="/console/assets/app-1.js"></script>');
writeFileSync(path.join(dir, 'assets/app-1.js'), 'console.log(1)');

async function serve(consoleDir: string | undefined) {
  const app = express();
  app.use(consoleFiles(consoleDir));
  app.use((req, _res, next) => next(new CaError('not_found', 'not_found', `no route ${req.method} ${req.path}`)));
  const onError = errorHandler(pino({ level: 'silent' }), async () => {});
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => onError(err, req as never, res as never));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

const built = await serve(dir);
const unbuilt = await serve(undefined);
afterAll(() => {
  built.close();
  unbuilt.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('/console', () => {
  it('ok/index.html and hashed assets under the CSP; assets cached for a year, the page revalidated', async () => {
    const page = await fetch(`${built.url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const asset = await fetch(`${built.url}/console/assets/app-1.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(asset.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    const bare = await fetch(`${built.url}/console`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([301, '/console/']);
  });

  it('fail/an unknown file, a path outside the directory, a POST: refused, nothing else served', async () => {
    expect((await fetch(`${built.url}/console/assets/nope.js`)).status).toBe(404);
    const traversal = await fetch(`${built.url}/console/..%2f..%2fetc%2fpasswd`);
    expect([403, 404]).toContain(traversal.status);
    expect(await traversal.text()).not.toContain('root:');
    expect((await fetch(`${built.url}/console/`, { method: 'POST' })).status).toBe(404);
  });

  it('fail/without a build: 404 console_not_built, as problem+json', async () => {
    const r = await fetch(`${unbuilt.url}/console/`);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect((await r.json()).code).toBe('console_not_built');
  });
});
