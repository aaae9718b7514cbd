/** The bench's table, as text for the terminal and as Markdown for docs/benchmarks.md. */
import type { Machine } from './env.js';

export interface Figure {
  group: string;
  measure: string;
  figure: string;
  limit: string;
  ratio: string;
  goal: string;
  /** null: no goal for this line. */
  met: boolean | null;
}

export interface Report {
  machine: Machine;
  quick: boolean;
  size: Record<string, number>;
  load: { min: number; max: number; mean: number; samples: number };
  figures: Figure[];
  extra: Record<string, unknown>;
}

const metText = (m: boolean | null) => (m === null ? '' : m ? 'met' : 'MISSED');

function header(r: Report): string[] {
  const m = r.machine;
  return [
    `Run ${m.date} — ${r.quick ? 'quick (small sizes, for development)' : 'full'} — \`${m.command}\``,
    `Machine: ${m.nproc} CPUs (${m.cpu}), ${m.memGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}, SQLite ${m.sqlite}, journal on ${m.fs}`,
    `Load average (1 min) during the run: min ${r.load.min.toFixed(2)}, mean ${r.load.mean.toFixed(2)}, max ${r.load.max.toFixed(2)} (${r.load.samples} samples)`,
  ];
}

export function renderText(r: Report): string {
  const cols = ['measure', 'figure', 'limit', 'ratio', 'goal', 'met'] as const;
  const rows = r.figures.map((f) => ({ ...f, met: metText(f.met) }));
  const width = (c: (typeof cols)[number]) =>
    Math.min(c === 'measure' ? 70 : 60, Math.max(c.length, ...rows.map((x) => String(x[c]).length)));
  const cut = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const lines = [...header(r), ''];
  lines.push(cols.map((c) => cut(c, width(c))).join(' │ '));
  lines.push(cols.map((c) => '─'.repeat(width(c))).join('─┼─'));
  let group = '';
  for (const x of rows) {
    if (x.group !== group) {
      group = x.group;
      lines.push(`[${group}]`);
    }
    lines.push(cols.map((c) => cut(String(x[c]), width(c))).join(' │ '));
  }
  return lines.join('\n');
}

export function renderMarkdown(r: Report): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  const lines = header(r).map((l) => `${l}  `);
  lines.push('');
  lines.push('| | measure | figure | limit (same run) | ratio | goal | |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const f of r.figures)
    lines.push(
      `| ${f.group} | ${esc(f.measure)} | ${esc(f.figure)} | ${esc(f.limit)} | ${esc(f.ratio)} | ${esc(f.goal)} | ${metText(f.met) ? `**${metText(f.met)}**` : ''} |`,
    );
  return lines.join('\n');
}
