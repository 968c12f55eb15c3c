// A sparse array keyed by non-negative integers, shaped like Linux's xarray (lib/xarray.c):
// a radix tree of 64-slot nodes whose height grows with the largest index stored. It is
// what the page cache (and later logical page tables) are made of, so it counts its nodes:
// each one costs the kernel sizeof(struct xa_node), 576 bytes. As in Linux, an array whose
// only entry is at index 0 needs no node at all (the entry lives in the head).

/** sizeof(struct xa_node) on x86-64 (XA_CHUNK_SIZE 64: 64 slots, 3 mark bitmaps, header). */
export const XA_NODE_BYTES = 576;
const SHIFT = 6;
const SLOTS = 1 << SHIFT;
const MASK = SLOTS - 1;

class XaNode {
  /** Children (inner node) or values (leaf node). */
  readonly slots: (XaNode | number | undefined)[] = new Array(SLOTS);
  count = 0;
}

export class Xarray {
  /** Height 0: at most one value, at index 0, kept in `head`. */
  private root: XaNode | null = null;
  private height = 0;
  private head: number | undefined = undefined;
  private n = 0;
  /** Nodes allocated now. */
  nodes = 0;

  get size(): number {
    return this.n;
  }

  get(index: number): number | undefined {
    if (this.height === 0) return index === 0 ? this.head : undefined;
    if (index >= SLOTS ** this.height) return undefined;
    let node = this.root!;
    for (let level = this.height - 1; level > 0; level--) {
      const child = node.slots[Math.floor(index / SLOTS ** level) & MASK] as XaNode | undefined;
      if (child === undefined) return undefined;
      node = child;
    }
    return node.slots[index & MASK] as number | undefined;
  }

  has(index: number): boolean {
    return this.get(index) !== undefined;
  }

  set(index: number, value: number): void {
    if (this.height === 0 && index === 0) {
      if (this.head === undefined) this.n++;
      this.head = value;
      return;
    }
    this.grow(index);
    let node = this.root!;
    for (let level = this.height - 1; level > 0; level--) {
      const i = Math.floor(index / SLOTS ** level) & MASK;
      let child = node.slots[i] as XaNode | undefined;
      if (child === undefined) {
        child = this.newNode();
        node.slots[i] = child;
        node.count++;
      }
      node = child;
    }
    const i = index & MASK;
    if (node.slots[i] === undefined) {
      node.count++;
      this.n++;
    }
    node.slots[i] = value;
  }

  /** Remove index; returns the value it held. Empty nodes are freed and the tree shrinks. */
  delete(index: number): number | undefined {
    if (this.height === 0) {
      if (index !== 0 || this.head === undefined) return undefined;
      const v = this.head;
      this.head = undefined;
      this.n--;
      return v;
    }
    if (index >= SLOTS ** this.height) return undefined;
    const path: XaNode[] = [];
    let node = this.root!;
    for (let level = this.height - 1; level > 0; level--) {
      path.push(node);
      const child = node.slots[Math.floor(index / SLOTS ** level) & MASK] as XaNode | undefined;
      if (child === undefined) return undefined;
      node = child;
    }
    const v = node.slots[index & MASK] as number | undefined;
    if (v === undefined) return undefined;
    node.slots[index & MASK] = undefined;
    node.count--;
    this.n--;
    // Free empty nodes bottom-up.
    for (let level = 1; level < this.height && node.count === 0; level++) {
      const parent = path[path.length - level];
      parent.slots[Math.floor(index / SLOTS ** level) & MASK] = undefined;
      parent.count--;
      this.nodes--;
      node = parent;
    }
    this.shrink();
    return v;
  }

  /** Visit entries with from <= index < to in ascending order. */
  forEach(visit: (index: number, value: number) => void, from = 0, to = Number.MAX_SAFE_INTEGER): void {
    if (this.height === 0) {
      if (this.head !== undefined && from <= 0 && to > 0) visit(0, this.head);
      return;
    }
    this.walk(this.root!, this.height - 1, 0, from, to, visit);
  }

  /** The entries as [index, value] pairs in ascending order (a copy: safe to mutate during). */
  entries(from = 0, to = Number.MAX_SAFE_INTEGER): [number, number][] {
    const out: [number, number][] = [];
    this.forEach(
      (i, v) => {
        out.push([i, v]);
      },
      from,
      to,
    );
    return out;
  }

  clear(): void {
    this.root = null;
    this.height = 0;
    this.head = undefined;
    this.n = 0;
    this.nodes = 0;
  }

  private walk(
    node: XaNode,
    level: number,
    base: number,
    from: number,
    to: number,
    visit: (index: number, value: number) => void,
  ): void {
    const span = SLOTS ** level;
    for (let i = 0; i < SLOTS; i++) {
      const s = node.slots[i];
      if (s === undefined) continue;
      const lo = base + i * span;
      if (lo >= to) return;
      if (lo + span <= from) continue;
      if (level === 0) visit(lo, s as number);
      else this.walk(s as XaNode, level - 1, lo, from, to, visit);
    }
  }

  private newNode(): XaNode {
    this.nodes++;
    return new XaNode();
  }

  /** Add levels on top until index fits (xas_expand). */
  private grow(index: number): void {
    if (this.height === 0) {
      this.root = this.newNode();
      this.height = 1;
      if (this.head !== undefined) {
        this.root.slots[0] = this.head;
        this.root.count = 1;
        this.head = undefined;
      }
    }
    while (index >= SLOTS ** this.height) {
      const top = this.newNode();
      if (this.root!.count > 0) {
        top.slots[0] = this.root!;
        top.count = 1;
      } else this.nodes--; // an empty root is replaced, not kept below
      this.root = top;
      this.height++;
    }
  }

  /** Drop levels whose node holds only slot 0 (xas_shrink); index 0 alone goes back to the head. */
  private shrink(): void {
    if (this.root!.count === 0) {
      // The last entry went: every node below the root was freed on the way up.
      this.root = null;
      this.height = 0;
      this.nodes--;
      return;
    }
    while (this.height > 1 && this.root!.count === 1 && this.root!.slots[0] !== undefined) {
      this.root = this.root!.slots[0] as XaNode;
      this.height--;
      this.nodes--;
    }
    if (
      this.height === 1 &&
      this.root!.count <= 1 &&
      this.root!.slots.every((s, i) => i === 0 || s === undefined)
    ) {
      this.head = this.root!.slots[0] as number | undefined;
      this.root = null;
      this.height = 0;
      this.nodes--;
    }
  }
}
