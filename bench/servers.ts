// The bench's side of bench/serve.ts: forks a server under test and talks to it over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ParentMessage, ProcessSample } from './serve.ts';

export type ServerKind = 'api' | 'baseline' | 'floor';
export const LABELS: Record<ServerKind, string> = {
  api: 'Tasks API',
  baseline: 'baseline (same work, no framework)',
  floor: 'floor (statement only)',
};
const SCRIPT = fileURLToPath(new URL('./serve.ts', import.meta.url));

export class Server {
  readonly kind: ServerKind;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (message: ChildMessage) => void>();
  #nextId = 0;
  url = '';

  private constructor(kind: ServerKind, env: NodeJS.ProcessEnv) {
    this.kind = kind;
    this.#child = fork(SCRIPT, [kind], {
      env,
      execArgv: ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('error', () => {}); // a send to a dead child; #ask times out instead
    this.#child.on('message', (message: ChildMessage) => {
      if ('id' in message) this.#pending.get(message.id)?.(message);
    });
  }

  static async start(kind: ServerKind, env: NodeJS.ProcessEnv): Promise<Server> {
    const server = new Server(kind, env);
    server.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${LABELS[kind]} did not start in 60 s`)), 60_000);
      server.#child.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') resolve(message.url);
        if (message.type === 'failed') reject(new Error(`${LABELS[kind]} failed to start:\n${message.message}`));
        clearTimeout(timer);
      });
      server.#child.once('exit', (code) => reject(new Error(`${LABELS[kind]} exited (${code}) before it was ready`)));
    });
    return server;
  }

  #ask(message: ParentMessage & { id: number }): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${LABELS[this.kind]} did not answer ${message.type}`)), 30_000);
      this.#pending.set(message.id, (answer) => {
        clearTimeout(timer);
        this.#pending.delete(message.id);
        resolve(answer);
      });
      this.#child.send(message);
    });
  }

  async sample(gc = false): Promise<ProcessSample> {
    const answer = await this.#ask({ type: 'sample', id: ++this.#nextId, gc });
    if (answer.type !== 'sample') throw new Error(`unexpected ${answer.type}`);
    return answer.sample;
  }

  async profile(path?: string): Promise<void> {
    const id = ++this.#nextId;
    const answer = await this.#ask(path ? { type: 'profile-stop', id, path } : { type: 'profile-start', id });
    if (answer.type === 'profile' && answer.error) throw new Error(`profiler: ${answer.error}`);
  }

  /** Graceful (the child closes its server and pool); killed if it takes over 15 s. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    if (this.#child.connected) this.#child.send({ type: 'stop' } satisfies ParentMessage);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
