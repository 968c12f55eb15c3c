// Designs by name. A design decides what fills each strategy slot of the core.

import type { Kernel, KernelConfig } from '../mm/kernel.js';
import { createLinuxKernel } from './linux.js';
import type { DesignName } from './names.js';

export { DESIGN_NAMES, type DesignName } from './names.js';

export const DESIGNS: Record<DesignName, { readonly summary: string; create(config: KernelConfig): Kernel }> =
  {
    linux: {
      summary: 'Linux 6.x, x86-64: radix page tables, anon_vma rmap, struct page per frame',
      create: createLinuxKernel,
    },
  };
