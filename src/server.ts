// Entry point: config → database (migrated) → app → listen; on SIGTERM/SIGINT: not ready, a delay, drain, close.
import cluster from 'node:cluster';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { AddressInfo, Socket } from 'node:net';
import { createApp } from './app.ts';
import { startWorkers } from './cluster.ts';
import { loadConfig, loadOrExit, type Config } from './config.ts';
import { migrateConfigured } from './db/migrate.ts';
import { DatabaseConnectionError } from './db/connection.ts';
import { connectionPool, openDatabase, type Database } from './db/orm.ts';
import { createLogger, type Logger } from './logger.ts';
import { createTokenVerifier } from './auth/token-verifier.ts';
import { signingSecret } from './auth/signing-secret.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { PostgresRateLimitStore } from './db/rate-limit.store.ts';
import { DatabaseAvailability, DatabaseUnavailableError } from './db/availability.ts';
import { ReadinessCheck } from './health/readiness.ts';
import type { Clock } from './clock.ts';
import { clusterMetrics, listeningPort, Metrics, reportToPrimary, serveMetrics } from './metrics.ts';
import { loadSpec } from './spec.ts';

export interface RunningServer {
  server: Server;
  url: string;
  /** Where Prometheus scrapes, when METRICS_PORT is set. */
  metricsUrl: string | undefined;
  db: Database;
  /** The start of a graceful shutdown: readiness answers 503 from now on, everything else still serves. */
  notReady(): void;
  /** Stops accepting, lets in-flight requests finish (then closes their connections), closes the database. */
  close(): Promise<void>;
}

const urlFor = (host: string | undefined, port: number) =>
  `http://${host && host !== '::' && host !== '0.0.0.0' ? host : 'localhost'}:${port}`;

