import { Server as NetServer, type Socket } from 'node:net';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { databaseUnavailable } from '../src/domain/ca-error.ts';
import { sendProblem } from './errors.ts';
import { sendJson, type Res } from './http.ts';

export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export interface HttpSettings {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxConnections: number;
}

/** The service's HTTP server: what answers can be swapped (starting → serving), and it drains on shutdown. */
export interface ServiceServer {
  /** Whether drain() has begun: readyz answers 503 from then on. */
  readonly draining: boolean;
  /** Replaces the request listener (the starting listener until the node is composed). */
  serve(listener: Listener): void;
  /**
   * Stops accepting connections and waits, at most timeoutMs, until every request in flight is
   * answered and every connection closed: each response from now on carries Connection: close, and a
   * connection that stays idle is closed after a short grace (a client may be writing its next
   * request on it right now). Then cuts what is left. Resolves with the number of connections cut.
   */
  drain(timeoutMs: number): Promise<{ inFlight: number; cut: number }>;
}

/** What a listen error means for the operator, in one line. */
export function listenError(e: NodeJS.ErrnoException, where: string): Error {
  if (e.code === 'EADDRINUSE') return new Error(`${where} is in use (EADDRINUSE): another process listens there; stop it or choose another PORT/HOST`);
  if (e.code === 'EACCES') return new Error(`${where} may not be bound by this user (EACCES): choose a PORT above 1023 or grant the capability`);
  if (e.code === 'EADDRNOTAVAIL') return new Error(`${where}: HOST is not an address of this machine (EADDRNOTAVAIL)`);
  return new Error(`listening on ${where} failed: ${e.message}`);
}

const hostPort = (host: string, port: number) => `${host}:${port}`;

/** Binds the port for a moment, so that a port in use fails the start at once, before migrations or any worker. */
export function probePort(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e) => reject(listenError(e as NodeJS.ErrnoException, hostPort(host, port))));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function listen(settings: HttpSettings, host: string, port: number, first: Listener): Promise<ServiceServer> {
  const { headersTimeout, requestTimeout, keepAliveTimeout, maxConnections } = settings;
  let listener = first;
  let draining = false;
  const connections = new Set<Socket>();
  const inFlight = new Set<ServerResponse>();
  const onRequest: Listener = (req, res) => {
    if (draining) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    listener(req, res);
  };
  // Node checks the header and request timeouts every connectionsCheckingInterval (30 s by
  // default): check often enough that they hold to within a fraction of a second.
  const server = createServer({ headersTimeout, requestTimeout, connectionsCheckingInterval: Math.min(1000, Math.ceil(headersTimeout / 4)) }, onRequest);
  server.keepAliveTimeout = keepAliveTimeout;
  server.maxConnections = maxConnections;
  server.on('connection', (s: Socket) => {
    connections.add(s);
    s.once('close', () => connections.delete(s));
  });
  const self: ServiceServer = {
    get draining() {
      return draining;
    },
    serve(l) {
      listener = l;
    },
    async drain(timeoutMs) {
      draining = true;
      const answering = inFlight.size;
      // net.Server's close, not http.Server's: since Node 19 the latter also closes idle kept-alive
      // connections at once, and a client that is sending its next request on one then sees a reset.
      NetServer.prototype.close.call(server);
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      const start = Date.now();
      const idleGrace = Math.min(1000, timeoutMs / 2);
      while (connections.size > 0 && Date.now() - start < timeoutMs) {
        if (Date.now() - start >= idleGrace) server.closeIdleConnections();
        await sleep(25);
      }
      const cut = connections.size;
      server.closeAllConnections();
      return { inFlight: answering, cut };
    },
  };
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(listenError(e as NodeJS.ErrnoException, hostPort(host, port))));
    server.listen(port, host, () => resolve(self));
  });
}

/**
 * What answers while the node waits for its database at start: liveness yes, readiness no, and
 * every other request 503 database_unavailable with Retry-After, as errors.ts renders it.
 */
export function startingListener(): Listener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader('Cache-Control', 'no-store');
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') return sendJson(res, 503, { status: 'not_ready', notReady: ['database'], checks: { database: { ready: false, reason: 'waiting for the database' } } });
    (res as Res).locals = {} as Res['locals'];
    sendProblem(res as Res, databaseUnavailable());
  };
}
