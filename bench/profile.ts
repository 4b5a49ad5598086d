// A V8 CPU profile summed by where the time went: each sample's self time goes to the package of the
// function on top of the stack (a builtin such as JSON.stringify or a RegExp: to its caller's), then
// to one of a few buckets the analysis talks about.
import { readFile } from 'node:fs/promises';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

const BUCKETS: [RegExp, string][] = [
  [
    /\/(express-openapi-validator|ajv|ajv-formats|fast-uri|path-to-regexp|@apidevtools\/[^/]+|lodash[^/]*)\//,
    'OpenAPI validator',
  ],
  [/\/jose\/|^node:internal\/crypto/, 'JWT (jose, crypto)'],
  [/\/(@mikro-orm\/[^/]+|kysely)\//, 'MikroORM + kysely'],
  [/\/(pg|pg-[a-z-]+|postgres-[a-z-]+)\//, 'pg driver'],
  [/\/(pino|sonic-boom|thread-stream)\//, 'logger'],
  [/^\/[\w.@-]+\//, 'Express, middleware, other packages'], // any other node_modules package
  [/\/src\//, 'service code (src/)'],
  [/\/bench\//, 'baseline code (bench/)'],
  [/^node:/, 'Node (http, net, streams, …)'],
];

function bucket({ functionName, url }: { functionName: string; url: string }): string | undefined {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)' || functionName === '(root)') return 'idle';
    if (functionName === '(program)') return 'V8 (program)';
    return /^write/.test(functionName) ? 'socket writes (native)' : undefined; // a builtin: its caller's
  }
  // The profiler's own work (stopping, serialising the profile) is no request's.
  if (url.startsWith('node:inspector')) return 'idle';
  // The innermost node_modules package decides (a dependency's dependency is its own bucket).
  const path = url.includes('/node_modules/') ? url.slice(url.lastIndexOf('/node_modules/') + 13) : url;
  for (const [pattern, name] of BUCKETS) if (pattern.test(path)) return name;
  return 'other';
}

/** Milliseconds of busy samples per bucket. */
export async function summarizeProfile(path: string): Promise<Map<string, number>> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owner = (id: number): string =>
    bucket(byId.get(id)!.callFrame) ?? (parent.has(id) ? owner(parent.get(id)!) : 'other');
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const name = owner(id);
    if (name !== 'idle') totals.set(name, (totals.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return totals;
}
