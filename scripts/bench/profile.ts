// Summarises a V8 CPU profile by where the time was spent: each sample's self time goes to the
// package (or part of Node) of the function on top of the stack (for builtins: of their caller).
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface ProfileShare {
  name: string;
  ms: number;
  /** Of the busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  byBucket: ProfileShare[];
  byPackage: ProfileShare[];
}

/**
 * The native calls that write to a socket (the HTTP response, a query to PostgreSQL). Their samples are
 * mostly kernel time, and on a busy machine also time the thread spent preempted right after waking
 * the peer: wall time, not CPU. They are kept apart from everything else.
 */
const SOCKET_WRITES = new Set([
  'writeBuffer',
  'writev',
  'writeUtf8String',
  'writeLatin1String',
  'writeAsciiString',
  'writeUcs2String',
]);
export const SOCKET = 'socket writes (native)';

/** The package a script belongs to, from its URL: the innermost node_modules entry, or a part of Node or the service. */
function owner(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) {
    if (SOCKET_WRITES.has(functionName)) return SOCKET;
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return 'V8/native (program)';
    if (functionName === '(root)') return '(root)';
    return 'V8 builtins (JSON, RegExp, …)';
  }
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first?.startsWith('@') ? `${first}/${second}` : (first ?? url);
  }
  if (url.startsWith('node:')) {
    const path = url.slice('node:'.length).replace(/^internal\//, '');
    if (/^(crypto|webcrypto)/.test(path)) return 'node: crypto';
    if (/^(_?http|http|net|stream|streams|tcp|dns|url|querystring|buffer|timers)/.test(path))
      return 'node: http/net/streams';
    return 'node: other';
  }
  if (url.includes('/src/')) return 'service code (src/)';
  if (url.includes('/scripts/')) return 'baseline server code (scripts/bench/)';
  return url;
}

/** The larger buckets the interpretation talks about. */
const BUCKETS: [RegExp, string][] = [
  [
    /^(express-openapi-validator|ajv|ajv-formats|ajv-draft-04|fast-uri|json-schema-traverse|fast-deep-equal|@apidevtools\/.*|path-to-regexp|media-typer|lodash.*|content-type)$/,
    'OpenAPI validator (express-openapi-validator, ajv)',
  ],
  [
    /^(express|router|body-parser|raw-body|iconv-lite|type-is|mime-types|mime-db|qs|finalhandler|send|serve-static|on-finished|content-disposition|vary|cookie|cookie-signature|depd|debug|ms|statuses|http-errors|accepts|negotiator|parseurl|encodeurl|escape-html|etag|fresh|range-parser|proxy-addr|forwarded|ipaddr\.js|merge-descriptors|setprototypeof|inherits|unpipe|safe-buffer|safer-buffer|bytes|destroy|ee-first|toidentifier|utils-merge|methods|once|wrappy|is-promise|helmet|cors|object-assign|call-bind.*|get-intrinsic|es-.*|function-bind|hasown|has-symbols|gopd|side-channel.*|dunder-proto|math-intrinsics|get-proto|object-inspect)$/,
    'Express + middleware (router, body-parser, helmet, qs, …)',
  ],
  [/^jose$/, 'JWT (jose)'],
  [/^node: crypto$/, 'JWT (jose)'],
  [/^(@mikro-orm\/.*|kysely|dataloader|reflect-metadata|uuid)$/, 'MikroORM + kysely'],
  [/^(pg|pg-.*|postgres-.*|pgpass|split2|buffer-writer|packet-reader)$/, 'pg driver'],
  [
    /^(pino|pino-.*|sonic-boom|thread-stream|atomic-sleep|on-exit-leak-free|quick-format-unescaped|fast-redact|safe-stable-stringify|real-require|process-warning)$/,
    'logger (pino)',
  ],
  [/^service code/, 'service code (src/)'],
  [/^baseline server code/, 'baseline server code (scripts/bench/)'],
  [/^node: http\/net\/streams$/, 'Node http/net/streams'],
  [/^node: other$/, 'Node (other)'],
  [/^GC$/, 'GC'],
  [/^socket writes/, SOCKET],
  [/^V8/, 'V8 (program, builtins called from Node internals)'],
];

function bucketOf(pkg: string): string {
  for (const [pattern, bucket] of BUCKETS) if (pattern.test(pkg)) return bucket;
  return `other: ${pkg}`;
}

function shares(totals: Map<string, number>, busyMs: number): ProfileShare[] {
  return [...totals.entries()]
    .map(([name, ms]) => ({ name, ms, share: busyMs > 0 ? ms / busyMs : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

/**
 * Self time by owner. A V8 builtin (JSON.stringify, a RegExp, Array.prototype.map, …) has no script of
 * its own: its time goes to the nearest caller that has one, so JSON.stringify inside res.json counts
 * for Express, a RegExp inside the validator for the validator.
 */
export async function summarizeProfile(path: string): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const parentOf = new Map<number, number>();
  const nodeById = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    nodeById.set(node.id, node);
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const ownerById = new Map<number, string>();
  const ownerOf = (id: number): string => {
    const known = ownerById.get(id);
    if (known !== undefined) return known;
    const node = nodeById.get(id)!;
    let who = owner(node.callFrame);
    if (who.startsWith('V8 builtins')) {
      const parent = parentOf.get(id);
      const inherited = parent === undefined ? undefined : ownerOf(parent);
      if (inherited && inherited !== '(root)' && inherited !== '(idle)') who = inherited;
    }
    ownerById.set(id, who);
    return who;
  };
  for (const node of profile.nodes) ownerOf(node.id);
  const byPackage = new Map<string, number>();
  let idleMs = 0;
  let busyMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const who = ownerById.get(id) ?? '(unknown)';
    if (who === '(idle)' || who === '(root)') {
      idleMs += ms;
      return;
    }
    busyMs += ms;
    byPackage.set(who, (byPackage.get(who) ?? 0) + ms);
  });
  const byBucket = new Map<string, number>();
  for (const [pkg, ms] of byPackage) byBucket.set(bucketOf(pkg), (byBucket.get(bucketOf(pkg)) ?? 0) + ms);
  return { busyMs, idleMs, byBucket: shares(byBucket, busyMs), byPackage: shares(byPackage, busyMs) };
}
