// A server under test, in a child process of bench/main.ts (one process per server, so its RSS and CPU
// time are its own and it never shares an event loop with the load generator). argv[2] says which:
//   api       the service, started with startServer(loadConfig(env)) exactly as src/server.ts and the tests do
//   baseline  bench/baseline.ts with the service's admission (token, rate limit, ownership)
//   floor     bench/baseline.ts with the operation's statement only
// Over IPC it says where it listens, reports CPU time and memory, profiles on request, stops when told.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { loadConfig } from '../src/config.ts';
import { startWorkers } from '../src/cluster.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/server.ts';
import { startBaseline } from './baseline.ts';

export interface ProcessSample {
  rss: number;
  /** After a full collection when asked for (--expose-gc). */
  heapUsed: number;
  /** process.cpuUsage(), µs since start. */
  cpuMicros: number;
}

export type ParentMessage =
  | { type: 'sample'; id: number; gc: boolean }
  | { type: 'profile-start'; id: number }
  | { type: 'profile-stop'; id: number; path: string }
  | { type: 'stop' };

export type ChildMessage =
  | { type: 'ready'; url: string }
  | { type: 'failed'; message: string }
  | { type: 'sample'; id: number; sample: ProcessSample }
  | { type: 'profile'; id: number; error?: string };

/** With WEB_CONCURRENCY > 1 (BENCH_WORKERS) this process is the cluster's primary: its workers count too. */
let workerPids: () => number[] = () => [];

/** CPU µs and RSS bytes of a worker, from /proc (utime, stime in 10 ms ticks; rss in pages). */
function procSample(pid: number): { cpu: number; rss: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { cpu: (Number(fields[11]) + Number(fields[12])) * 10_000, rss: Number(fields[21]) * 4096 };
}

async function start(kind: string | undefined): Promise<{ url: string; close(): Promise<void> }> {
  const config = loadConfig(process.env);
  if (kind === 'api' && config.workers > 1) {
    const workers = await startWorkers(config.workers, createLogger('silent'));
    workerPids = () => workers.pids();
    return { url: workers.url, close: async () => void (await workers.stop('SIGTERM')) };
  }
  if (kind === 'api') return startServer(config);
  if (kind === 'baseline' || kind === 'floor') return startBaseline(process.env, { admission: kind === 'baseline' });
  throw new Error(`unknown server "${kind}" (api, baseline or floor)`);
}

const send = (message: ChildMessage) => process.send?.(message);
let session: Session | undefined;

async function profile(message: Extract<ParentMessage, { type: 'profile-start' | 'profile-stop' }>): Promise<void> {
  if (message.type === 'profile-start') {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
    await session.post('Profiler.start');
    return;
  }
  const { profile } = await session!.post('Profiler.stop');
  session!.disconnect();
  await writeFile(message.path, JSON.stringify(profile));
}

if (cluster.isWorker) {
  await startServer(loadConfig(process.env)); // a worker of the primary below: it only serves
} else {
  try {
    const server = await start(process.argv[2]);
    process.on('message', (message: ParentMessage) => {
      if (message.type === 'sample') {
        const { user, system } = process.cpuUsage();
        const workers = workerPids().map(procSample);
        const rss = process.memoryUsage().rss + workers.reduce((sum, w) => sum + w.rss, 0);
        const cpuMicros = user + system + workers.reduce((sum, w) => sum + w.cpu, 0);
        if (message.gc) (globalThis as { gc?: () => void }).gc?.();
        send({ type: 'sample', id: message.id, sample: { rss, heapUsed: process.memoryUsage().heapUsed, cpuMicros } });
      } else if (message.type === 'stop') {
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      } else {
        profile(message).then(
          () => send({ type: 'profile', id: message.id }),
          (err: unknown) => send({ type: 'profile', id: message.id, error: String(err) }),
        );
      }
    });
    process.on('disconnect', () => process.exit(0)); // the bench went away: never linger
    send({ type: 'ready', url: server.url });
  } catch (err) {
    send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  }
}
