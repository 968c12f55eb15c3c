// The `hmm` design: Linux 6.x (the linux preset) plus devices that mirror the CPU page table
// through mmu_interval_notifiers and hmm_range_fault, with device-private memory reached by
// migrate_vma_* (Documentation/mm/hmm.rst). The device side is hetero/hmm.ts.

import type { DeviceSpec } from '../hetero/device.js';
import { HmmDesign } from '../hetero/hmm.js';
import type { Rng } from '../lib/rng.js';
import type { Kernel } from '../mm/kernel.js';

export function createHmm(k: Kernel, devices: readonly DeviceSpec[], rng?: () => Rng): HmmDesign {
  return new HmmDesign(k, devices, rng);
}
