// `npm run bench`: the core's speed and memory figures. Prints medians over repeated runs.
// Record results in BENCHMARKS.md with the command that produced them.

import { DEFAULT_THP } from '../src/mm/thp-state.js';
import { fixedAnon } from '../src/sim/fixtures.js';
import { System } from '../src/sim/system.js';
import type { MachineSpec } from '../src/workload/scenario.js';
import { deviceFaultRate, migrateRate } from './hetero.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const BASE = 0x4000_0000_0000;

function machine(bytes: number, cpus = 2): MachineSpec {
  return {
    cpus,
    nodes: [bytes],
    paging: 'x86-64-4level',
    tlb: { entries: 1536, ways: 12 },
    maxMapCount: 65530,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function anonMap(s: System, len: number) {
  const t = s.spawn('bench', 0)!;
  const r = s.mmap(t, fixedAnon(BASE, len));
  if (!r.ok) throw new Error(`mmap failed: ${r.errno}`);
  return t;
}

/** Anonymous write faults per host second: every page of 1 GiB written once. */
function faultRate(): number {
  const s = new System({ machine: machine(4 * GiB), design: 'linux', seed: 1, check: false });
  const t = anonMap(s, GiB);
  const t0 = performance.now();
  const r = s.touch(t, { addr: BASE, length: GiB, op: 'write', pattern: 'sequential' });
  const dt = (performance.now() - t0) / 1000;
  const faults = s.processCounters(t).min_flt;
  if (faults !== 262144 || r.error) throw new Error(`unexpected: ${faults} faults, ${r.error}`);
  s.exit(t);
  return faults / dt;
}

/**
 * THP write faults per host second: enabled=always, 2 GiB written one access per 2 MiB (only
 * the faults: each maps a 2 MiB folio with one PMD), 16 rounds of 1024 faults.
 */
function thpFaultRate(): number {
  const m: MachineSpec = { ...machine(4 * GiB), thp: { ...DEFAULT_THP, enabled: 'always' } };
  const s = new System({ machine: m, design: 'linux', seed: 1, check: false });
  let faults = 0;
  let dt = 0;
  for (let round = 0; round < 16; round++) {
    const t = anonMap(s, 2 * GiB);
    const t0 = performance.now();
    const r = s.touch(t, { addr: BASE, length: 2 * GiB, op: 'write', pattern: 'strided', stride: 2 * MiB });
    dt += (performance.now() - t0) / 1000;
    if (r.error) throw new Error(`THP touch failed: ${r.error}`);
    faults += s.processCounters(t).min_flt;
    s.exit(t);
  }
  const alloc = s.systemCounters().thp_fault_alloc;
  if (faults !== 16 * 1024 || alloc !== faults)
    throw new Error(`unexpected: ${faults} faults, ${alloc} THPs`);
  return faults / dt;
}

/** TLB-hit accesses per host second: random reads over 1024 resident pages (fits the TLB). */
function tlbHitRate(): number {
  const s = new System({ machine: machine(GiB), design: 'linux', seed: 1, check: false });
  const t = anonMap(s, 4 * MiB);
  s.touch(t, { addr: BASE, length: 4 * MiB, op: 'write', pattern: 'sequential' });
  s.touch(t, { addr: BASE, length: 4 * MiB, op: 'read', pattern: 'sequential' });
  const n = 5_000_000;
  const before = s.processCounters(t).tlb_hits;
  const t0 = performance.now();
  s.touch(t, { addr: BASE, length: 4 * MiB, op: 'read', pattern: 'random', count: n });
  const dt = (performance.now() - t0) / 1000;
  const hits = s.processCounters(t).tlb_hits - before;
  if (hits !== n) throw new Error(`expected ${n} TLB hits, got ${hits}`);
  return n / dt;
}

/**
 * fork of a process with 1 GiB resident: host ms and the cost model's simulated ms; then the
 * child's CoW faults per host second.
 */
function forkAndCow(): { forkMs: number; forkSimMs: number; cowRate: number } {
  const s = new System({ machine: machine(4 * GiB), design: 'linux', seed: 1, check: false });
  const t = anonMap(s, GiB);
  s.touch(t, { addr: BASE, length: GiB, op: 'write', pattern: 'sequential' });
  const est0 = s.systemCounters().est_time;
  const t0 = performance.now();
  const child = s.fork(t, 'child');
  const forkMs = performance.now() - t0;
  const forkSimMs = (s.systemCounters().est_time - est0) / 1e6;
  if (child === null) throw new Error('fork failed');
  const t1 = performance.now();
  s.touch(child, { addr: BASE, length: GiB, op: 'write', pattern: 'sequential' });
  const dt = (performance.now() - t1) / 1000;
  const faults = s.processCounters(child).min_flt;
  if (faults !== 262144) throw new Error(`expected 262144 CoW faults, got ${faults}`);
  return { forkMs, forkSimMs, cowRate: faults / dt };
}

/**
 * Reclaim throughput: a process writes 512 MiB of anonymous memory on a 256 MiB machine with
 * 512 MiB of swap, then reads it all back; kswapd and direct reclaim scan and swap out what
 * does not fit. Pages scanned and reclaimed per host second of the whole run.
 */
function reclaimRate(): { scanned: number; reclaimed: number; seconds: number } {
  const s = new System({
    machine: { ...machine(256 * MiB), swapBytes: 512 * MiB },
    design: 'linux',
    seed: 1,
    check: false,
  });
  const t = anonMap(s, 512 * MiB);
  const t0 = performance.now();
  const w = s.touch(t, { addr: BASE, length: 512 * MiB, op: 'write', pattern: 'sequential' });
  const r = s.touch(t, { addr: BASE, length: 512 * MiB, op: 'read', pattern: 'sequential' });
  const seconds = (performance.now() - t0) / 1000;
  if (w.error || r.error) throw new Error(`reclaim bench: ${w.error ?? r.error}`);
  const c = s.systemCounters();
  const scanned = c.pgscan_kswapd + c.pgscan_direct;
  const reclaimed = c.pgsteal_kswapd + c.pgsteal_direct;
  if (c.pswpout === 0 || c.pswpin === 0) throw new Error('reclaim bench: nothing was swapped');
  return { scanned: scanned / seconds, reclaimed: reclaimed / seconds, seconds };
}

/**
 * mmap without an address, 60000 times, alternating protections so that no two merge: 60000
 * VMAs packed top-down. mmaps per host second (each search must find its gap at once).
 */
function mmapRate(): number {
  const s = new System({ machine: machine(GiB), design: 'linux', seed: 1, check: false });
  const t = s.spawn('bench', 0)!;
  const n = 60_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = s.mmap(t, fixedAnon(0, 4096, { fixed: false, prot: i % 2 === 0 ? 1 : 3 }));
    if (!r.ok) throw new Error(`mmap ${i} failed: ${r.errno}`);
  }
  const dt = (performance.now() - t0) / 1000;
  if (t.mm!.mapCount < n) throw new Error(`expected ${n} VMAs, got ${t.mm!.mapCount}`);
  return n / dt;
}

/**
 * A 64 GiB machine: start-up time and host bytes per simulated frame. Run first, in a fresh
 * process, so that the heap holds nothing else; typed arrays and the JS heap are both counted.
 */
function bigMachine(): { seconds: number; bytesPerFrame: number; hostBytes: number } {
  globalThis.gc?.();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const s = new System({ machine: machine(64 * GiB), design: 'linux', seed: 1, check: false });
  const seconds = (performance.now() - t0) / 1000;
  globalThis.gc?.();
  const after = process.memoryUsage();
  const hostBytes = after.arrayBuffers - before.arrayBuffers + Math.max(0, after.heapUsed - before.heapUsed);
  const frames = s.kernel.phys.totalPages;
  return { seconds, bytesPerFrame: hostBytes / frames, hostBytes };
}

const big = bigMachine();
const runs = Number(process.env.BENCH_RUNS ?? 5);
const faults: number[] = [];
const hits: number[] = [];
const forks: number[] = [];
let forkSim = 0;
const cows: number[] = [];
const scans: number[] = [];
const steals: number[] = [];
const thps: number[] = [];
const devFaults: number[] = [];
const migrations: number[] = [];
const gmemFaults: number[] = [];
const gmemMigrations: number[] = [];
const mmaps: number[] = [];
for (let i = 0; i < runs; i++) {
  mmaps.push(mmapRate());
  devFaults.push(deviceFaultRate());
  migrations.push(migrateRate());
  gmemFaults.push(deviceFaultRate('gmem'));
  gmemMigrations.push(migrateRate('gmem'));
  const rr = reclaimRate();
  scans.push(rr.scanned);
  steals.push(rr.reclaimed);
  faults.push(faultRate());
  thps.push(thpFaultRate());
  hits.push(tlbHitRate());
  const f = forkAndCow();
  forks.push(f.forkMs);
  forkSim = f.forkSimMs;
  cows.push(f.cowRate);
}
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(`vmlab bench (node ${process.version}, ${runs} runs, medians)`);
console.log(
  `anonymous write faults per second   ${fmt(median(faults))}   (target >= 2,000,000; 1 GiB written once)`,
);
console.log(
  `THP write faults per second         ${fmt(median(thps))}   (2 MiB each: 2 GiB written once per 2 MiB, enabled=always)`,
);
console.log(
  `TLB-hit accesses per second         ${fmt(median(hits))}   (target >= 30,000,000; random reads over 4 MiB resident)`,
);
console.log(
  `fork of 1 GiB resident, host ms     ${median(forks).toFixed(1)}   (simulated: ${forkSim.toFixed(1)} ms by the cost model)`,
);
console.log(`CoW write faults per second         ${fmt(median(cows))}   (the child rewriting 1 GiB)`);
console.log(`mmaps without an address per second ${fmt(median(mmaps))}   (60,000 VMAs packed top-down)`);
console.log(
  `reclaim: pages scanned per second   ${fmt(median(scans))}   (512 MiB written and read back on 256 MiB + swap)`,
);
console.log(`reclaim: pages reclaimed per second ${fmt(median(steals))}`);
console.log(
  `hmm: device faults per second       ${fmt(median(devFaults))}   (a device reading 256 MiB the CPU wrote, batches of 256)`,
);
console.log(
  `hmm: migrated GiB per second        ${median(migrations).toFixed(2)}   (256 MiB to the device and back)`,
);
console.log(
  `gmem: device faults per second      ${fmt(median(gmemFaults))}   (the same read: 2 MiB device pages migrated on fault)`,
);
console.log(
  `gmem: migrated GiB per second       ${median(gmemMigrations).toFixed(2)}   (256 MiB to the device and back)`,
);
console.log(
  `host bytes per simulated frame      ${big.bytesPerFrame.toFixed(1)}   (frame table + LRU links)`,
);
console.log(
  `64 GiB machine: start-up ${(big.seconds * 1000).toFixed(0)} ms, host memory ${(big.hostBytes / MiB).toFixed(0)} MiB   (targets < 1000 ms, < 2048 MiB)`,
);
