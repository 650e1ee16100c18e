import 'reflect-metadata';
import cluster from 'node:cluster';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import cron from 'node-cron';
import { pino, type Logger } from 'pino';
import { createApp, createRequestListener, routes } from '../api/app.ts';
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
import type { Db } from './db/db.ts';
import { advisoryJobLock } from './db/job-lock.ts';
import { lockDataDir } from './db/data-dir-lock.ts';
import { migrate } from './db/migrate.ts';
import { createPgDb } from './db/pg-driver.ts';
import { createPgliteDb } from './db/pglite-driver.ts';
import { crlPublicationRepository } from './db/repositories/crl-publication-repository.ts';
import { createRepos } from './db/repositories/index.ts';
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

const BOOTSTRAP_LOCK = 0x70636102;
const PURGE_LOCK = 0x70636103;
const AUDIT_KEY_LOCK = 0x70636105;

/** The service's configuration from the environment, with every key store the service knows. */
export const serviceConfig = (env: NodeJS.ProcessEnv = process.env): Config => loadConfig(env, KEY_STORES);

/** Fails fast, before anything is written, on key store settings that cannot work (an unreadable KEK). */
async function checkKeyStores(config: Config): Promise<void> {
  for (const { descriptor, settings } of config.keyStores) await descriptor.check?.(settings);
}

export async function openDatabase(config: Config, poolSize = config.dbPoolSize): Promise<Db> {
  if (config.databaseUrl) return createPgDb({ connectionString: config.databaseUrl, max: poolSize });
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
export async function compose(options: { db: Db; config: Config; logger: Logger; clock?: Clock }): Promise<Node> {
  const { db, config, logger } = options;
  const clock = options.clock ?? systemClock;
  const repos = createRepos(db);
  const stores = [];
  for (const { descriptor, settings } of config.keyStores) stores.push(await descriptor.create(settings, { softwareKeys: repos.softwareKeys, clock }));
  const keyStores = createKeyStoreRegistry(config.knownKeyStores, stores);
  const contexts = new CaContexts({ cas: repos.cas, keyStores, clock, crlPartitionSize: config.crlPartitionSize });
  const cas = new CaService({ repos, keyStores, clock });
  const issuance = new IssuanceService({ repos, contexts, clock, publicUrl: config.publicUrl });
  const certificates = new CertificateService({ certificates: repos.certificates, contexts });
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
  const watcher = new CaWatcher({ cas: repos.cas, onError: (e) => logger.warn({ err: e }, 'reading CA changes made on other nodes failed') });
  cas.onChange((ca) => {
    watcher.noteLocal(ca);
    contexts.invalidate(ca.id);
    crlScheduler.caChanged(ca);
  });
  // Changes made on other nodes: status, tags (ResourceTag conditions), CRL settings.
  watcher.onChange((ca) => {
    contexts.invalidate(ca.id);
    crlScheduler.caChanged(ca, { publishNow: false });
  });
  watcher.onRemoved((id) => {
    contexts.invalidate(id);
    crlScheduler.removed(id);
  });
  revocation.onRevoked((caId) => crlScheduler.revoked(caId));
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
  const sealer = new AuditSealer({ audit: repos.audit, lock: advisoryJobLock(db), keys: auditKeys, clock, onError: (e) => logger.error({ err: e }, 'sealing audit events failed') });
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
    publicUrl: config.publicUrl,
    keyStoreTypes: config.knownKeyStores.map((d) => d.type),
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

/** What a listen error means for the operator, in one line. */
function listenError(e: NodeJS.ErrnoException, config: Config): Error {
  const where = `${config.host}:${config.port}`;
  if (e.code === 'EADDRINUSE') return new Error(`${where} is in use (EADDRINUSE): another process listens there; stop it or choose another PORT/HOST`);
  if (e.code === 'EACCES') return new Error(`${where} may not be bound by this user (EACCES): choose a PORT above 1023 or grant the capability`);
  if (e.code === 'EADDRNOTAVAIL') return new Error(`${where}: HOST is not an address of this machine (EADDRNOTAVAIL)`);
  return new Error(`listening on ${where} failed: ${e.message}`);
}

function listen(listener: Node['listener'], config: Config): Promise<Server> {
  const { headersTimeout, requestTimeout, keepAliveTimeout, maxConnections } = config.http;
  return new Promise((resolve, reject) => {
    // Node checks the header and request timeouts every connectionsCheckingInterval (30 s by
    // default): check often enough that they hold to within a fraction of a second.
    const server = createServer({ headersTimeout, requestTimeout, connectionsCheckingInterval: Math.min(1000, Math.ceil(headersTimeout / 4)) }, listener);
    server.keepAliveTimeout = keepAliveTimeout;
    server.maxConnections = maxConnections;
    server.once('error', (e) => reject(listenError(e as NodeJS.ErrnoException, config)));
    server.listen(config.port, config.host, () => resolve(server));
  });
}

/** Binds the port for a moment, so that a port in use fails the start at once, before migrations or any worker. */
function probePort(config: Config): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e) => reject(listenError(e as NodeJS.ErrnoException, config)));
    probe.listen(config.port, config.host, () => probe.close(() => resolve()));
  });
}

