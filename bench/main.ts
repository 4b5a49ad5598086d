// npm run bench: Tasks API against the same work without the framework (baseline) and against the bare
// statement (floor), each server in a child process, on a fresh PostgreSQL database dropped afterwards.
//   npm run bench -- --check     parity only: every server answers every operation alike (CI)
// Environment (defaults): BENCH_SECONDS (8), BENCH_WARMUP_SECONDS (2), BENCH_SERVER_WARMUP_SECONDS (15: each
// server's JIT warm-up on the mix before the first scenario), BENCH_ROUNDS (1: the median of this many
// alternating runs per scenario and server is reported), BENCH_CONNECTIONS (32),
// BENCH_SCENARIOS (all but listDeep; e.g. getTask,getTask-hot,mix), BENCH_SERVERS (api,baseline,floor),
// BENCH_PRELOAD (1: 1 M tasks over 10 k users, user 0 with 100 k), BENCH_WORKERS (WEB_CONCURRENCY of
// Tasks API), BENCH_PROFILE (1: a CPU-profile pass of Tasks API and the baseline, for
// BENCH_PROFILE_SCENARIOS, default getTask,listTasks100,createTask,mix), BENCH_ADMIN_URL, BENCH_OUTPUT
// (docs/benchmarks.md; "-" prints only).
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  BenchFailure,
  chooseScenarios,
  fire,
  requests,
  seed,
  seedDoomed,
  tokens,
  type DataSet,
  type Scenario,
} from './load.ts';
import { measure, type Measurement } from './measure.ts';
import { checkParity } from './parity.ts';
import { plans } from './plans.ts';
import { summarizeProfile } from './profile.ts';
import { profileTable, table, targets, uptime, writeBetweenMarkers } from './report.ts';
import { Server, type ServerKind } from './servers.ts';

const env = process.env;
const int = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
const CHECK = process.argv.includes('--check') || env.BENCH_CHECK === '1';
const SECONDS = int('BENCH_SECONDS', 8);
const WARMUP = int('BENCH_WARMUP_SECONDS', 2);
// Measured: Tasks API's first scenario ran at 0.55–0.75 of its later ones after a 2 s warm-up (more
// code for V8 to optimise than the baselines have), so each server first runs the mix for a while.
const SERVER_WARMUP = int('BENCH_SERVER_WARMUP_SECONDS', 15);
const ROUNDS = int('BENCH_ROUNDS', 1);
const CONNECTIONS = int('BENCH_CONNECTIONS', 32);
const POOL_MAX = 10;
const SCENARIOS = chooseScenarios(env.BENCH_SCENARIOS);
const KINDS = (env.BENCH_SERVERS ?? 'api,baseline,floor').split(',') as ServerKind[];
const PRELOAD = env.BENCH_PRELOAD === '1';
const PROFILE = env.BENCH_PROFILE === '1';
const ADMIN_URL =
  env.BENCH_ADMIN_URL ??
  `postgresql://${env.PGUSER ?? 'postgres'}@${env.PGHOST ?? '127.0.0.1'}:${env.PGPORT ?? 5432}/postgres`;
const OUTPUT = env.BENCH_OUTPUT ?? fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const DATA: DataSet = PRELOAD
  ? { users: 10_000, tasksPerUser: 90, hotUserTasks: 100_000 }
  : { users: 200, tasksPerUser: 120, hotUserTasks: 120 };
/** deleteTask needs a task for every request it sends: more than any server here manages per second. */
const DELETES_PER_SECOND = 15_000;
const SECRET = randomBytes(32).toString('base64url');

async function admin(sql: string, url = ADMIN_URL) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

function serverEnv(url: string, kind: ServerKind): NodeJS.ProcessEnv {
  return {
    ...env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    VALIDATE_RESPONSES: 'false',
    DATABASE_URL: url,
    BETTER_AUTH_SECRET: SECRET,
    // Counted on every request, never reached.
    RATE_LIMIT_PER_USER: '1000000000',
    RATE_LIMIT_PER_IP: '1000000000',
    DB_POOL_MAX: String(POOL_MAX),
    PORT: '0',
    HOST: '127.0.0.1',
    WEB_CONCURRENCY: kind === 'api' ? (env.BENCH_WORKERS ?? '1') : '1',
  };
}

const order = (m: Measurement) =>
  SCENARIOS.findIndex((s) => s.name === m.scenario) * 10 + ['api', 'baseline', 'floor'].indexOf(m.server);

