// Anonymous reverse mapping objects (mm/rmap.c): an anon_vma per family of VMAs, linked to
// each VMA by an anon_vma_chain. Created lazily at the first anonymous fault that needs one
// (anon_vma_prepare); split and moved VMAs share their chain (anon_vma_clone); a forked VMA
// links to every anon_vma of its parent's chain and gets one of its own (anon_vma_fork),
// unless an old one without active VMAs can be reused.

import type { Vma } from './vma.js';

/** sizeof(struct anon_vma) on x86-64: root 8, rwsem 40, refcount 4 (+4), num_children 8,
 * num_active_vmas 8, parent 8, rb_root_cached 16 (include/linux/rmap.h). */
export const ANON_VMA_BYTES = 96;
/** sizeof(struct anon_vma_chain): vma 8, anon_vma 8, same_vma 16, rb 24, rb_subtree_last 8. */
export const ANON_VMA_CHAIN_BYTES = 64;

export class AnonVma {
  readonly id: number;
  /** The anon_vma of the VMA this one's VMA was forked from (null for a root). */
  readonly parent: AnonVma | null;
  /** VMAs linked to this anon_vma (its anon_vma_chain entries: the rmap's interval tree). */
  readonly vmas = new Set<Vma>();
  /** VMAs whose own anon_vma (vma->anon_vma) this is: num_active_vmas. */
  numActiveVmas = 0;
  /** anon_vmas whose parent this is: num_children (the root counts itself, as Linux does). */
  numChildren = 0;

  constructor(id: number, parent: AnonVma | null) {
    this.id = id;
    this.parent = parent;
  }
}
