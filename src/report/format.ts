// Reports read a finished run and print it: a readable table or JSON (sizes in bytes).
// They never change state.

import {
  DEVICE_COUNTERS,
  type DeviceCounter,
  PROCESS_COUNTERS,
  type ProcessCounter,
  SYSTEM_COUNTERS,
  type SystemCounter,
} from '../sim/counter-names.js';
import type { RunReport } from '../workload/run.js';

/** The run as JSON: every counter, sizes in bytes, events with their file positions. */
export function reportJson(r: RunReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

/** /proc prints sizes in kB; so do we, for the counters /proc has. Times print in ms. */
export function show(unit: 'bytes' | 'count' | 'ns', v: number): string {
  if (unit === 'bytes') return `${(v / 1024).toLocaleString('en-US')} kB`;
  if (unit === 'ns')
    return `${(v / 1e6).toLocaleString('en-US', { minimumFractionDigits: 3, maximumFractionDigits: 3 })} ms`;
  return v.toLocaleString('en-US');
}

/** Rows as columns: the first left-aligned, the others right-aligned, two spaces apart. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function reportText(r: RunReport): string {
  const m = r.machine;
  const mem = m.nodes.reduce((a, b) => a + b, 0);
  const out: string[] = [];
  out.push(`vmlab run: ${r.scenario.name} (${r.scenario.file})`);
  out.push(
    `design ${r.scenario.design}, seed ${r.scenario.seed}; machine: ${m.cpus} CPU${m.cpus === 1 ? '' : 's'}, ` +
      `${mem / 2 ** 20} MiB in ${m.nodes.length} node${m.nodes.length === 1 ? '' : 's'}, ${m.paging}, ` +
      `TLB ${m.tlb.entries} entries ${m.tlb.ways}-way, THP ${m.thp?.enabled ?? 'madvise'}${hugepagesText(m)}`,
  );
  out.push('');
  if (r.processes.length > 0) {
    out.push('Processes');
    const head = [
      'counter',
      ...r.processes.map(
        (p) =>
          `${p.name} (pid ${p.pid}${p.state === 'running' ? '' : `, ${p.killedBy ? `killed by ${p.killedBy}` : p.state}`})`,
      ),
    ];
    const rows = [head];
    for (const name of Object.keys(PROCESS_COUNTERS) as ProcessCounter[]) {
      rows.push([name, ...r.processes.map((p) => show(PROCESS_COUNTERS[name].unit, p.counters[name]))]);
    }
    out.push(table(rows));
    out.push('');
  }
  if (r.devices.length > 0) {
    out.push('Devices');
    const rows = [['counter', ...r.devices.map((d) => d.name)]];
    for (const name of Object.keys(DEVICE_COUNTERS) as DeviceCounter[])
      rows.push([name, ...r.devices.map((d) => show(DEVICE_COUNTERS[name].unit, d.counters[name]))]);
    out.push(table(rows));
    out.push('');
  }
  out.push('System');
  const rows = [['counter', 'value']];
  for (const name of Object.keys(SYSTEM_COUNTERS) as SystemCounter[]) {
    if (name in DEVICE_COUNTERS) continue; // per device above (their sums are in the JSON)
    rows.push([name, show(SYSTEM_COUNTERS[name].unit, r.system[name])]);
  }
  out.push(table(rows));
  out.push('');
  out.push('Metadata (bytes the modelled kernel spends: live / peak)');
  const meta = [['structure', 'live', 'peak']];
  for (const key of Object.keys(r.system)) {
    if (!key.startsWith('meta.')) continue;
    const s = key.slice(5);
    const sys = r.system as unknown as Record<string, number>;
    meta.push([s, sys[key].toLocaleString('en-US'), sys[`meta_peak.${s}`].toLocaleString('en-US')]);
  }
  out.push(table(meta));
  out.push('');
  out.push('Estimated time (cost model, sim/cost.ts; memory-management work only)');
  const est = [['category', 'time']];
  for (const [name, ns] of Object.entries(r.estimate)) if (ns > 0) est.push([name, show('ns', ns)]);
  est.push(['total', show('ns', r.system.est_time)]);
  out.push(table(est));
  if (r.events.length > 0) {
    out.push('');
    out.push('Events');
    for (const e of r.events)
      out.push(`  ${e.failure ? 'FAIL' : 'ok  '} ${e.loc.file}:${e.loc.line}:${e.loc.column}: ${e.message}`);
  }
  out.push('');
  out.push(
    r.ok
      ? `ok: ${r.stepsRun} steps`
      : `FAILED: ${r.events.filter((e) => e.failure).length} failure(s) in ${r.stepsRun} steps run`,
  );
  return `${out.join('\n')}\n`;
}

/** ", hugetlb 8 x 2 MiB + 1 x 1 GiB" for a machine with hugetlb pools. */
function hugepagesText(m: RunReport['machine']): string {
  const h = m.hugepages;
  if (h === undefined || h.pages2M + h.pages1G + h.overcommit === 0) return '';
  const parts = [h.pages2M > 0 && `${h.pages2M} x 2 MiB`, h.pages1G > 0 && `${h.pages1G} x 1 GiB`].filter(
    Boolean,
  );
  return `, hugetlb ${parts.join(' + ') || 'none'}${h.overcommit > 0 ? ` (overcommit ${h.overcommit})` : ''}`;
}
