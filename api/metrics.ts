import cluster from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the scrape reads from the rest of the service when it is asked (never on the request path). */
export interface MetricSources {
  crlSummaries(): Promise<{ caId: string; oldestThisUpdate: Date; bytes: number; entries: number }[]>;
  unsealedAuditEvents(): Promise<number>;
  poolStats?(): { total: number; idle: number; waiting: number };
}

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The service's Prometheus metrics (GET /metrics). Counters and histograms are updated where things
 * happen; gauges that need the database (CRL age and size, audit events waiting) are read at scrape
 * time, and a scrape that cannot read them leaves them out rather than failing. In a cluster each
 * worker keeps its own and the primary adds them up (`aggregator` says how: a CRL's age is the same
 * seen from every worker, so it is the max, not the sum).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly issuance: Histogram;
  private readonly issued: Counter<'ca'>;
  private readonly revoked: Counter<'ca' | 'reason'>;
  private readonly keyStoreLatency: Histogram<'store' | 'operation'>;
  private readonly keyStoreErrors: Counter<'store' | 'operation'>;
  private readonly ocspAnswers: Counter<'status' | 'cached'>;
  #ocspCache?: () => { entries: number; bytes: number };

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'privateca_' });
    this.requests = new Counter({ name: 'privateca_http_requests_total', help: 'HTTP requests answered, by route template and status', labelNames: ['method', 'route', 'status'], registers });
    this.issuance = new Histogram({ name: 'privateca_issuance_duration_seconds', help: 'Time from an issuance request to its 201', buckets: SECONDS, registers });
    this.issued = new Counter({ name: 'privateca_certificates_issued_total', help: 'Certificates issued, by CA', labelNames: ['ca'], registers });
    this.revoked = new Counter({ name: 'privateca_certificates_revoked_total', help: 'Certificates revoked, by CA and reason', labelNames: ['ca', 'reason'], registers });
    this.keyStoreLatency = new Histogram({ name: 'privateca_key_store_operation_duration_seconds', help: 'Key store signing latency, by store type', labelNames: ['store', 'operation'], buckets: SECONDS, registers });
    this.ocspAnswers = new Counter({ name: 'privateca_ocsp_responses_total', help: 'OCSP answers, by certificate status (of the first certificate asked) or OCSP error status, and whether a pre-signed answer was reused', labelNames: ['status', 'cached'], registers });
    const cacheStats = () => this.#ocspCache?.();
    const cacheGauge = (name: string, help: string, pick: (s: { entries: number; bytes: number }) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const stats = cacheStats();
          if (stats) this.set(pick(stats));
        },
      });
    cacheGauge('privateca_ocsp_cache_entries', 'Pre-signed OCSP answers kept', (s) => s.entries);
    cacheGauge('privateca_ocsp_cache_bytes', 'Memory the pre-signed OCSP answers take (estimated)', (s) => s.bytes);
    this.keyStoreErrors = new Counter({ name: 'privateca_key_store_errors_total', help: 'Key store operations that failed, by store type', labelNames: ['store', 'operation'], registers });
    // One query per scrape for the three CRL gauges: the registry reads them side by side, so each
    // awaits the same answer (reused for a second); a database that is down leaves them out.
    let summaries: { at: number; rows: ReturnType<MetricSources['crlSummaries']> } | undefined;
    const crl = () => {
      if (!summaries || Date.now() - summaries.at > 1_000) summaries = { at: Date.now(), rows: sources.crlSummaries() };
      return summaries.rows.catch(() => []);
    };
    const crlGauge = (name: string, help: string, value: (s: Awaited<ReturnType<MetricSources['crlSummaries']>>[number], now: number) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['ca'],
        aggregator: 'max',
        registers,
        async collect() {
          this.reset();
          const now = Date.now();
          for (const s of await crl()) this.set({ ca: s.caId }, value(s, now));
        },
      });
    crlGauge('privateca_crl_age_seconds', "Age of the CA's oldest current CRL (over its partitions)", (s, now) => Math.max(0, (now - s.oldestThisUpdate.getTime()) / 1000));
    crlGauge('privateca_crl_size_bytes', "Size of the CA's current CRLs together", (s) => s.bytes);
    crlGauge('privateca_crl_entries', "Entries in the CA's current CRLs together", (s) => s.entries);
    new Gauge({
      name: 'privateca_audit_events_unsealed',
      help: 'Audit events committed but not yet sealed into the chain',
      aggregator: 'max',
      registers,
      async collect() {
        try {
          this.set(await sources.unsealedAuditEvents());
        } catch {
          this.reset();
        }
      },
    });
    const { poolStats } = sources;
    if (poolStats) {
      new Gauge({
        name: 'privateca_db_pool_connections',
        help: 'Database connections of the pool, by state',
        labelNames: ['state'],
        registers,
        collect() {
          const s = poolStats();
          this.set({ state: 'idle' }, s.idle);
          this.set({ state: 'busy' }, s.total - s.idle);
        },
      });
      new Gauge({
        name: 'privateca_db_pool_waiting',
        help: 'Requests waiting for a database connection',
        registers,
        collect() {
          this.set(poolStats().waiting);
        },
      });
    }
  }

  /** A request answered; `route` is the route template (never the raw path: ids would explode the label set). */
  request(method: string, route: string, status: number): void {
    this.requests.inc({ method, route, status: String(status) });
  }

  certificateIssued(caId: string, seconds: number): void {
    this.issued.inc({ ca: caId });
    this.issuance.observe(seconds);
  }

  certificateRevoked(caId: string, reason: string): void {
    this.revoked.inc({ ca: caId, reason });
  }

  keyStoreOperation(store: string, operation: string, seconds: number, ok: boolean): void {
    this.keyStoreLatency.observe({ store, operation }, seconds);
    if (!ok) this.keyStoreErrors.inc({ store, operation });
  }

  /** One OCSP answer given. */
  ocspAnswer(status: string, cached: boolean): void {
    this.ocspAnswers.inc({ status, cached: cached ? 'true' : 'false' });
  }

  /** Where the OCSP cache gauges read from. */
  watchOcspCache(stats: () => { entries: number; bytes: number }): void {
    this.#ocspCache = stats;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

const ASK = 'privateca:metrics';

/**
 * In the primary of a cluster: answers a worker's request for the metrics of every worker added up
 * (prom-client's AggregatorRegistry asks each worker for its own over IPC).
 */
export function aggregateWorkerMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, m: { type?: string; id?: number }) => {
    if (m?.type !== ASK) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: ASK, id: m.id, text }),
      (e: Error) => worker.send({ type: ASK, id: m.id, error: e.message }),
    );
  });
}

/**
 * In a cluster worker: lets the primary read this worker's metrics, and returns what GET /metrics
 * answers: every worker's metrics, from the primary, whichever worker the scrape reached.
 */
export function clusterMetricsText(metrics: Metrics): () => Promise<string> {
  AggregatorRegistry.setRegistries([metrics.registry]);
  new AggregatorRegistry();
  let next = 0;
  const waiting = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  process.on('message', (m: { type?: string; id?: number; text?: string; error?: string }) => {
    if (m?.type !== ASK || m.id === undefined) return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w?.reject(new Error(m.error));
    else w?.resolve(m.text ?? '');
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('the primary did not answer for the metrics within 5 s'));
      }, 5_000);
      waiting.set(id, {
        resolve: (t) => (clearTimeout(timer), resolve(t)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      process.send!({ type: ASK, id });
    });
}
