/** One thing the service needs in order to serve: the database, a key store, not shutting down. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<{ ready: boolean; reason?: string }>;
}

/** What GET /readyz answers: 200 when every check is ready, else 503 naming those that are not. */
export interface Readiness {
  status: 'ready' | 'not_ready';
  notReady: string[];
  checks: Record<string, { ready: boolean; reason?: string }>;
}

/**
 * Runs the checks together, each bounded by timeoutMs (a check that does not answer is not ready),
 * and reuses the answer for cacheMs, so that load balancers polling every node cost the database and
 * the HSM next to nothing.
 */
export function readiness(checks: ReadinessCheck[], options: { timeoutMs?: number; cacheMs?: number } = {}): () => Promise<Readiness> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const cacheMs = options.cacheMs ?? 1_000;
  let cached: { at: number; answer: Promise<Readiness> } | undefined;
  const run = async (): Promise<Readiness> => {
    const results = await Promise.all(
      checks.map(async (c) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<{ ready: boolean; reason?: string }>((resolve) => {
          timer = setTimeout(() => resolve({ ready: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
        });
        try {
          return [c.name, await Promise.race([c.check().catch(() => ({ ready: false, reason: 'the check failed' })), timeout])] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const notReady = results.filter(([, r]) => !r.ready).map(([n]) => n);
    return { status: notReady.length ? 'not_ready' : 'ready', notReady, checks: Object.fromEntries(results) };
  };
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at >= cacheMs) cached = { at: now, answer: run() };
    return cached.answer;
  };
}
