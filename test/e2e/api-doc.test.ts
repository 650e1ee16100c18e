import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/service.ts';

/*
 * docs/api.md is the contract in prose, the OpenAPI document the same in machine-readable form:
 * every route of one must be in the other.
 */
describe('docs/api.md and the OpenAPI document', () => {
  let svc: TestService;
  let doc: { paths: Record<string, Record<string, unknown>> };
  const prose = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');

  beforeAll(async () => {
    svc = await startService('pg');
    doc = (await svc.api('GET', '/openapi.json')).body;
  });
  afterAll(async () => {
    await svc?.close();
  });

  const documented = () =>
    Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();

  it('ok/docs/api.md describes every route of the OpenAPI document', () => {
    for (const route of documented()) expect(prose, `docs/api.md does not mention \`${route}\``).toContain(`\`${route}`);
  });

  it('ok/every route docs/api.md names is served', () => {
    const named = [...prose.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^`?\s]*)/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(named.length).toBeGreaterThan(10);
    const served = new Set(documented());
    for (const route of named) expect(served.has(route), `docs/api.md names \`${route}\`, which the service does not serve`).toBe(true);
  });

  it('ok/no link leaves the repository', () => {
    expect(prose).not.toMatch(/\.\.\/shared|API\.md|DESIGN\.md|FACTS\.md/);
  });
});
