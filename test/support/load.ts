import http from 'node:http';

/** What a run of the issuing load saw: every answer by status, every socket error by code, every 201. */
export interface LoadResult {
  byStatus: Record<number, number>;
  /**
   * Socket-level failures by code: ECONNREFUSED once nothing listens, ECONNRESET for a reset or a
   * hang-up, "(new connection)" added when the connection had not served a request before.
   */
  errors: Record<string, number>;
  /** The certificates acknowledged with a 201: serial and PEM, as the client got them. */
  acknowledged: { serial: string; certificate: string }[];
  /** The slowest answer or failure, in ms (a hung request shows here). */
  maxMs: number;
  /** Problem codes of the 5xx answers, with Retry-After when it was sent. */
  problems: { status: number; code?: string; retryAfter?: string }[];
}

/**
 * `concurrency` clients on kept-alive connections, each issuing one certificate after another from
 * `csr` until stop(). A client whose connection is refused pauses 20 ms and tries again (a node
 * that stopped listening); every other failure is counted as it is.
 */
export function issueLoad(options: { url: string; token: string; caId: string; csr: string; concurrency: number }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const target = new URL(`/v1/cas/${options.caId}/certificates`, options.url);
  const body = JSON.stringify({ csr: options.csr, validity: { days: 1 } });
  const result: LoadResult = { byStatus: {}, errors: {}, acknowledged: [], maxMs: 0, problems: [] };
  let running = true;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = Date.now();
      const done = () => {
        result.maxMs = Math.max(result.maxMs, Date.now() - t0);
        resolve();
      };
      const req = http.request(
        target,
        { method: 'POST', agent, headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            result.byStatus[status] = (result.byStatus[status] ?? 0) + 1;
            const text = Buffer.concat(chunks).toString('utf8');
            if (status === 201) {
              const b = JSON.parse(text) as { serial: string; certificate: string };
              result.acknowledged.push({ serial: b.serial, certificate: b.certificate });
            } else if (status >= 500) {
              let code: string | undefined;
              try {
                code = (JSON.parse(text) as { code?: string }).code;
              } catch {
                code = undefined;
              }
              result.problems.push({ status, code, retryAfter: res.headers['retry-after'] });
            }
            done();
          });
          res.on('error', () => {
            result.errors.ECONNRESET = (result.errors.ECONNRESET ?? 0) + 1;
            done();
          });
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        // A reset of a connection that had served a request before (kept alive) is the server's
        // fault; one of a connection just opened can be the listening socket closing under it.
        const code = (e.code ?? e.message) + (req.reusedSocket || e.code === 'ECONNREFUSED' ? '' : ' (new connection)');
        result.errors[code] = (result.errors[code] ?? 0) + 1;
        if (code === 'ECONNREFUSED') setTimeout(done, 20);
        else done();
      });
      req.end(body);
    });
  const clients = Array.from({ length: options.concurrency }, async () => {
    while (running) await one();
  });
  return {
    result,
    /** How many 201s so far. */
    get issued() {
      return result.acknowledged.length;
    },
    async stop(): Promise<LoadResult> {
      running = false;
      await Promise.all(clients);
      agent.destroy();
      return result;
    },
  };
}
