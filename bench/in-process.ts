import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Db } from '../src/db/db.ts';
import { compose, openDatabase, prepareDatabase, serviceConfig, type Node } from '../src/main.ts';

/**
 * The service in this process, for the benchmarks that measure its memory or reach into its
 * database: compose() over the database `env` configures, HTTP on a free port of 127.0.0.1.
 */
export async function inProcessService(env: Record<string, string>): Promise<{ db: Db; node: Node; base: string; close(): Promise<void> }> {
  const config = serviceConfig(env);
  const logger = pino({ level: 'warn' });
  const db = await openDatabase(config);
  let node: Node | undefined;
  let server: ReturnType<typeof createServer> | undefined;
  const close = async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server!.close(r));
    }
    await node?.close();
    await db.close();
  };
  try {
    await prepareDatabase(db, config, logger);
    node = await compose({ db, config, logger });
    server = createServer(node.listener).listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { db, node, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close };
  } catch (e) {
    await close().catch(() => {});
    throw e;
  }
}
