// Like for like: before anything is measured (and in CI, alone: npm run bench -- --check) every server
// must answer every operation the bench sends with the same status and body. Reads go to one user's
// seeded tasks and must match exactly; each server writes to a user of its own, and the write answers
// must match once user ids, task ids and timestamps are blanked out.
import { isDeepStrictEqual } from 'node:util';
import { BenchFailure, taskId, userId } from './load.ts';
import { LABELS, type Server } from './servers.ts';

interface Answer {
  status: number;
  body: unknown;
  link: string | null;
  location: string | null;
  /** Which headers came (their values differ: request ids, rate-limit counts, dates). */
  headerNames: string[];
}

/** Headers of the connection, not of the answer. */
const TRANSPORT = new Set(['connection', 'content-length', 'date', 'keep-alive', 'transfer-encoding']);

async function call(url: string, token: string, method: string, body?: unknown): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return {
    status: res.status,
    body: await res.json(),
    link: res.headers.get('link'),
    location: res.headers.get('location'),
    headerNames: [...res.headers.keys()].filter((name) => !TRANSPORT.has(name)).sort(),
  };
}

const blank = (answer: Answer) =>
  JSON.parse(
    JSON.stringify(answer)
      .replace(/bench_\d+/g, 'bench_N')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'TIME'),
  ) as unknown;

export async function checkParity(servers: Server[], tokens: string[]): Promise<void> {
  const reader = 5;
  const reads = (s: Server) => {
    const base = `${s.url}/api/${userId(reader)}/tasks`;
    return [
      `${base}/${taskId(reader, 17)}`,
      `${base}/${taskId(reader, 18).toUpperCase()}`,
      `${base}?limit=20`,
      `${base}?limit=100`,
      `${base}?limit=20&completed=true`,
    ];
  };
  const answers = await Promise.all(
    servers.map(async (s) => Promise.all(reads(s).map((u) => call(u, tokens[reader]!, 'GET')))),
  );
  // The next page, through each server's own Link header.
  for (const [i, s] of servers.entries()) {
    const next = /^<([^>]+)>; rel="next"$/.exec(answers[i]![2]!.link ?? '')?.[1];
    if (!next) throw new BenchFailure(`${LABELS[s.kind]} sent no next-page Link`);
    answers[i]!.push(await call(`${s.url}${next}`, tokens[reader]!, 'GET'));
  }
  const writes = async (s: Server, u: number) => {
    const base = `${s.url}/api/${userId(u)}/tasks`;
    const create = {
      title: '  Parity ',
      description: null,
      priority: 'high',
      tags: ['a', 'A', 'b'],
      due_at: '2026-12-01T10:00:00+02:00',
    };
    const created = await call(base, tokens[u]!, 'POST', create);
    return [
      created,
      await call(`${base}/${taskId(u, 3)}`, tokens[u]!, 'PUT', { title: 'Renamed', completed: true, tags: [] }),
      await call(`${base}/${taskId(u, 4)}/complete`, tokens[u]!, 'PATCH'),
      // The task it created: the seeded ones must all stay for the scenarios.
      await call(`${base}/${(created.body as { id: string }).id}`, tokens[u]!, 'DELETE'),
    ].map(blank);
  };
  const written = await Promise.all(servers.map((s, i) => writes(s, 10 + i)));
  for (const [i, s] of servers.entries()) {
    if (i === 0) continue;
    for (const [what, mine, theirs] of [
      ['reads', answers[i], answers[0]],
      ['writes', written[i], written[0]],
    ] as const) {
      // The floor sends the statement's answer and none of the headers around it.
      const compared = (answer: unknown) => (s.kind === 'floor' ? { ...(answer as Answer), headerNames: [] } : answer);
      const at = mine!.findIndex((answer, j) => !isDeepStrictEqual(compared(answer), compared(theirs![j])));
      if (at >= 0) {
        throw new BenchFailure(
          `${LABELS[s.kind]} and ${LABELS[servers[0]!.kind]} differ on ${what}[${at}]:\n${JSON.stringify(mine![at])}\n${JSON.stringify(theirs![at])}`,
        );
      }
    }
  }
  if (
    answers[0]!.some((a) => a.status !== 200) ||
    written[0]!.map((a) => (a as Answer).status).join() !== '201,200,200,200'
  ) {
    throw new BenchFailure(`unexpected statuses: ${JSON.stringify([answers[0], written[0]])}`);
  }
}
