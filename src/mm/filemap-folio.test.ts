import { describe, expect, it } from 'vitest';
import { folioHead, folioOrder, splitFolioAt, writeFolioOrder } from './filemap-folio.js';
import { Inode, InodeKind } from './inode.js';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('writeFolioOrder (fgf_set_order + __filemap_get_folio)', () => {
  const inode = new Inode(1, InodeKind.file, 'f', 0);
  it('asks ilog2(len) - PAGE_SHIFT, capped at the mapping order', () => {
    expect(writeFolioOrder(inode, 0, 4 * KiB, 9)).toBe(0);
    expect(writeFolioOrder(inode, 0, 8 * KiB, 9)).toBe(1);
    expect(writeFolioOrder(inode, 0, 64 * KiB, 9)).toBe(4);
    expect(writeFolioOrder(inode, 0, 96 * KiB, 9)).toBe(4);
    expect(writeFolioOrder(inode, 0, 2 * MiB, 9)).toBe(9);
    expect(writeFolioOrder(inode, 0, 2 * MiB, 0)).toBe(0);
  });
  it('lowers the order to the alignment of the index', () => {
    expect(writeFolioOrder(inode, 1, 2 * MiB, 9)).toBe(0);
    expect(writeFolioOrder(inode, 6, 2 * MiB, 9)).toBe(1);
    expect(writeFolioOrder(inode, 48, 2 * MiB, 9)).toBe(4);
  });
  it('lowers it again while the range holds a cached page (-EEXIST)', () => {
    const g = new Inode(2, InodeKind.file, 'g', 0);
    g.cache.set(9, 100);
    expect(writeFolioOrder(g, 0, 64 * KiB, 9)).toBe(3);
    expect(writeFolioOrder(g, 8, 64 * KiB, 9)).toBe(0);
  });
});

describe('splitFolioAt (non-uniform split)', () => {
  it('leaves the page order 0 and its buddies as large as they can be', () => {
    const inode = new Inode(1, InodeKind.file, 'f', 0);
    inode.folios.set(16, 4);
    splitFolioAt(inode, 16, 21);
    expect([...inode.folios].sort((a, b) => a[0] - b[0])).toEqual([
      [16, 2],
      [22, 1],
      [24, 3],
    ]);
    expect(folioHead(inode, 20)).toBe(20);
    expect(folioOrder(inode, 20)).toBe(0);
    expect(folioHead(inode, 23)).toBe(22);
    expect(folioHead(inode, 31)).toBe(24);
  });
});
