import 'reflect-metadata';
import cluster from 'node:cluster';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import cron from 'node-cron';
import { pino, type Logger } from 'pino';
import { createApp, createRequestListener, routes } from '../api/app.ts';
import { aggregateWorkerMetrics, clusterMetricsText, Metrics } from '../api/metrics.ts';
import { listen, probePort, startingListener, type ServiceServer } from '../api/server.ts';
import { instrumentKeyStore } from '../hsm-adapters/instrumented.ts';
import { isDatabaseUnavailable } from './domain/ca-error.ts';
import { readiness } from './services/readiness.ts';
import { RateLimiter } from './services/rate-limiter.ts';
import type { Route } from '../api/route.ts';
import { Authorizer } from '../api/authorization.ts';
import { CrlScheduler } from '../crl/crl-scheduler.ts';
import { CrlUpdater } from '../crl/crl-updater.ts';
import { CrlTargetQueue } from '../crl/publish-targets.ts';
import { DirectoryPublisher } from '../crl/publishers/directory.ts';
import { S3Publisher } from '../crl/publishers/s3.ts';
import { KEY_STORES } from '../hsm-adapters/index.ts';
import { createKeyStoreRegistry } from '../hsm-adapters/registry.ts';
import { loadConfig, type Config } from './config.ts';
import type { Db, Listener } from './db/db.ts';
import { advisoryJobLock } from './db/job-lock.ts';
import { lockDataDir } from './db/data-dir-lock.ts';
import { migrate } from './db/migrate.ts';
import { createPgDb } from './db/pg-driver.ts';
import { createPgliteDb } from './db/pglite-driver.ts';
import { crlPublicationRepository } from './db/repositories/crl-publication-repository.ts';
import { createRepos } from './db/repositories/index.ts';
import { REVOCATION_CHANNEL, type Repos } from './ports/repositories.ts';
import type { CrlPublisher } from './ports/crl-publisher.ts';
import { systemClock, type Clock } from './ports/clock.ts';
import { SYSTEM_ACTOR } from './services/actor.ts';
import { AuthService } from './services/auth-service.ts';
import { CaContexts } from './services/ca-contexts.ts';
import { CaWatcher } from './services/ca-watcher.ts';
import { AuditKeys } from './services/audit/audit-keys.ts';
import { AuditSealer } from './services/audit/sealer.ts';
import { AuditService } from './services/audit/audit-service.ts';
import { sealedEvents } from './services/audit/verifier.ts';
import { AuditReportService } from './services/audit/report-service.ts';
import { presentAuditEvent, presentCheckpoint } from '../api/presenters.ts';
import { CaService } from './services/ca-service.ts';
import { CertificateService } from './services/certificate-service.ts';
import { PolicyService } from './services/policy-service.ts';
import { PrincipalService } from './services/principal-service.ts';
import { IssuanceService } from './services/issuance-service.ts';
import { RevocationService } from './services/revocation-service.ts';
import { OcspResponder } from '../ocsp/ocsp-responder.ts';
import { ResponderCertificates } from '../ocsp/responder-certificates.ts';

const BOOTSTRAP_LOCK = 0x70636102;
const PURGE_LOCK = 0x70636103;
const AUDIT_KEY_LOCK = 0x70636105;

/** The service's configuration from the environment, with every key store the service knows. */
export const serviceConfig = (env: NodeJS.ProcessEnv = process.env): Config => loadConfig(env, KEY_STORES);

/** Fails fast, before anything is written, on key store settings that cannot work (an unreadable KEK). */
async function checkKeyStores(config: Config): Promise<void> {
  for (const { descriptor, settings } of config.keyStores) await descriptor.check?.(settings);
}

export async function openDatabase(config: Config, poolSize = config.dbPoolSize, logger?: Logger): Promise<Db> {
  if (config.databaseUrl) {
    let since = 0;
    return createPgDb({
      connectionString: config.databaseUrl,
      max: poolSize,
      connectTimeoutMs: config.dbConnectTimeoutMs,
      // Once when an outage starts and once when it ends; the requests meanwhile are 503s, not log lines.
      onAvailability: (available, cause) => {
        if (!available) {
          since = Date.now();
          logger?.error({ error: (cause as Error | undefined)?.message ?? String(cause) }, 'the database cannot be reached; answering 503 database_unavailable until it is back');
        } else logger?.warn({ downMs: Date.now() - since }, 'the database is reachable again');
      },
    });
  }
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const release = await lockDataDir(config.dataDir);
  try {
    const db = await createPgliteDb({ dataDir: path.join(config.dataDir, 'pgdata'), sharedBuffers: config.pgliteSharedBuffers });
    return {
      ...db,
      async close() {
        await db.close();
        await release();
      },
    };
  } catch (e) {
    await release();
    throw e;
  }
}