async function main(): Promise<void> {
  const database = `tasks_bench_${randomBytes(5).toString('hex')}`;
  const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${database}` }).toString();
  const servers: Server[] = [];
  const cleanup = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await admin(`drop database if exists "${database}" with (force)`).catch(() => {});
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  const uptimeBefore = uptime();
  console.log(
    `${uptimeBefore}\nDatabase ${database}; ${DATA.users} users; ${CHECK ? 'parity check' : `${SECONDS} s per scenario`}`,
  );
  await admin(`create database "${database}"`);
  try {
    // Tasks API first: it applies the migrations, so the schema exists for the seed and the baselines.
    servers.push(await Server.start('api', serverEnv(url, 'api')));
    const seeding = Date.now();
    await seed(url, DATA);
    console.log(`Seeded in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
    for (const kind of CHECK ? (['baseline', 'floor'] as const) : KINDS.filter((k) => k !== 'api'))
      servers.push(await Server.start(kind, serverEnv(url, kind)));
    const auth = await tokens(SECRET, DATA);
    if (servers.length > 1) await checkParity(servers, auth);
    console.log(`Parity: ${servers.map((s) => s.kind).join(', ')} answer every operation alike`);
    if (CHECK) return;
    if (!KINDS.includes('api')) await servers.shift()!.stop();

    const mix = chooseScenarios('mix')[0]!;
    for (const server of servers) await fire(server.url, requests(mix, DATA, auth), SERVER_WARMUP, CONNECTIONS);

    // deleteTask deletes each task once: a run gets tasks of its own to delete, as many as it could reach.
    const doomedFor = (scenario: Scenario, seconds: number, tag: string) =>
      scenario.operation === 'deleteTask'
        ? seedDoomed(url, DATA, scenario.hot, seconds * DELETES_PER_SECOND, `${tag}-${scenario.name}`)
        : Promise.resolve([]);

    const results: Measurement[] = [];
    for (const [i, scenario] of SCENARIOS.entries()) {
      const rounds = new Map<Server, Measurement[]>(servers.map((server) => [server, []]));
      for (let round = 0; round < ROUNDS; round++) {
        // Rotate who goes first, so no server always gets the coldest slot.
        for (const server of servers.map((_, j) => servers[(i + j + round) % servers.length]!)) {
          const doomed = await doomedFor(scenario, WARMUP + SECONDS, `${server.kind}-${round}`);
          const next = requests(scenario, DATA, auth, doomed);
          rounds.get(server)!.push(
            await measure(server, scenario.name, next, {
              seconds: SECONDS,
              warmup: WARMUP,
              connections: CONNECTIONS,
            }),
          );
        }
      }
      // The median round by throughput (the lower of the middle two for an even count).
      for (const measured of rounds.values()) {
        results.push(measured.sort((a, b) => a.rps - b.rps)[Math.floor((measured.length - 1) / 2)]!);
      }
    }
    const uptimeAfter = uptime();
    const plansText = env.BENCH_PLANS === '1' || PRELOAD ? await plans(url, DATA) : '';

    // Tasks API and the baseline side by side: what the first spends that the second does not.
    const profiles = [];
    if (PROFILE) {
      const dir = await mkdtemp(join(tmpdir(), 'bench-profile-'));
      const profiled = chooseScenarios(env.BENCH_PROFILE_SCENARIOS ?? 'getTask,listTasks100,createTask,mix');
      for (const scenario of profiled) {
        for (const server of servers.filter((s) => s.kind !== 'floor')) {
          const profilePath = join(dir, `${server.kind}-${scenario.name}.cpuprofile`);
          const doomed = await doomedFor(scenario, SECONDS, `${server.kind}-profile`);
          const m = await measure(server, scenario.name, requests(scenario, DATA, auth, doomed), {
            seconds: SECONDS,
            warmup: 0,
            connections: CONNECTIONS,
            profilePath,
          });
          const label = `${scenario.name} (${server.kind})`;
          profiles.push({ scenario: label, serverUs: m.serverUs, buckets: await summarizeProfile(profilePath) });
        }
      }
    }
    const { rows } = await admin('select version() as version');
    const body = [
      `_Written by \`npm run bench\` (bench/main.ts) at ${new Date().toISOString()}._`,
      '',
      `- Machine: ${String((rows[0] as { version: string }).version).split(' on ')[0]}, Node.js ${process.version}, ${cpus().length} vCPUs, shared with other work`,
      `- \`uptime\` before: \`${uptimeBefore}\`; after: \`${uptimeAfter}\``,
      `- ${CONNECTIONS} connections; each server warmed up on the mix for ${SERVER_WARMUP} s, then ${WARMUP} s warm-up + ${SECONDS} s per scenario and server${ROUNDS > 1 ? `, ${ROUNDS} alternating rounds, the median reported` : ''}; ${DATA.users} users × ${DATA.tasksPerUser} tasks (hot user: ${DATA.hotUserTasks}); pool ${POOL_MAX} per process; Tasks API workers: ${env.BENCH_WORKERS ?? '1'}`,
      '',
      table(results.sort((a, b) => order(a) - order(b))),
      '',
      '#### Targets (Tasks API)',
      '',
      targets(results),
      ...(plansText ? ['', '#### Plans', '', plansText] : []),
      ...(profiles.length
        ? [
            '',
            "#### Where the CPU goes (profile pass; each server's measured CPU per request apportioned by its samples)",
            '',
            profileTable(profiles),
          ]
        : []),
    ].join('\n');
    console.log(`\n${body}`);
    if (OUTPUT !== '-') await writeBetweenMarkers(OUTPUT, body);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof BenchFailure ? `\nBENCH FAILED: ${err.message}` : err);
  process.exitCode = 1;
});
