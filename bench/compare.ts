/**
 * Compares the door, alarm and memory figures of two sets of bench runs (the JSON files that
 * `npm run bench` writes), each set summarised by its median, the change in per cent beside it:
 *   node --import tsx bench/compare.ts before/*.json -- after/*.json
 * Made to check that a change of structure costs nothing: run the same `--quick --only door,alarm,process`
 * bench several times on each side, alternating, on a quiet machine.
 */
import { readFileSync } from 'node:fs';

interface Figure {
  group: string;
  measure: string;
  figure: string;
}

const FIGURES: { name: string; match: (f: Figure) => boolean; pick: RegExp; unit: string }[] = [
  {
    name: 'badge → unlock p50',
    match: (f) => f.measure.startsWith('badge → unlock'),
    pick: /p50 ([\d.]+)/,
    unit: 'ms',
  },
  {
    name: 'badge → unlock p99',
    match: (f) => f.measure.startsWith('badge → unlock'),
    pick: /p99 ([\d.]+)/,
    unit: 'ms',
  },
  {
    name: 'forced door → PUBACK p50',
    match: (f) => f.group === 'Alarms' && f.measure.startsWith('forced door'),
    pick: /p50 ([\d.]+)/,
    unit: 'ms',
  },
  {
    name: 'forced door → PUBACK p99',
    match: (f) => f.group === 'Alarms' && f.measure.startsWith('forced door'),
    pick: /p99 ([\d.]+)/,
    unit: 'ms',
  },
  {
    name: 'RSS 15 s after the load',
    match: (f) => f.measure.startsWith('resident memory'),
    pick: /^([\d.]+) MB/,
    unit: 'MB',
  },
];

function values(files: string[]): Map<string, number[]> {
  const out = new Map<string, number[]>(FIGURES.map((f) => [f.name, []]));
  for (const file of files) {
    const figures = (JSON.parse(readFileSync(file, 'utf8')) as { figures: Figure[] }).figures;
    for (const want of FIGURES) {
      const m = figures.find(want.match)?.figure.match(want.pick);
      if (m) out.get(want.name)!.push(Number(m[1]));
    }
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const args = process.argv.slice(2);
const cut = args.indexOf('--');
if (cut < 1 || cut === args.length - 1) {
  process.stderr.write('usage: bench/compare.ts BEFORE.json... -- AFTER.json...\n');
  process.exit(2);
}
const before = values(args.slice(0, cut));
const after = values(args.slice(cut + 1));
const rows = [['figure', 'before (median, runs)', 'after (median, runs)', 'change']];
for (const f of FIGURES) {
  const b = before.get(f.name)!;
  const a = after.get(f.name)!;
  if (b.length === 0 || a.length === 0) {
    rows.push([f.name, b.join(' '), a.join(' '), 'missing']);
    continue;
  }
  const mb = median(b);
  const ma = median(a);
  const pct = ((ma - mb) / mb) * 100;
  rows.push([
    f.name,
    `${mb} ${f.unit} (${b.join(', ')})`,
    `${ma} ${f.unit} (${a.join(', ')})`,
    `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %`,
  ]);
}
rows.splice(1, 0, ['---', '---', '---', '---']);
for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