/**
 * Once per start, before serving: migrations, then the administrator on an empty database. Several
 * nodes may start together; the advisory locks make each step happen once.
 */
export async function prepareDatabase(db: Db, config: Config, logger: Logger, clock: Clock = systemClock): Promise<void> {
  const applied = await migrate(db);
  if (applied.length) logger.info({ applied }, 'migrations applied');
  const auth = new AuthService({ repos: createRepos(db), clock });
  await db.withAdvisoryLock(BOOTSTRAP_LOCK, async () => {
    const token = await auth.bootstrap(config.bootstrapToken);
    if (token === undefined) return;
    if (config.bootstrapToken) {
      logger.info('administrator created with the token from PRIVATECA_BOOTSTRAP_TOKEN');
      return;
    }
    const file = path.join(config.dataDir, 'admin-token');
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    await unlink(file).catch(() => {});
    await writeFile(file, token + '\n', { mode: 0o600, flag: 'wx' });
    logger.info({ file }, 'administrator created; its token is in this file (readable by the owner only)');
  });
}

export interface Node {
  app: ReturnType<typeof createApp>;
  /** What the HTTP server runs: the issuance fast path, then the Express app. */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  cas: CaService;
  issuance: IssuanceService;
  revocation: RevocationService;
  crlUpdater: CrlUpdater;
  sealer: AuditSealer;
  /** Every HTTP route the app serves (what the OpenAPI document describes). */
  routes: readonly Route[];
  close(): Promise<void>;
}

