// `vmlab compare`: one scenario's counters under several designs, side by side, as a table,
// JSON or CSV. Reads finished runs; changes nothing.

import {
  type CounterInfo,
  DEVICE_COUNTERS,
  SYSTEM_COUNTERS,
  type SystemCounter,
} from '../sim/counter-names.js';
import type { RunReport } from '../workload/run.js';
import { show, table } from './format.js';

export type CompareFormat = 'table' | 'json' | 'csv';

export interface Comparison {
  readonly scenario: string;
  readonly designs: readonly string[];
  /** Counter -> one value per design, in `designs` order. */
  readonly counters: ReadonlyArray<{
    readonly name: string;
    readonly unit: CounterInfo['unit'];
    readonly values: number[];
  }>;
  /** How each run went: its own expectations are written for one design and may fail here. */
  readonly runs: ReadonlyArray<{
    readonly design: string;
    readonly stepsRun: number;
    readonly expectFailures: number;
    readonly stopped: boolean;
  }>;
}

/**
 * The counters of each run: system counters (device ones summed), metadata bytes, and each
 * device's counters as `DEVICE.counter`. Rows that are zero under every design are left out.
 */
export function compareReports(runs: readonly RunReport[], steps: number): Comparison {
  const rows: { name: string; unit: CounterInfo['unit']; values: number[] }[] = [];
  const add = (name: string, unit: CounterInfo['unit'], get: (r: RunReport) => number | undefined) => {
    const values = runs.map((r) => get(r) ?? 0);
    if (values.some((v) => v !== 0)) rows.push({ name, unit, values });
  };
  for (const name of Object.keys(SYSTEM_COUNTERS) as SystemCounter[]) {
    if (name in DEVICE_COUNTERS) continue;
    add(name, SYSTEM_COUNTERS[name].unit, (r) => r.system[name]);
  }
  const sys = (r: RunReport) => r.system as unknown as Record<string, number>;
  for (const key of Object.keys(runs[0]?.system ?? {}))
    if (key.startsWith('meta.')) add(key, 'bytes', (r) => sys(r)[key]);
  const devices = [...new Set(runs.flatMap((r) => r.devices.map((d) => d.name)))];
  for (const dev of devices)
    for (const [name, info] of Object.entries(DEVICE_COUNTERS))
      add(
        `${dev}.${name}`,
        info.unit,
        (r) => r.devices.find((d) => d.name === dev)?.counters[name as keyof typeof DEVICE_COUNTERS],
      );
  return {
    scenario: runs[0]?.scenario.name ?? '',
    designs: runs.map((r) => r.scenario.design),
    counters: rows,
    runs: runs.map((r) => ({
      design: r.scenario.design,
      stepsRun: r.stepsRun,
      expectFailures: r.events.filter((e) => e.kind === 'expect-failed').length,
      stopped: r.stepsRun < steps || r.events.some((e) => e.failure && e.kind !== 'expect-failed'),
    })),
  };
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatComparison(c: Comparison, format: CompareFormat): string {
  if (format === 'json') return `${JSON.stringify(c, null, 2)}\n`;
  if (format === 'csv') {
    const lines = [['counter', 'unit', ...c.designs].map(csvField).join(',')];
    for (const r of c.counters) lines.push([r.name, r.unit, ...r.values.map(String)].map(csvField).join(','));
    return `${lines.join('\n')}\n`;
  }
  const rows = [['counter', ...c.designs]];
  for (const r of c.counters) rows.push([r.name, ...r.values.map((v) => show(r.unit, v))]);
  rows.push([
    'expect failures',
    ...c.runs.map((r) => (r.stopped ? `stopped at step ${r.stepsRun}` : String(r.expectFailures))),
  ]);
  return `vmlab compare: ${c.scenario}\n\n${table(rows)}\n`;
}
