// The results as Markdown: per scenario and server, the throughput as a share of the floor and of the
// baseline measured in the same run, and whether Tasks API meets issue 10's targets. Written between
// the markers of docs/benchmarks.md (the text around them is the analysis, kept as it is).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { Measurement } from './measure.ts';
import { LABELS, type ServerKind } from './servers.ts';

export const TARGETS = { floor: 0.5, baseline: 0.9, p99Ms: 25 };

const sh = (command: string, ...args: string[]) => {
  try {
    return execFileSync(command, args, { encoding: 'utf8' }).trim();
  } catch {
    return '(unavailable)';
  }
};
export const uptime = () => sh('uptime');

function ratio(m: Measurement, all: Measurement[], of: ServerKind): number | undefined {
  const other = all.find((o) => o.scenario === m.scenario && o.server === of);
  return other ? m.rps / other.rps : undefined;
}
const pct = (r: number | undefined) => (r === undefined ? '—' : r.toFixed(2));
const mark = (ok: boolean | undefined) => (ok === undefined ? '—' : ok ? 'met' : '**not met**');

export function table(all: Measurement[]): string {
  const rows = all.map(
    (m) =>
      `| ${m.scenario} | ${LABELS[m.server]} | ${m.rps.toFixed(0)} | ${pct(ratio(m, all, 'floor'))} | ${pct(ratio(m, all, 'baseline'))} | ${m.p50} | ${m.p99} | ` +
      `${m.serverUs.toFixed(0)} | ${m.serverCores.toFixed(2)} | ${m.postgresUs.toFixed(0)} | ${m.otherCores.toFixed(2)} | ${m.load.toFixed(2)} | ${m.rssMb.toFixed(0)} / ${m.heapMb.toFixed(0)} |`,
  );
  return [
    '| scenario | server | req/s | ÷ floor | ÷ baseline | p50 ms | p99 ms | server CPU µs/req | server cores | PostgreSQL CPU µs/req | other load (cores) | load avg | RSS / live heap MB |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

export function targets(all: Measurement[]): string {
  const rows = all
    .filter((m) => m.server === 'api')
    .map((m) => {
      const [f, b] = [ratio(m, all, 'floor'), ratio(m, all, 'baseline')];
      return `| ${m.scenario} | ${pct(f)} ${mark(f === undefined ? undefined : f >= TARGETS.floor)} | ${pct(b)} ${mark(b === undefined ? undefined : b >= TARGETS.baseline)} | ${m.p99} ${mark(m.p99 < TARGETS.p99Ms)} |`;
    });
  return [
    `| scenario | ÷ floor ≥ ${TARGETS.floor} | ÷ baseline ≥ ${TARGETS.baseline} | p99 < ${TARGETS.p99Ms} ms |`,
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

export function profileTable(profiles: { scenario: string; serverUs: number; buckets: Map<string, number> }[]): string {
  const names = [...new Set(profiles.flatMap((p) => [...p.buckets.keys()]))];
  const busy = (p: (typeof profiles)[number]) => [...p.buckets.values()].reduce((a, b) => a + b, 0);
  const us = (p: (typeof profiles)[number], name: string) => ((p.buckets.get(name) ?? 0) / busy(p)) * p.serverUs;
  names.sort((a, b) => profiles.reduce((t, p) => t + us(p, b) - us(p, a), 0));
  return [
    `| CPU µs per request | ${profiles.map((p) => p.scenario).join(' | ')} |`,
    `| --- | ${profiles.map(() => '---:').join(' | ')} |`,
    ...names.map((name) => `| ${name} | ${profiles.map((p) => us(p, name).toFixed(0)).join(' | ')} |`),
    `| **total (measured)** | ${profiles.map((p) => `**${p.serverUs.toFixed(0)}**`).join(' | ')} |`,
  ].join('\n');
}

const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';

export async function writeBetweenMarkers(file: string, body: string): Promise<void> {
  const current = existsSync(file) ? await readFile(file, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const [start, end] = [current.indexOf(BEGIN), current.indexOf(END)];
  if (start < 0 || end < start) throw new Error(`${file} has no ${BEGIN} … ${END} markers`);
  await writeFile(file, `${current.slice(0, start + BEGIN.length)}\n${body}\n${current.slice(end)}`);
}
