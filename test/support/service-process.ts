// The service as operators run it: `node src/server.ts` in a process of its own (npm start's command,
// without .env), for what only a real process shows: signals, exit codes, a cluster of workers.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TEST_SECRET } from './server.ts';

export interface LogLine {
  msg: string;
  url?: string;
  metricsUrl?: string;
  workers?: number;
}

export interface ServiceProcess {
  child: ChildProcess;
  /** Where it listens, as its "Tasks API listening on" line says. */
  url: string;
  metricsUrl: string | undefined;
  /** Every JSON line it has written to stdout so far. */
  logLines: LogLine[];
  /** Its exit code, once it has exited. */
  exited: Promise<number | null>;
}

/** Starts the service with the tests' secret and quotas, on a free port, plus `env`; resolves once it listens. */
export async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--experimental-strip-types', 'src/server.ts'], {
    cwd: new URL('../../', import.meta.url),
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      BETTER_AUTH_SECRET: TEST_SECRET,
      RATE_LIMIT_PER_USER: '1000000',
      RATE_LIMIT_PER_IP: '1000000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logLines: LogLine[] = [];
  const listening = await new Promise<LogLine>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as LogLine;
      logLines.push(entry);
      // In a cluster every worker says so too; the primary's line (with `workers`) is the one that counts.
      const whole = !env.WEB_CONCURRENCY || env.WEB_CONCURRENCY === '1' || entry.workers !== undefined;
      if (entry.msg.startsWith('Tasks API listening on') && entry.url && whole) resolve(entry);
    });
    void exited.then((code) => reject(new Error(`the service exited (${code}) before listening`)));
  });
  return { child, url: listening.url!, metricsUrl: listening.metricsUrl, logLines, exited };
}
