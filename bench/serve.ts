// A server under test, in a child process of bench/main.ts (one process per server, so its RSS and CPU
// time are its own and it never shares an event loop with the load generator). argv[2] says which:
//   api       the service, started with startServer(loadConfig(env)) exactly as src/server.ts and the tests do
//   baseline  bench/baseline.ts with the service's admission (token, rate limit, ownership)
//   floor     bench/baseline.ts with the operation's statement only
// Over IPC it says where it listens, reports CPU time and memory, profiles on request, stops when told.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { loadConfig } from '../src/config.ts';
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

async function start(kind: string | undefined): Promise<{ url: string; close(): Promise<void> }> {
  if (kind === 'api') return startServer(loadConfig(process.env));
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

try {
  const server = await start(process.argv[2]);
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'sample') {
      const { user, system } = process.cpuUsage();
      const { rss } = process.memoryUsage();
      if (message.gc) (globalThis as { gc?: () => void }).gc?.();
      send({
        type: 'sample',
        id: message.id,
        sample: { rss, heapUsed: process.memoryUsage().heapUsed, cpuMicros: user + system },
      });
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
