// The protocol between scripts/bench.ts and a server under test running in a child process
// (child_process.fork with IPC): the child says where it listens, reports its memory and CPU time, profiles
// its CPU on request, and stops when told. One process per server, so RSS and heap are that server's.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

export interface ServedTarget {
  url: string;
  close(): Promise<void>;
}

export interface ProcessSample {
  /** Resident set size, before any collection. */
  rss: number;
  /** Live heap: after a full collection when the sample asked for one. */
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** process.cpuUsage() in µs since the process started: user (JS, native code) and system (kernel: socket I/O, …). */
  cpuUserMicros: number;
  cpuSystemMicros: number;
}

export type ParentMessage =
  /** CPU time and memory; with `gc`, the heap is measured after a full collection (needs --expose-gc). */
  | { type: 'sample'; id: number; gc: boolean }
  | { type: 'stop' }
  /** Start the V8 CPU profiler (through node:inspector), so a profile covers only the measured window. */
  | { type: 'profile-start'; id: number }
  /** Stop it and write the .cpuprofile to `path`. */
  | { type: 'profile-stop'; id: number; path: string };

export type ChildMessage =
  | { type: 'ready'; url: string; pid: number }
  | { type: 'sample'; id: number; sample: ProcessSample }
  | { type: 'profile'; id: number; error?: string }
  | { type: 'failed'; message: string };

function send(message: ChildMessage): void {
  process.send?.(message);
}

let session: Session | undefined;

async function profiler(message: Extract<ParentMessage, { type: 'profile-start' | 'profile-stop' }>): Promise<void> {
  if (message.type === 'profile-start') {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
    await session.post('Profiler.start');
    return;
  }
  if (!session) throw new Error('the profiler was not started');
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  session = undefined;
  await writeFile(message.path, JSON.stringify(profile));
}

/** Starts the target and serves the protocol; without an IPC channel it just prints the URL. */
export async function serveAsChild(start: () => Promise<ServedTarget>): Promise<void> {
  let target: ServedTarget;
  try {
    target = await start();
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    if (process.send) send({ type: 'failed', message });
    else console.error(message);
    process.exit(1);
  }
  if (!process.send) {
    console.log(`listening on ${target.url}`);
    const stop = () => void target.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'sample') {
      const { user, system } = process.cpuUsage();
      const { rss } = process.memoryUsage();
      if (message.gc) (globalThis as { gc?: () => void }).gc?.();
      const { heapUsed, heapTotal, external } = process.memoryUsage();
      send({
        type: 'sample',
        id: message.id,
        sample: { rss, heapUsed, heapTotal, external, cpuUserMicros: user, cpuSystemMicros: system },
      });
    } else if (message.type === 'profile-start' || message.type === 'profile-stop') {
      profiler(message).then(
        () => send({ type: 'profile', id: message.id }),
        (err: unknown) => send({ type: 'profile', id: message.id, error: String(err) }),
      );
    } else if (message.type === 'stop') {
      target.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    }
  });
  // The parent went away (crashed, killed): never linger.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', url: target.url, pid: process.pid });
}
