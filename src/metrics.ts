// Prometheus metrics: requests by operation and status, rate-limit refusals, failed fetches of the
// key set, the database pool, and the process itself. Served on a listener of its own (METRICS_PORT), never beside the public API.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from 'express';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { findOperation, specOperations } from './http/spec-operations.ts';
import type { KeySetFailure } from './auth/token-verifier.ts';
import type { SpecDocument } from './spec.ts';

/** The label of requests that match no operation in the spec: one fixed value, so junk paths cannot grow the series. */
export const UNKNOWN_OPERATION = 'unknown';

/** What the pool gauges read (pg.Pool's counters). */
export interface PoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #operations;
  readonly #requests: Counter<'operation_id' | 'status'>;
  readonly #duration: Histogram<'operation_id' | 'status'>;
  readonly #refusals: Counter<'policy'>;
  readonly #keySetFailures: Counter<'failure'>;

  constructor(spec: SpecDocument) {
    this.#operations = specOperations(spec);
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#requests = new Counter({
      name: 'http_requests_total',
      help: 'Requests answered, by the operationId they matched in the spec and the status answered.',
      labelNames: ['operation_id', 'status'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from a request arriving to its answer being sent, by operationId and status.',
      labelNames: ['operation_id', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#refusals = new Counter({
      name: 'rate_limit_refusals_total',
      help: 'Requests refused with 429, by quota (per-user, per-ip).',
      labelNames: ['policy'],
      registers,
    });
    this.#keySetFailures = new Counter({
      name: 'jwks_fetch_failures_total',
      help: 'Fetches of the key set (JWKS_URL) that failed, by how: no-answer, status (not 200), invalid (no key set), timeout.',
      labelNames: ['failure'],
      registers,
    });
  }

  /** Times every request from here on; labels it once answered. */
  readonly requests: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const path = req.originalUrl.split('?')[0] ?? '';
      const labels = {
        operation_id: findOperation(this.#operations, req.method, path)?.operationId ?? UNKNOWN_OPERATION,
        status: String(res.statusCode),
      };
      this.#requests.inc(labels);
      this.#duration.observe(labels, seconds);
    });
    next();
  };

  rateLimitRefused(policy: string): void {
    this.#refusals.inc({ policy });
  }

  keySetFetchFailed(failure: KeySetFailure): void {
    this.#keySetFailures.inc({ failure });
  }

  /** Gauges of a connection pool, read at each scrape. */
  watchPool(pool: PoolCounts, max: number): void {
    const gauges: [string, string, () => number][] = [
      ['db_pool_connections', 'Connections the pool holds open (idle or in use).', () => pool.totalCount],
      ['db_pool_idle_connections', 'Open connections no query is using.', () => pool.idleCount],
      ['db_pool_waiting_requests', 'Queries waiting for a connection (the pool is full).', () => pool.waitingCount],
      ['db_pool_max_connections', 'The most connections the pool may open (DB_POOL_MAX).', () => max],
    ];
    for (const [name, help, read] of gauges) {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    }
  }
}

/** What a metrics listener serves: one process's registry, or the sum of a cluster's workers. */
interface MetricsSource {
  metrics(): Promise<string>;
  contentType: string;
}

/**
 * In a cluster worker: hand this worker's metrics to the primary when it asks (prom-client's cluster
 * messages), instead of listening; a worker's own listener would share the port round-robin and
 * answer for itself alone.
 */
export function reportToPrimary(metrics: Metrics): void {
  // Constructing one is what makes prom-client answer the primary's requests in a worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
}

/** In the cluster primary: every worker's metrics, summed (counters, histograms) or averaged as prom-client decides. */
export function clusterMetrics(): MetricsSource {
  const aggregator = new AggregatorRegistry();
  return { metrics: () => aggregator.clusterMetrics(), contentType: aggregator.contentType };
}

/** GET /metrics in Prometheus's text format, and 404 for anything else. */
export async function serveMetrics(
  source: Metrics | MetricsSource,
  port: number,
  host: string | undefined,
): Promise<Server> {
  const from: MetricsSource =
    source instanceof Metrics
      ? { metrics: () => source.registry.metrics(), contentType: source.registry.contentType }
      : source;
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: metrics are at /metrics\n');
      return;
    }
    from.metrics().then(
      (text) => res.writeHead(200, { 'content-type': from.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (host) server.listen(port, host, resolve);
    else server.listen(port, resolve);
  });
  return server;
}

export const listeningPort = (server: Server): number => (server.address() as AddressInfo).port;