/** Wires one service node: key stores, services and the HTTP app over an open database. */
export async function compose(options: {
  db: Db;
  config: Config;
  logger: Logger;
  clock?: Clock;
  metrics?: Metrics;
  /** What GET /metrics answers when it is not this process's own metrics (a cluster worker: all workers'). */
  metricsText?: () => Promise<string>;
  /** Whether the node is shutting down (readyz then answers 503). */
  draining?: () => boolean;
}): Promise<Node> {
  const { db, config, logger } = options;
  const clock = options.clock ?? systemClock;
  const repos = createRepos(db);
  const metrics = options.metrics ?? new Metrics(metricSources(db, repos));
  const stores = [];
  for (const { descriptor, settings } of config.keyStores) {
    const store = await descriptor.create(settings, { softwareKeys: repos.softwareKeys, clock });
    stores.push(instrumentKeyStore(store, (type, op, s, ok) => metrics.keyStoreOperation(type, op, s, ok)));
  }
  const keyStores = createKeyStoreRegistry(config.knownKeyStores, stores);
  const contexts = new CaContexts({ cas: repos.cas, keyStores, clock, crlPartitionSize: config.crlPartitionSize });
  const cas = new CaService({ repos, keyStores, clock });
  const issuance = new IssuanceService({ repos, contexts, clock, publicUrl: config.publicUrl });
  const certificates = new CertificateService({ certificates: repos.certificates, contexts, clock });
  const revocation = new RevocationService({ repos, clock });
  const s3 = config.crlS3 ? new S3Publisher(config.crlS3) : undefined;
  const publishers: CrlPublisher[] = [...(config.crlDir ? [new DirectoryPublisher({ dir: config.crlDir })] : []), ...(s3 ? [s3] : [])];
  const crlPublications = crlPublicationRepository(db);
  const crlTargets = new CrlTargetQueue({
    publishers,
    status: crlPublications,
    logger,
    clock,
    // Another node made a newer CRL meanwhile: that node publishes it, this one skips the older.
    superseded: async (f) => ((await repos.crls.latestInfo(f.caId, f.partition))?.crlNumber ?? 0n) > f.crlNumber,
  });
  const crlUpdater = new CrlUpdater({
    repos,
    signing: contexts,
    clock,
    lock: advisoryJobLock(db),
    publicUrl: config.publicUrl,
    crlPartitionSize: config.crlPartitionSize,
    // Without extra targets, a CRL is never joined into one buffer.
    targets: publishers.length ? crlTargets : undefined,
  });
  const crlScheduler = new CrlScheduler({ updater: crlUpdater, logger });
  // A database outage is logged by the driver, once: background jobs do not repeat it every second.
  const logFailure = (message: string, level: 'warn' | 'error' = 'error') => (e: unknown) => {
    if (!isDatabaseUnavailable(e)) logger[level]({ err: e }, message);
  };
  const responders = new ResponderCertificates({ repos, keyStores, issuance, lock: advisoryJobLock(db), clock, logger });
  let revocationFeed: Listener | undefined;
  const ocsp = new OcspResponder({
    contexts,
    certificates: repos.certificates,
    responders,
    clock,
    logger,
    cacheBytes: config.ocspCacheBytes,
    // Without a feed (PGlite: one process) every revocation is this process's own.
    feedUp: () => revocationFeed?.listening() ?? true,
  });
  responders.onChange((caId) => ocsp.reset(caId));
  metrics.watchOcspCache(() => ({ entries: ocsp.cache.size, bytes: ocsp.cache.bytes }));
  // Revocations made on other nodes (PostgreSQL NOTIFY at their commit).
  revocationFeed = await db.listen?.(REVOCATION_CHANNEL, {
    onMessage: (payload) => {
      const [caId, serial] = payload.split(':');
      if (caId && serial) ocsp.revoked(caId, serial);
    },
    onReset: () => ocsp.reset(),
  });
  // A CA that changed (disabled, deleted, OCSP settings, a new certificate): its answers are made afresh.
  const ocspChanged = (caId: string) => {
    responders.forget(caId);
    ocsp.reset(caId);
  };
  const watcher = new CaWatcher({ cas: repos.cas, onError: logFailure('reading CA changes made on other nodes failed', 'warn') });
  cas.onChange((ca) => {
    watcher.noteLocal(ca);
    contexts.invalidate(ca.id);
    ocspChanged(ca.id);
    crlScheduler.caChanged(ca);
  });
  // Changes made on other nodes: status, tags (ResourceTag conditions), CRL settings.
  watcher.onChange((ca) => {
    contexts.invalidate(ca.id);
    ocspChanged(ca.id);
    crlScheduler.caChanged(ca, { publishNow: false });
  });
  watcher.onRemoved((id) => {
    contexts.invalidate(id);
    ocspChanged(id);
    crlScheduler.removed(id);
  });
  revocation.onRevoked((caId, cert) => {
    // Before the revoke's 200 is sent: this node never answers good for it again.
    ocsp.revoked(caId, cert.serial);
    metrics.certificateRevoked(caId, cert.revocationReason ?? 'unspecified');
    crlScheduler.revoked(caId);
  });
  contexts.onPartitionOpened((caId) => crlScheduler.partitionOpened(caId));
  await watcher.start();
  const auth = new AuthService({ repos, clock });
  const principals = new PrincipalService({ repos, clock });
  const policies = new PolicyService({ repos, clock });
  // A change made on this node takes effect here at once; other nodes notice within AuthService's cache time.
  principals.onChange(() => auth.invalidate());
  policies.onChange(() => auth.invalidate());
  const findCa = (id: string) => repos.cas.get(id);
  const auditKeys = new AuditKeys({ audit: repos.audit, keyStores, storeType: config.auditKeyStore, clock });
  await db.withAdvisoryLock(AUDIT_KEY_LOCK, () => auditKeys.ensure());
  const audit = new AuditService({ repos, keys: auditKeys, clock });
  const sealer = new AuditSealer({ audit: repos.audit, lock: advisoryJobLock(db), keys: auditKeys, clock, onError: logFailure('sealing audit events failed') });
  if (config.auditSealer) sealer.start();
  // Reports are copied into the CRLs' bucket, as AWS Private CA does (audit-report/{caId}/…).
  const reportStore = config.crlS3 ? new S3Publisher({ ...config.crlS3, prefix: '' }) : undefined;
  const reports = new AuditReportService({
    repos,
    keys: auditKeys,
    clock,
    objectStore: reportStore,
    onError: (e, r) => logger.error({ err: e, caId: r.caId, reportId: r.id }, 'making an audit report failed'),
  });
  const authz = new Authorizer({ clock, cas: findCa });
  const deps = {
    logger,
    clock,
    repos,
    auth,
    cas,
    certificates,
    issuance,
    revocation,
    principals,
    policies,
    contexts,
    authz,
    findCa,
    audit,
    auditKeys,
    reports,
    crls: repos.crls,
    crlUpdater,
    crlPublications,
    ocsp,
    ocspResponders: repos.ocspResponders,
    publicUrl: config.publicUrl,
    keyStoreTypes: config.knownKeyStores.map((d) => d.type),
    metrics,
    rateLimiter: new RateLimiter(repos.rateBuckets),
    // The build's console/ beside its src/ (dist/console for dist/src/main.js); none when run from sources.
    consoleDir: fileURLToPath(new URL('../console/', import.meta.url)),
    metricsToken: config.metricsToken,
    metricsText: options.metricsText,
    readiness: readiness([
      { name: 'database', check: async () => ((await repos.ping()) ? { ready: true } : { ready: false, reason: 'the database cannot be reached' }) },
      ...stores.map((s) => ({
        name: `keyStore:${s.type}`,
        check: async () => {
          const r = await s.ready();
          return r.state === 'AVAILABLE' ? { ready: true } : { ready: false, reason: r.reason ?? 'unavailable' };
        },
      })),
      { name: 'shutdown', check: async () => (options.draining?.() ? { ready: false, reason: 'the node is shutting down' } : { ready: true }) },
    ]),
  };
  const appRoutes = routes(deps);
  const app = createApp(deps, appRoutes);
  return {
    app,
    sealer,
    routes: appRoutes,
    listener: createRequestListener(deps, app),
    cas,
    issuance,
    revocation,
    crlUpdater,
    async close() {
      watcher.stop();
      await revocationFeed?.close();
      await crlScheduler.stop();
      await auth.flushUse();
      await reports.stop();
      // Everything committed so far goes into the chain, under a checkpoint, before the key stores close.
      sealer.stop();
      if (config.auditSealer) await sealer.sealNow().catch((e: unknown) => logger.error({ err: e }, 'sealing the audit log at shutdown failed'));
      await crlTargets.idle();
      await s3?.close();
      await reportStore?.close();
      await keyStores.close();
    },
  };
}

