// hugetlb reservation maps (mm/hugetlb.c struct resv_map and its file_region list): a set of
// huge-page indexes kept as sorted, coalesced [from, to) regions, with region_chg, region_add,
// region_del and region_count. What a region means depends on who owns the map
// (Documentation/mm/hugetlbfs_reserv.rst):
//   - a hugetlbfs inode's map (shared mappings): the file's pages that have a reservation or
//     have been instantiated; the entry stays when the page is faulted in;
//   - a MAP_PRIVATE mapping's map (held by the VMA that mmap()ed it, the reservation owner):
//     the pages whose reservation has been consumed; no entry means a reservation is there.
// vmlab's indexes are huge-page numbers (vma_hugecache_offset), as in Linux.

export class ResvMap {
  /** Region starts and ends, sorted, disjoint and never adjacent. */
  private readonly from: number[] = [];
  private readonly to: number[] = [];
  /** References: the owning VMA and the VMAs split off it (kref of resv_map). */
  refs = 1;

  /** region_count: indexes of [f, t) in the map. */
  count(f: number, t: number): number {
    let n = 0;
    for (let i = 0; i < this.from.length; i++) {
      if (this.to[i] <= f) continue;
      if (this.from[i] >= t) break;
      n += Math.min(this.to[i], t) - Math.max(this.from[i], f);
    }
    return n;
  }

  /** region_chg's count: indexes of [f, t) not in the map. */
  chg(f: number, t: number): number {
    return t - f - this.count(f, t);
  }

  has(index: number): boolean {
    return this.count(index, index + 1) === 1;
  }

  /** region_add: put [f, t) in the map; returns how many indexes were not there before. */
  add(f: number, t: number): number {
    if (f >= t) return 0;
    const added = this.chg(f, t);
    // The regions touching or overlapping [f, t) merge with it into one.
    let lo = 0;
    while (lo < this.from.length && this.to[lo] < f) lo++;
    let hi = lo;
    let start = f;
    let end = t;
    while (hi < this.from.length && this.from[hi] <= t) {
      start = Math.min(start, this.from[hi]);
      end = Math.max(end, this.to[hi]);
      hi++;
    }
    this.from.splice(lo, hi - lo, start);
    this.to.splice(lo, hi - lo, end);
    return added;
  }

  /** region_del: take [f, t) out of the map (t may be Infinity: LONG_MAX); returns how many were there. */
  del(f: number, t: number): number {
    const removed = this.count(f, t);
    if (removed === 0) return 0;
    const from: number[] = [];
    const to: number[] = [];
    for (let i = 0; i < this.from.length; i++) {
      const a = this.from[i];
      const b = this.to[i];
      if (b <= f || a >= t) {
        from.push(a);
        to.push(b);
        continue;
      }
      if (a < f) {
        from.push(a);
        to.push(f);
      }
      if (b > t) {
        from.push(t);
        to.push(b);
      }
    }
    this.from.splice(0, this.from.length, ...from);
    this.to.splice(0, this.to.length, ...to);
    return removed;
  }

  /** Every index in the map, ascending (for checks). */
  *indexes(): IterableIterator<number> {
    for (let i = 0; i < this.from.length; i++) for (let x = this.from[i]; x < this.to[i]; x++) yield x;
  }

  /** The regions, for tests: [from, to) pairs. */
  regions(): [number, number][] {
    return this.from.map((a, i) => [a, this.to[i]]);
  }
}
