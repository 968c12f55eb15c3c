// Anonymous reverse mapping objects (mm/rmap.c): an anon_vma per family of VMAs,
// linked to each VMA by an anon_vma_chain. Created lazily at the first anonymous
// fault that needs one (anon_vma_prepare); split VMAs share it (anon_vma_clone adds a chain).
// Fork's per-child anon_vma comes with the [baseline] work.

/** sizeof(struct anon_vma) on x86-64: root 8, rwsem 40, refcount 4 (+4), num_children 8,
 * num_active_vmas 8, parent 8, rb_root_cached 16 (include/linux/rmap.h). */
export const ANON_VMA_BYTES = 96;
/** sizeof(struct anon_vma_chain): vma 8, anon_vma 8, same_vma 16, rb 24, rb_subtree_last 8. */
export const ANON_VMA_CHAIN_BYTES = 64;

export class AnonVma {
  readonly id: number;
  /** VMAs linked to this anon_vma (anon_vma_chain entries). */
  chains = 0;

  constructor(id: number) {
    this.id = id;
  }
}