/** What the metrics read from the database at scrape time. */
const metricSources = (db: Db, repos: Pick<Repos, 'crls' | 'audit'>) => ({
  crlSummaries: () => repos.crls.summaries(),
  unsealedAuditEvents: () => repos.audit.countUnsealed(),
  poolStats: db.poolStats,
});

/** Worker restarts: at most this many crashes in CRASH_WINDOW_MS before the node gives up. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits, with a pause that doubles up to 10 s, while the database cannot be reached (stopped, still
 * starting): a node started before its database comes up serves once it is there. Anything else (a
 * host name that does not resolve, a refused password, a database that does not exist) is a
 * configuration error and ends the start at once.
 */
async function untilDatabaseAnswers(db: Db, logger: Logger): Promise<void> {
  logger.warn('waiting for the database before serving (readyz answers 503 meanwhile)');
  for (let attempt = 0; ; attempt++) {
    await sleep(Math.min(10_000, 250 * 2 ** attempt));
    if (!(await firstContact(db))) return;
  }
}

/**
 * One query: undefined when it answers, the error when the database cannot be reached now; throws
 * (one line for the operator) when it never will with this configuration.
 */
async function firstContact(db: Db): Promise<unknown> {
  try {
    await db.query('SELECT 1');
    return undefined;
  } catch (e) {
    const cause = (e as Error).cause as { code?: string; message?: string } | undefined;
    if (isDatabaseUnavailable(e) && cause?.code !== 'ENOTFOUND') return e;
    throw new Error(`DATABASE_URL: the database refused this service (${cause?.message ?? (e as Error).message})`);
  }
}

/**
 * Runs one node: HTTP on config.port, and the hourly purge of CAs past their restore window. It
 * opens its database (waiting for it, and listening meanwhile, when it is down), prepares it when
 * `prepare` says so (or waits for the cluster's primary to have), and serves. SIGTERM and SIGINT,
 * once or twice, from a terminal, systemd or the primary, shut it down gracefully (stopNode()).
 */
