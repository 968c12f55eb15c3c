// Designs by name. A design decides what fills each strategy slot of the core.

import type { HeteroDesign } from '../hetero/design.js';
import type { DeviceSpec } from '../hetero/device.js';
import type { Rng } from '../lib/rng.js';
import type { Kernel, KernelConfig } from '../mm/kernel.js';
import { createGmem } from './gmem.js';
import { createHmm } from './hmm.js';
import { createLinuxKernel } from './linux.js';
import type { DesignName } from './names.js';

export { DESIGN_NAMES, type DesignName } from './names.js';

export interface Design {
  readonly summary: string;
  create(config: KernelConfig): Kernel;
  /** The heterogeneous-memory slot: how devices share the address space (absent: no devices). */
  /** `rng` forks the scenario's seeded stream for a policy that draws. */
  hetero?(k: Kernel, devices: readonly DeviceSpec[], rng: () => Rng): HeteroDesign;
}

export const DESIGNS: Record<DesignName, Design> = {
  linux: {
    summary: 'Linux 6.x, x86-64: radix page tables, anon_vma rmap, struct page per frame',
    create: createLinuxKernel,
  },
  hmm: {
    summary:
      'Linux 6.x with HMM: devices mirror the CPU page table (mmu_interval_notifier, hmm_range_fault) and migrate to device-private memory (migrate_vma)',
    create: createLinuxKernel,
    hetero: createHmm,
  },
  gmem: {
    summary:
      'Linux 6.x with gmem (RFC, Nov 2023): MAP_PEER_SHARED memory in a per-process logical page table (vm_object of gm_mappings), gm_dev_fault, hmadvise, device oversubscription',
    create: createLinuxKernel,
    hetero: createGmem,
  },
};
