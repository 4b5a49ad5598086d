// WEB_CONCURRENCY > 1: this process becomes a primary that forks that many workers (node:cluster).
// Each worker is the whole service (src/server.ts's main(), its own pool of DB_POOL_MAX connections);
// they share the listening port, and everything they must agree on (rate limits, tasks) is in
// PostgreSQL already. The primary only keeps the workers running and passes SIGTERM/SIGINT on: each
// worker drains and closes as a single process does, and the primary exits when the last one has.
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.ts';

export interface Workers {
  url: string;
  pids(): number[];
  /** Asks every worker to shut down gracefully; resolves with the exit code the primary should use. */
  stop(signal: NodeJS.Signals): Promise<number>;
}

export async function startWorkers(count: number, logger: Logger): Promise<Workers> {
  let stopping = false;
  let failed = false;
  const listening = new Set<Worker>();
  const forkOne = () => cluster.fork();
  const url = await new Promise<string>((resolve, reject) => {
    cluster.on('listening', (worker, address: AddressInfo) => {
      listening.add(worker);
      const host =
        !address.address || address.address === '::' || address.address === '0.0.0.0' ? 'localhost' : address.address;
      if (listening.size === count) resolve(`http://${host}:${address.port}`);
    });
    cluster.on('exit', (worker, code, signal) => {
      if (code !== 0) failed = true;
      if (stopping) return;
      // A worker that never listened failed to start (configuration, database): more would fail alike.
      if (!listening.has(worker)) return reject(new Error(`a worker exited (${code ?? signal}) before it listened`));
      logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
      listening.delete(worker);
      forkOne();
    });
    for (let i = 0; i < count; i++) forkOne();
  });
  return {
    url,
    pids: () => Object.values(cluster.workers ?? {}).flatMap((w) => (w?.process.pid ? [w.process.pid] : [])),
    async stop(signal) {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              worker.once('exit', () => resolve());
              worker.process.kill(signal);
            }),
        ),
      );
      return failed ? 1 : 0;
    },
  };
}
