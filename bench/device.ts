// `npm run bench:device`: the device rows of `npm run bench` alone, in a fresh process
// (BENCH_RUNS runs, default 5, medians). Use it to compare two commits' device paths without
// the rest of the benchmark warming or cluttering the heap first.

import { deviceFaultRate, migrateRate } from './hetero.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const runs = Number(process.env.BENCH_RUNS ?? 5);
const rows: [string, () => number, (x: number) => string][] = [
  ['hmm: device faults per second', () => deviceFaultRate(), (x) => Math.round(x).toLocaleString('en-US')],
  ['hmm: migrated GiB per second', () => migrateRate(), (x) => x.toFixed(2)],
  [
    'gmem: device faults per second',
    () => deviceFaultRate('gmem'),
    (x) => Math.round(x).toLocaleString('en-US'),
  ],
  ['gmem: migrated GiB per second', () => migrateRate('gmem'), (x) => x.toFixed(2)],
];
const got = rows.map(() => [] as number[]);
for (let i = 0; i < runs; i++) for (const [j, [, f]] of rows.entries()) got[j].push(f());
console.log(`vmlab device bench (node ${process.version}, ${runs} runs, medians)`);
for (const [j, [name, , fmt]] of rows.entries()) console.log(`${name.padEnd(32)} ${fmt(median(got[j]))}`);