/** Starts the whole service; the tests use this exact function on a random port (and may bring a clock). */
export async function startServer(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
  { clock }: { clock?: Clock } = {},
): Promise<RunningServer> {
  const db = await openDatabase(config.database);
  try {
    if (config.migrateOnStart) {
      const applied = await migrateConfigured(db, config.database);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    const hmac = await signingSecret(config);
    if (hmac?.source === 'development') {
      const kept = hmac.file ?? 'memory';
      logger.warn(
        { secret: kept },
        `No BETTER_AUTH_SECRET or JWKS_URL: tokens are signed with a development secret kept in ${kept}. ` +
          'Get one with: npm run token -- <user_id>, then use "Authorize" in /docs.',
      );
    }
    const metrics = config.metricsPort === undefined ? undefined : new Metrics(loadSpec().document);
    const verifier = createTokenVerifier({ ...config.auth, secret: hmac?.secret }, { logger, metrics, clock });
    const availability = new DatabaseAvailability(logger);
    const limiter = new RateLimiter(new PostgresRateLimitStore(db, availability), {
      windowSeconds: config.rateLimit.windowSeconds,
      clock,
      // An outage is logged by `availability` already; anything else is worth a line of its own.
      onStoreError: (err) => {
        if (!(err instanceof DatabaseUnavailableError)) {
          logger.warn(
            { err },
            'rate limit: the shared counters cannot be updated; each instance counts alone until they can',
          );
        }
      },
    });
    const readiness = new ReadinessCheck(db, availability, logger, clock);
    const pool = metrics && config.database.kind === 'postgresql' ? await connectionPool(db) : undefined;
    if (metrics && pool && config.database.kind === 'postgresql') metrics.watchPool(pool, config.database.poolMax);
    const app = createApp({ config, db, availability, logger, verifier, limiter, readiness, metrics });
    // No HOST: every interface, IPv6 and IPv4 alike, as Node chooses.
    const server = config.host ? app.listen(config.port, config.host) : app.listen(config.port);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const { port } = server.address() as AddressInfo;
    // In a cluster the primary serves every worker's metrics at once (see main()).
    if (metrics && cluster.isWorker) reportToPrimary(metrics);
    const metricsServer =
      metrics && config.metricsPort !== undefined && !cluster.isWorker
        ? await serveMetrics(metrics, config.metricsPort, config.host).catch(async (err: unknown) => {
            await new Promise((resolve) => server.close(resolve));
            throw err;
          })
        : undefined;
    // While draining, the last response on each connection tells its client to go (Connection: close),
    // so the connection closes once it is sent and the drain ends without resetting anyone. Only the
    // last: a request pipelined behind one in flight is still answered, and closes the connection itself.
    const lastOnConnection = new Map<Socket, ServerResponse>();
    let draining = false;
    const closeAfterAnswer = (res: ServerResponse) => {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const previous = lastOnConnection.get(req.socket);
      if (draining && previous && !previous.headersSent) previous.removeHeader('Connection');
      lastOnConnection.set(req.socket, res);
      if (draining) closeAfterAnswer(res);
      res.once('close', () => {
        if (lastOnConnection.get(req.socket) === res) lastOnConnection.delete(req.socket);
      });
    });
    return {
      server,
      url: urlFor(config.host, port),
      metricsUrl: metricsServer ? urlFor(config.host, listeningPort(metricsServer)) : undefined,
      db,
      notReady: () => readiness.shuttingDown(),
      async close() {
        // Probes arriving on open connections while in-flight requests finish hear "not ready".
        readiness.shuttingDown();
        draining = true;
        lastOnConnection.forEach(closeAfterAnswer);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        // The hits counted since the last reconciliation still count against the other instances' quota.
        await limiter.stop();
        await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(undefined)));
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

async function main(): Promise<void> {
  const config = loadOrExit(() => loadConfig());
  const logger = createLogger(config.logLevel);
  if (config.workers > 1 && cluster.isPrimary) {
    const workers = await startWorkers(config.workers, logger);
    const metricsServer =
      config.metricsPort === undefined
        ? undefined
        : await serveMetrics(clusterMetrics(), config.metricsPort, config.host);
    logger.info(
      {
        url: workers.url,
        workers: config.workers,
        metricsUrl: metricsServer && urlFor(config.host, listeningPort(metricsServer)),
      },
      `Tasks API listening on ${workers.url} with ${config.workers} workers`,
    );
    const stop = (signal: NodeJS.Signals) => void workers.stop(signal).then((code) => process.exit(code));
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    return;
  }
  let running: RunningServer;
  try {
    running = await startServer(config, logger);
  } catch (err) {
    if (!(err instanceof DatabaseConnectionError)) throw err;
    // One line an operator can act on; the stack only when asked for (LOG_LEVEL=debug).
    logger.fatal(logger.isLevelEnabled('debug') ? { err: err.cause } : {}, err.message);
    process.exit(1);
  }
  const where = config.database.kind === 'pglite' ? `embedded PostgreSQL in ${config.database.dataDir}` : 'PostgreSQL';
  logger.info(
    { url: running.url, database: config.database.kind, metricsUrl: running.metricsUrl },
    `Tasks API listening on ${running.url} (${where}); docs at ${running.url}/docs`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const { delaySeconds, timeoutSeconds } = config.shutdown;
    logger.info({ signal, delaySeconds, timeoutSeconds }, 'shutting down');
    // Whatever hangs (a request, the database), the process is gone within the limit.
    setTimeout(() => {
      logger.error({ timeoutSeconds }, 'shutdown took too long; exiting');
      process.exit(1);
    }, timeoutSeconds * 1000).unref();
    // Load balancers take a few probes to notice "not ready"; until then they still send requests here.
    running.notReady();
    sleep(delaySeconds * 1000)
      .then(() => running.close())
      .then(
        () => {
          logger.info('shut down');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

// Run only when executed directly (`npm start`), not when imported by the tests.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error('Tasks API failed to start:', err);
    process.exit(1);
  });
}