async function runNode(config: Config, logger: Logger, prepare: true | Promise<void>): Promise<void> {
  // Key stores first: a missing or unreadable KEK must stop the start before anything is written.
  if (prepare === true) await checkKeyStores(config);
  // A port in use ends a single-process start before anything else (a cluster's primary checks it).
  if (prepare === true) await probePort(config.host, config.port);
  let http: ServiceServer | undefined;
  let db: Db | undefined;
  let node: Node | undefined;
  let purge: ReturnType<typeof cron.schedule> | undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) => (stopping ??= stopNode(signal));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  /** Each phase logged: stop accepting and answer what is in flight, stop the jobs and seal the audit chain, close the pool. */
  async function stopNode(signal: string): Promise<void> {
    const start = Date.now();
    // A phase that hangs (a database that went away mid-shutdown) does not keep the process forever.
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 20_000).unref();
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: accepting no new connections, answering requests in flight');
    await purge?.stop();
    const { inFlight, cut } = http ? await http.drain(config.shutdownTimeoutMs) : { inFlight: 0, cut: 0 };
    if (cut) logger.warn({ inFlight, cut, ms: Date.now() - start }, 'shutdown: requests still unanswered at the timeout; their connections were cut');
    else logger.info({ inFlight, ms: Date.now() - start }, 'shutdown: every request answered, every connection closed');
    if (node) {
      await node.close();
      logger.info({ ms: Date.now() - start }, 'shutdown: background jobs stopped, token use and pending batches written, audit chain sealed, key stores closed');
    }
    if (db) {
      await db.close();
      logger.info({ ms: Date.now() - start }, 'shutdown: database connections closed, locks released');
    }
    logger.info({ ms: Date.now() - start }, 'shutdown complete');
    process.exit(process.exitCode ?? 0);
  }

  db = await openDatabase(config, Math.max(2, Math.ceil(config.dbPoolSize / config.workers)), logger);
  // Made before the wait for the database, so that the primary can read this worker's metrics meanwhile.
  const repos = createRepos(db);
  const metrics = new Metrics(metricSources(db, repos));
  const metricsText = cluster.isWorker ? clusterMetricsText(metrics) : undefined;
  // With the database down, listen at once (liveness yes, readiness no, the API 503) and wait for it;
  // otherwise listen only once the node serves, so that a (re)starting worker takes no requests.
  if (await firstContact(db)) {
    http = await listen(config.http, config.host, config.port, startingListener());
    await untilDatabaseAnswers(db, logger);
  }
  if (prepare === true) await prepareDatabase(db, config, logger);
  else await prepare;
  if (stopping) return;
  node = await compose({ db, config, logger, metrics, metricsText, draining: () => stopping !== undefined });
  if (http) http.serve(node.listener);
  else http = await listen(config.http, config.host, config.port, node.listener);
  const database = db;
  const cas = node.cas;
  purge = cron.schedule('17 * * * *', async () => {
    try {
      await database.withAdvisoryLock(PURGE_LOCK, () => cas.purge(SYSTEM_ACTOR));
    } catch (e) {
      if (!isDatabaseUnavailable(e)) logger.error({ err: e }, 'purging deleted CAs failed');
    }
  });
  logger.info({ url: `http://${config.host}:${config.port}`, database: db.driver }, 'privateca listening');
}

/**
 * The audit log's tools, against the configured database (`npm run audit:verify`, `npm run
 * audit:export`): verify checks the chain and the latest checkpoint with the audit key from its key
 * store and exits 1 on damage; export writes the latest checkpoint, then the sealed events in seq
 * order, one JSON object a line (what docs/verify-audit.mjs reads).
 */
