// Device benchmarks for `npm run bench`: device faults per host second and migrated GiB per
// host second, for each design with devices (hmm today; gmem when it exists).

import type { DeviceSpec } from '../src/hetero/device.js';
import { System } from '../src/sim/system.js';
import type { MachineSpec } from '../src/workload/scenario.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const BASE = 0x4000_0000_0000;

function machine(placement: DeviceSpec['placement']): MachineSpec {
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
        pageSize: 4096,
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

function setup(placement: DeviceSpec['placement'], len: number) {
  const s = new System({ machine: machine(placement), design: 'hmm', seed: 1, check: false });
  const t = s.spawn('bench', 0)!;
  s.attach(t, 'gpu');
  const r = s.mmap(t, {
    addr: BASE,
    len,
    prot: 3,
    shared: false,
    fixed: true,
    fixedNoReplace: false,
    populate: false,
    locked: false,
    noreserve: false,
  });
  if (!r.ok) throw new Error(`mmap failed: ${r.errno}`);
  return { s, t };
}

/** Device faults per host second: a device reads 256 MiB the CPU wrote (65536 faults, remote). */
export function deviceFaultRate(): number {
  const len = 256 * MiB;
  const { s, t } = setup('remote', len);
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
  if (r.error !== undefined || faults !== len / 4096)
    throw new Error(`unexpected: ${faults} faults, ${r.error}`);
  return faults / dt;
}

/** Migrated GiB per host second: 256 MiB to the device and back (explicit migrations). */
export function migrateRate(): number {
  const len = 256 * MiB;
  const { s, t } = setup('remote', len);
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
