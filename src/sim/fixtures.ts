// Support for tests and benchmarks: requests and specs with every field a test does not care
// about at its usual value, so that each test states only what it is about.

import type { DeviceSpec } from '../hetero/device.js';
import type { MmapRequest } from '../mm/mmap.js';
import type { MachineSpec } from '../workload/scenario.js';

/** mmap of private anonymous read-write memory at exactly `addr` (MAP_FIXED), flags off. */
export function fixedAnon(addr: number, len: number, over: Partial<MmapRequest> = {}): MmapRequest {
  return {
    addr,
    len,
    prot: 3,
    fixed: true,
    shared: false,
    fixedNoReplace: false,
    populate: false,
    locked: false,
    noreserve: false,
    ...over,
  };
}

/** A device with a 4 KiB MMU, replayable faults in batches of 256 and a 1 GiB/s link. */
export function deviceSpec(over: Partial<DeviceSpec> = {}): DeviceSpec {
  return {
    name: 'gpu',
    memory: 16 * 2 ** 20,
    pageSize: 4096,
    tlb: { entries: 64, ways: 4 },
    replayableFaults: true,
    faultBatch: 256,
    peer: false,
    link: { bandwidth: 2 ** 30, latencyNs: 1000 },
    placement: 'remote',
    ...over,
  };
}

/** One CPU, one memory node of `memory` bytes, 4-level paging, a small TLB. */
export function machineSpec(memory: number, over: Partial<MachineSpec> = {}): MachineSpec {
  return {
    cpus: 1,
    nodes: [memory],
    paging: 'x86-64-4level',
    tlb: { entries: 64, ways: 4 },
    maxMapCount: 65530,
    ...over,
  };
}
