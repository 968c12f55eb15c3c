// Shared anonymous memory (mm/shmem.c shmem_zero_setup): a MAP_SHARED|MAP_ANONYMOUS area
// is backed by an unnamed shmem object whose page cache holds the pages. The cache holds
// one reference on each page; mappings add theirs. The object lives while a VMA uses it.

export class ShmemObject {
  readonly id: number;
  /** Size in pages (the mapping's length when created). */
  size: number;
  /** Page cache: page index -> pfn. */
  readonly pages = new Map<number, number>();
  /** VMAs referring to the object (the file's reference count). */
  users = 0;

  constructor(id: number, size: number) {
    this.id = id;
    this.size = size;
  }
}
