// The `linux` design: Linux 6.x on x86-64 — radix page tables (4- or 5-level), anon_vma
// reverse mapping, struct page for every frame.

import { X86PageTable } from '../arch/x86/pagetable.js';
import { Kernel, type KernelConfig, type PmapFactory } from '../mm/kernel.js';

export const x86RadixTables: PmapFactory = {
  create(k: Kernel) {
    const pt = new X86PageTable(k.pool, k.phys.frames.owner, k.config.levels);
    return pt.ok ? pt : null;
  },
};

export function createLinuxKernel(config: KernelConfig): Kernel {
  return new Kernel(config, x86RadixTables);
}
