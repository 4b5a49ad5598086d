// One measurement: warm up, then fire for the measured window while sampling CPU time where it is
// spent: the server (its own process.cpuUsage), PostgreSQL (all its processes, from /proc), the load
// generator (this process), and whatever else runs on the machine (the noise).
import { readdir, readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import type autocannon from 'autocannon';
import { fire } from './load.ts';
import type { Server, ServerKind } from './servers.ts';

export interface Measurement {
  scenario: string;
  server: ServerKind;
  rps: number;
  p50: number;
  p99: number;
  /** CPU µs per request: the server's, PostgreSQL's, the load generator's. */
  serverUs: number;
  postgresUs: number;
  loadGenUs: number;
  /** Cores: the server's, and the rest of the machine's (noise). */
  serverCores: number;
  otherCores: number;
  rssMb: number;
  heapMb: number;
  /** 1-minute load average at the end. */
  load: number;
}

const TICK_US = 10_000; // USER_HZ is 100 on Linux

async function machine() {
  // /proc/stat "cpu": user nice system idle iowait irq softirq steal; busy = all but idle and iowait.
  const stat = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const busy = stat.reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0) * TICK_US;
  const postgres = new Map<string, number>();
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (!text.includes('(postgres)')) continue;
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    postgres.set(pid, (Number(fields[11]) + Number(fields[12])) * TICK_US); // utime, stime
  }
  const { user, system } = process.cpuUsage();
  return { busy, postgres, self: user + system };
}

export async function measure(
  server: Server,
  scenario: string,
  next: () => autocannon.RequestParams,
  options: { seconds: number; warmup: number; connections: number; profilePath?: string },
): Promise<Measurement> {
  if (options.warmup > 0) await fire(server.url, next, options.warmup, options.connections);
  if (options.profilePath) await server.profile();
  const [s0, m0] = [await server.sample(), await machine()];
  const result = await fire(server.url, next, options.seconds, options.connections);
  const [s1, m1] = [await server.sample(true), await machine()];
  if (options.profilePath) await server.profile(options.profilePath);
  const n = result.requests.total;
  const serverCpu = s1.cpuMicros - s0.cpuMicros;
  // Backends present at the end, less what they had at the start (one that exited meanwhile is lost).
  let postgresCpu = 0;
  for (const [pid, us] of m1.postgres) postgresCpu += us - (m0.postgres.get(pid) ?? 0);
  const selfCpu = m1.self - m0.self;
  const wall = result.duration * 1e6;
  const m: Measurement = {
    scenario,
    server: server.kind,
    rps: n / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    serverUs: serverCpu / n,
    postgresUs: postgresCpu / n,
    loadGenUs: selfCpu / n,
    serverCores: serverCpu / wall,
    otherCores: Math.max(0, m1.busy - m0.busy - serverCpu - postgresCpu - selfCpu) / wall,
    rssMb: s1.rss / 2 ** 20,
    heapMb: s1.heapUsed / 2 ** 20,
    load: loadavg()[0]!,
  };
  console.log(
    `  ${scenario.padEnd(14)} ${server.kind.padEnd(9)} ${m.rps.toFixed(0).padStart(6)} req/s  p50 ${m.p50} ms  p99 ${m.p99} ms  ` +
      `µs/req: server ${m.serverUs.toFixed(0)} (${m.serverCores.toFixed(2)} cores) pg ${m.postgresUs.toFixed(0)} ` +
      `load-gen ${m.loadGenUs.toFixed(0)}; other ${m.otherCores.toFixed(2)} cores; load ${m.load.toFixed(2)}`,
  );
  return m;
}
