// Device benchmarks for `npm run bench`: device faults per host second and migrated GiB per
// host second, for each design with devices: hmm (4 KiB device pages, remote mapping) and
// gmem (2 MiB device pages of MAP_PEER_SHARED memory, migrated on fault).

import type { DeviceSpec } from '../src/hetero/device.js';
import { fixedAnon } from '../src/sim/fixtures.js';
import { System } from '../src/sim/system.js';
import type { MachineSpec } from '../src/workload/scenario.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const BASE = 0x4000_0000_0000;

export type BenchDesign = 'hmm' | 'gmem';

function machine(placement: DeviceSpec['placement'], design: BenchDesign): MachineSpec {
  return {
    cpus: 2,
    nodes: [2 * GiB],
    paging: 'x86-64-4level',
    tlb: { entries: 1536, ways: 12 },
    maxMapCount: 65530,
    devices: [
      {
        name: 'gpu',
        memory: GiB,
        pageSize: design === 'gmem' ? 2 * MiB : 4096,
        tlb: { entries: 2048, ways: 16 },
        replayableFaults: true,
        faultBatch: 256,
        peer: false,
        link: { bandwidth: 24 * GiB, latencyNs: 1000 },
        placement,
      },
    ],
  };
}

function setup(placement: DeviceSpec['placement'], len: number, design: BenchDesign) {
  const s = new System({ machine: machine(placement, design), design, seed: 1, check: false });
  const t = s.spawn('bench', 0)!;
  s.attach(t, 'gpu');
  const r = s.mmap(t, fixedAnon(BASE, len, { peerShared: design === 'gmem' }));
  if (!r.ok) throw new Error(`mmap failed: ${r.errno}`);
  return { s, t };
}

/**
 * Device faults per host second: a device reads 256 MiB the CPU wrote (hmm: 65536 faults, each
 * page mapped remotely; gmem: 32768 faults, 128 device pages of 2 MiB migrated).
 */
export function deviceFaultRate(design: BenchDesign = 'hmm'): number {
  const len = 256 * MiB;
  const { s, t } = setup('remote', len, design);
  s.touch(t, { addr: BASE, length: len, op: 'write', pattern: 'sequential' });
  const t0 = performance.now();
  const r = s.deviceRun(t, 'gpu', {
    addr: BASE,
    length: len,
    op: 'read',
    pattern: 'sequential',
    stride: 4096,
  });
  const dt = (performance.now() - t0) / 1000;
  const faults = s.deviceCounters().gpu.dev_faults;
  // gmem: the first batch of 256 faults in a 2 MiB device page migrates all of it, so the
  // other 256 pages never fault.
  const expected = design === 'gmem' ? len / 4096 / 2 : len / 4096;
  if (r.error !== undefined || faults !== expected)
    throw new Error(`unexpected: ${faults} faults, ${r.error}`);
  return faults / dt;
}

/** Migrated GiB per host second: 256 MiB to the device and back (explicit migrations). */
export function migrateRate(design: BenchDesign = 'hmm'): number {
  const len = 256 * MiB;
  const { s, t } = setup('remote', len, design);
  s.touch(t, { addr: BASE, length: len, op: 'write', pattern: 'sequential' });
  const t0 = performance.now();
  const a = s.migrate(t, 'gpu', BASE, len, 'device');
  const b = s.migrate(t, 'gpu', BASE, len, 'system');
  const dt = (performance.now() - t0) / 1000;
  const c = s.deviceCounters().gpu;
  if (a.error || b.error || c.dev_migrate_to_device !== len / 4096 || c.dev_migrate_to_system !== len / 4096)
    throw new Error(`unexpected migration: ${a.error ?? ''} ${b.error ?? ''}`);
  return (2 * len) / GiB / dt;
}