/** Worker restarts: at most this many crashes in CRASH_WINDOW_MS before the node gives up. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 60_000;

/** Runs one node: HTTP on config.port, and the hourly purge of CAs past their restore window. */
async function runNode(config: Config, logger: Logger, prepare: boolean): Promise<void> {
  // Key stores first: a missing or unreadable KEK must stop the start before anything is written.
  if (prepare) await checkKeyStores(config);
  const db = await openDatabase(config, Math.max(2, Math.ceil(config.dbPoolSize / config.workers)));
  if (prepare) await prepareDatabase(db, config, logger);
  const node = await compose({ db, config, logger });
  const server = await listen(node.listener, config);
  const purge = cron.schedule('17 * * * *', async () => {
    try {
      await db.withAdvisoryLock(PURGE_LOCK, () => node.cas.purge(SYSTEM_ACTOR));
    } catch (e) {
      logger.error({ err: e }, 'purging deleted CAs failed');
    }
  });
  logger.info({ url: `http://${config.host}:${config.port}`, database: db.driver }, 'privateca listening');
  const stop = async () => {
    await purge.stop();
    server.close();
    server.closeIdleConnections();
    await node.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
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
  if (config.workers === 1) {
    await probePort(config);
    return runNode(config, logger, true);
  }
  if (cluster.isPrimary) {
    // A port in use, the KEK file, migrations and bootstrap once, before the workers race for them.
    await probePort(config);
    await checkKeyStores(config);
    const db = await openDatabase(config, 2);
    await prepareDatabase(db, config, logger);
    await db.close();
    let stopping = false;
    const crashes: number[] = [];
    for (let i = 0; i < config.workers; i++) cluster.fork();
    const stop = () => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    };
    // A worker that dies is started again after a pause that doubles with each recent crash; one
    // that keeps dying takes the node down with the reason, rather than a restart loop forever.
    cluster.on('exit', (w, code, signal) => {
      if (stopping) return;
      const now = Date.now();
      crashes.push(now);
      while (crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
      if (crashes.length > MAX_CRASHES) {
        logger.fatal({ pid: w.process.pid, code, signal }, `workers exited ${crashes.length} times within ${CRASH_WINDOW_MS / 1000} s; stopping the node (the workers' own log lines above say why)`);
        process.exitCode = 1;
        stop();
        return;
      }
      const delay = Math.min(30_000, 250 * 2 ** (crashes.length - 1));
      logger.error({ pid: w.process.pid, code, signal, restartInMs: delay }, 'worker exited; starting another');
      setTimeout(() => stopping || cluster.fork(), delay);
    });
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    return;
  }
  return runNode(config, logger, false);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error('privateca: failed to start:', e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