export async function auditCommand(command: 'verify' | 'export', config: Config, out: NodeJS.WritableStream): Promise<number> {
  const db = await openDatabase(config, 2);
  try {
    const repos = createRepos(db);
    const stores = [];
    for (const { descriptor, settings } of config.keyStores) stores.push(await descriptor.create(settings, { softwareKeys: repos.softwareKeys, clock: systemClock }));
    const keyStores = createKeyStoreRegistry(config.knownKeyStores, stores);
    try {
      const keys = new AuditKeys({ audit: repos.audit, keyStores, storeType: config.auditKeyStore, clock: systemClock });
      if (command === 'verify') {
        const result = await new AuditService({ repos, keys, clock: systemClock }).verify();
        out.write(JSON.stringify(result.checkpoint ? { ...result, checkpoint: presentCheckpoint(result.checkpoint) } : result) + '\n');
        return result.ok ? 0 : 1;
      }
      // The checkpoints first, so that a verifier compares them on its way through the events: the
      // one the remaining events chain on from when older ones were archived, and the latest.
      const events = sealedEvents(repos.audit);
      const first = await events.next();
      const checkpoints = await repos.audit.checkpoints();
      const base = !first.done && first.value.seq! > 1 ? checkpoints.find((c) => c.size === first.value.seq! - 1) : undefined;
      if (base) out.write(JSON.stringify({ archivedThrough: presentCheckpoint(base) }) + '\n');
      const latest = checkpoints[checkpoints.length - 1];
      if (latest) out.write(JSON.stringify({ checkpoint: presentCheckpoint(latest) }) + '\n');
      if (!first.done) out.write(JSON.stringify(presentAuditEvent(first.value)) + '\n');
      for await (const e of events) out.write(JSON.stringify(presentAuditEvent(e)) + '\n');
      return 0;
    } finally {
      await keyStores.close();
    }
  } finally {
    await db.close();
  }
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  let config: Config;
  try {
    config = serviceConfig();
  } catch (e) {
    console.error(`privateca: configuration: ${(e as Error).message}`);
    process.exit(2);
  }
  if (argv[0] === 'audit-verify' || argv[0] === 'audit-export') {
    process.exitCode = await auditCommand(argv[0] === 'audit-verify' ? 'verify' : 'export', config, process.stdout);
    return;
  }
  const logger = pino({ level: config.logLevel, base: { pid: process.pid } });
  if (config.workers === 1) return runNode(config, logger, true);
  if (cluster.isPrimary) return runPrimary(config, logger);
  // A worker serves once the primary has prepared the database: it asks, and is told now or then.
  const prepared = new Promise<void>((resolve) => process.on('message', (m: { type?: string }) => m?.type === PREPARED && resolve()));
  process.send!({ type: ASK_PREPARED });
  return runNode(config, logger, prepared);
}

const ASK_PREPARED = 'privateca:prepared?';
const PREPARED = 'privateca:prepared';

/**
 * A cluster's primary: checks what can be checked at once (the port, the KEK, the database's
 * address and credentials), starts the workers, prepares the database (migrations, bootstrap) once
 * it answers, and restarts a crashing worker with backoff. On SIGTERM or SIGINT it asks every worker
 * to shut down gracefully and exits when they all have.
 */
async function runPrimary(config: Config, logger: Logger): Promise<void> {
  // A port in use, the KEK file and a wrong DATABASE_URL fail the start before any worker exists.
  await probePort(config.host, config.port);
  await checkKeyStores(config);
  const db = await openDatabase(config, 2, logger);
  const down = await firstContact(db);
  aggregateWorkerMetrics();
  let stopping = false;
  let prepared = false;
  const crashes: number[] = [];
  // Each worker asks as it starts; those that asked before the database was prepared hear it then.
  cluster.on('message', (w, m: { type?: string }) => {
    if (m?.type === ASK_PREPARED && prepared) w.send({ type: PREPARED });
  });
  // Workers listen at once (readyz 503 until the database is prepared) when the database is down.
  if (down) for (let i = 0; i < config.workers; i++) cluster.fork();
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: asking every worker to finish its requests');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    if (!Object.keys(cluster.workers ?? {}).length) process.exit(process.exitCode ?? 0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A worker that dies is started again after a pause that doubles with each recent crash; one
  // that keeps dying takes the node down with the reason, rather than a restart loop forever.
  cluster.on('exit', (w, code, signal) => {
    if (stopping) {
      if (!Object.keys(cluster.workers ?? {}).length) {
        logger.info('shutdown complete: every worker has stopped');
        process.exit(process.exitCode ?? 0);
      }
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
    if (crashes.length > MAX_CRASHES) {
      logger.fatal({ pid: w.process.pid, code, signal }, `workers exited ${crashes.length} times within ${CRASH_WINDOW_MS / 1000} s; stopping the node (the workers' own log lines above say why)`);
      process.exitCode = 1;
      stop('crash loop');
      return;
    }
    const delay = Math.min(30_000, 250 * 2 ** (crashes.length - 1));
    logger.error({ pid: w.process.pid, code, signal, restartInMs: delay }, 'worker exited; starting another');
    setTimeout(() => stopping || cluster.fork(), delay);
  });
  if (down) await untilDatabaseAnswers(db, logger);
  await prepareDatabase(db, config, logger);
  await db.close();
  prepared = true;
  if (stopping) return;
  if (!down) for (let i = 0; i < config.workers; i++) cluster.fork();
  else for (const w of Object.values(cluster.workers ?? {})) w?.send({ type: PREPARED });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error('privateca: failed to start:', e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
