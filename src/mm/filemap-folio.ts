// Large page-cache folios of regular files (Linux 6.16+: ext4 calls mapping_set_large_folios
// for regular files, ext4_should_enable_large_folio; the mapping's largest order is then
// MAX_PAGECACHE_ORDER, 9 on x86-64 with 4 KiB pages).
//
// A large folio is 2^order pages, naturally aligned in the file and taken from the buddy
// allocator as one aligned block, so that its pages are physically contiguous as well. Its
// pages keep their own reference, map and dirty bookkeeping in vmlab (every rule that counts,
// Cached, Mapped, Dirty, RssFile, counts pages, as Linux's per-folio counters do by
// folio_nr_pages); what makes them one folio is the inode's record (Inode.folios: head index
// -> order), which the rules that act on a folio as a whole consult: the write path creates
// folios by the write's size and alignment (below), folio_mark_dirty dirties every page,
// invalidation and truncation keep, drop or split whole folios, and filemap_map_pages maps a
// whole folio at once (file-fault.ts).

import { PAGE_SIZE } from '../lib/units.js';
import type { Inode } from './inode.js';

/** MAX_PAGECACHE_ORDER on x86-64 (min(MAX_XAS_ORDER, PREFERRED_MAX_PAGECACHE_ORDER = PMD order)). */
export const MAX_PAGECACHE_ORDER = 9;

/** The index of the first page of the folio holding `index` (folio->index). */
export function folioHead(inode: Inode, index: number): number {
  if (inode.folios.size === 0) return index;
  for (let o = 1; o <= MAX_PAGECACHE_ORDER; o++) {
    const head = index - (index % (1 << o));
    if (inode.folios.get(head) === o) return head;
  }
  return index;
}

/** folio_order of the folio whose first page is at `head`. */
export function folioOrder(inode: Inode, head: number): number {
  return inode.folios.get(head) ?? 0;
}

/** __ffs(index) capped at `max`: the largest order a folio starting at index may have. */
function alignOrder(index: number, max: number): number {
  let o = 0;
  while (o < max && index % 2 ** (o + 1) === 0) o++;
  return o;
}

/**
 * The order of the folio a write of `bytes` bytes creates at `index`, before allocation:
 * fgf_set_order(len) asks for ilog2(len) - PAGE_SHIFT (0 for a page or less), which
 * __filemap_get_folio caps at the mapping's largest order, lowers to the alignment of index
 * (__ffs(index)), and lowers again while filemap_add_folio finds a page of the range already
 * cached (-EEXIST: `while (order-- > min_order)`).
 */
export function writeFolioOrder(inode: Inode, index: number, bytes: number, maxOrder: number): number {
  let order = bytes > PAGE_SIZE ? 31 - Math.clz32(bytes) - 12 : 0;
  if (order > maxOrder) order = maxOrder;
  order = alignOrder(index, order);
  while (order > 0 && inode.cache.entries(index, index + (1 << order)).length > 0) order--;
  return order;
}

/**
 * Split the folio [head, head + 2^order) so that the page `at` becomes an order-0 folio and
 * the rest stays in the largest aligned folios around it: the non-uniform split
 * (folio_split / try_folio_split, 6.15+) that truncate_inode_partial_folio uses.
 */
export function splitFolioAt(inode: Inode, head: number, at: number): void {
  let order = folioOrder(inode, head);
  inode.folios.delete(head);
  while (order > 0) {
    order--;
    const upper = head + (1 << order);
    const other = at < upper ? upper : head;
    if (order > 0) inode.folios.set(other, order);
    if (at >= upper) head = upper;
  }
}

/** Forget the record of the folio holding index: its pages become order-0 folios (split_folio). */
export function splitFolio(inode: Inode, index: number): void {
  if (inode.folios.size !== 0) inode.folios.delete(folioHead(inode, index));
}
