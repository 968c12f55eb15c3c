// Units and distinct quantities. Addresses are JavaScript numbers (exact to 2^53);
// the core works in page numbers. Branded types keep a virtual page number from
// being passed where a frame number is wanted.

export type Vaddr = number & { readonly __brand: 'Vaddr' };
export type Vpn = number & { readonly __brand: 'Vpn' };
export type Pfn = number & { readonly __brand: 'Pfn' };

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PMD_SHIFT = 21;
export const PMD_SIZE = 2 * 1024 * 1024;
export const PUD_SHIFT = 30;
export const PUD_SIZE = 1024 * 1024 * 1024;
/** Pages per PTE table (entries per table at every level). */
export const PTRS_PER_TABLE = 512;

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

/** Page number holding the byte at `addr`. */
export function pageOf(addr: number): Vpn {
  return Math.floor(addr / PAGE_SIZE) as Vpn;
}

/** First byte of page `vpn`. */
export function addrOf(vpn: number): Vaddr {
  return (vpn * PAGE_SIZE) as Vaddr;
}

export function isPageAligned(addr: number): boolean {
  return addr % PAGE_SIZE === 0;
}

/** Round `len` up to a whole number of pages (Linux's PAGE_ALIGN). */
export function pageAlignUp(len: number): number {
  return Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
}

/** Format a byte count as the largest unit that divides it exactly (4096 -> "4KiB"). */
export function formatSize(bytes: number): string {
  if (bytes === 0) return '0';
  const units: [number, string][] = [
    [TiB, 'TiB'],
    [GiB, 'GiB'],
    [MiB, 'MiB'],
    [KiB, 'KiB'],
  ];
  for (const [u, name] of units) {
    if (bytes % u === 0) return `${bytes / u}${name}`;
  }
  return `${bytes}B`;
}
