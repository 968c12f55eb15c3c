// An ordered map keyed by numbers: an in-memory B+tree.
//
// Built to hold an address space's VMAs keyed by vm_start (Linux's maple tree, FreeBSD's vm_map
// splay tree). The fault path calls `floor` on every fault, so lookups walk the tree without
// allocating; `set` and `delete` are O(log n) and allocate only when a node splits.
//
// Layout. Every value lives in a leaf; leaves are doubly linked in key order so that iteration
// and the neighbour queries (`lower`, `higher`) step sideways instead of climbing back up.
// A branch with children c[0..n) holds n-1 separator keys s[0..n-1) such that
//
//   every key in c[i] < s[i] <= every key in c[i+1]
//
// Separators are bounds, not copies of live keys: deleting a key never rewrites a separator,
// so one may name a key that is gone. Descent therefore picks the child by "how many separators
// are <= key", and a query that finds nothing in the leaf it lands on looks one leaf over.
//
// Occupancy. With `order` = m, every node holds at most m entries (a leaf m keys, a branch m
// children) and every node but the root at least ceil(m/2). A root branch has at least two
// children. All leaves are at the same depth, `height` levels below the root.
//
// Keys are numbers compared with `<`; they must not be NaN (integers up to 2^53 are exact).
// Values may be any type, but `get` and the other lookups return `undefined` for "absent", so a
// map that stores `undefined` cannot tell the two apart (`has` can).
//
// Mutating the map (set, delete, clear) while an iterator from `entries`, `keys`, `values` or
// `entriesDescending` is live, or from inside a `forEachInRange` callback, is undefined
// behaviour: the walk may skip, repeat or lose entries. Collect first, then mutate.

export interface OrderedMapOptions {
  /** Most entries per node (keys in a leaf, children in a branch); an integer >= 3. Small orders
   *  exist to make splits and merges happen in tests. */
  order?: number;
}

// 64 keeps a full address space (65530 VMAs) three levels deep. Measured on random floor()
// probes over 65530 keys, 64 took about 0.7x the time of 32 and 128 was no better; nearby
// probes cost the same at any order from 8 up.
const DEFAULT_ORDER = 64;

class Leaf<V> {
  /** Ascending keys; `vals[i]` belongs to `keys[i]`. */
  keys: number[];
  vals: V[];
  /** Neighbouring leaves in key order; null at the ends. */
  prev: Leaf<V> | null = null;
  next: Leaf<V> | null = null;

  constructor(keys: number[], vals: V[]) {
    this.keys = keys;
    this.vals = vals;
  }
}

class Branch<V> {
  /** Separators: `keys.length === kids.length - 1` (see the file comment for the bound). */
  keys: number[];
  /** All leaves, or all branches, by level. */
  kids: Node<V>[];

  constructor(keys: number[], kids: Node<V>[]) {
    this.keys = keys;
    this.kids = kids;
  }
}

type Node<V> = Leaf<V> | Branch<V>;

/** Count of `keys` that are <= `key`: the first index whose key is > `key`. */
function upperBound(keys: number[], key: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Count of `keys` that are < `key`: the first index whose key is >= `key`. */
function lowerBound(keys: number[], key: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class OrderedMap<V> {
  /** Most entries per node. (C) */
  private readonly order: number;
  /** Fewest entries per non-root node: ceil(order / 2). (C) */
  private readonly min: number;
  private root: Node<V>;
  /** Levels of branches above the leaves; 0 when the root is a leaf. */
  private height = 0;
  /** Leftmost and rightmost leaves; the same (root) leaf when height is 0. */
  private head: Leaf<V>;
  private tail: Leaf<V>;
  private count = 0;
  /** Leaf found by the last `pos*` call; its index is that call's result. Scratch state that
   *  lets lookups report a position without allocating. */
  private at: Leaf<V>;
  /** Separator handed up by `insert` alongside the new right sibling of a split node. */
  private splitKey = 0;

  constructor(options: OrderedMapOptions = {}) {
    const order = options.order ?? DEFAULT_ORDER;
    if (!Number.isInteger(order) || order < 3) {
      throw new RangeError(`OrderedMap: order must be an integer >= 3, got ${order}`);
    }
    this.order = order;
    this.min = Math.ceil(order / 2);
    const leaf = new Leaf<V>([], []);
    this.root = leaf;
    this.head = leaf;
    this.tail = leaf;
    this.at = leaf;
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    const leaf = new Leaf<V>([], []);
    this.root = leaf;
    this.head = leaf;
    this.tail = leaf;
    this.at = leaf;
    this.height = 0;
    this.count = 0;
  }

  // ---- point lookups ---------------------------------------------------------------------

  get(key: number): V | undefined {
    const leaf = this.leafFor(key);
    const i = lowerBound(leaf.keys, key);
    return i < leaf.keys.length && leaf.keys[i] === key ? leaf.vals[i] : undefined;
  }

  has(key: number): boolean {
    const leaf = this.leafFor(key);
    const i = lowerBound(leaf.keys, key);
    return i < leaf.keys.length && leaf.keys[i] === key;
  }

  /** Value with the greatest key <= `key`. */
  floor(key: number): V | undefined {
    const i = this.posFloor(key);
    return i < 0 ? undefined : this.at.vals[i];
  }

  floorKey(key: number): number | undefined {
    const i = this.posFloor(key);
    return i < 0 ? undefined : this.at.keys[i];
  }

  /** Value with the least key >= `key`. */
  ceiling(key: number): V | undefined {
    const i = this.posCeiling(key);
    return i < 0 ? undefined : this.at.vals[i];
  }

  ceilingKey(key: number): number | undefined {
    const i = this.posCeiling(key);
    return i < 0 ? undefined : this.at.keys[i];
  }

  /** Value with the greatest key < `key`. */
  lower(key: number): V | undefined {
    const i = this.posLower(key);
    return i < 0 ? undefined : this.at.vals[i];
  }

  lowerKey(key: number): number | undefined {
    const i = this.posLower(key);
    return i < 0 ? undefined : this.at.keys[i];
  }

  /** Value with the least key > `key`. */
  higher(key: number): V | undefined {
    const i = this.posHigher(key);
    return i < 0 ? undefined : this.at.vals[i];
  }

  higherKey(key: number): number | undefined {
    const i = this.posHigher(key);
    return i < 0 ? undefined : this.at.keys[i];
  }

  first(): V | undefined {
    return this.count === 0 ? undefined : this.head.vals[0];
  }

  firstKey(): number | undefined {
    return this.count === 0 ? undefined : this.head.keys[0];
  }

  last(): V | undefined {
    const t = this.tail;
    return this.count === 0 ? undefined : t.vals[t.vals.length - 1];
  }

  lastKey(): number | undefined {
    const t = this.tail;
    return this.count === 0 ? undefined : t.keys[t.keys.length - 1];
  }

  // ---- iteration (see the file comment: no mutation while a walk is live) ------------------

  /** [key, value] pairs in ascending key order, starting at the least key >= `from`. */
  *entries(from?: number): Generator<[number, V], void, undefined> {
    let i = from === undefined ? (this.count === 0 ? -1 : 0) : this.posCeiling(from);
    if (i < 0) return;
    let leaf: Leaf<V> | null = from === undefined ? this.head : this.at;
    while (leaf !== null) {
      yield [leaf.keys[i], leaf.vals[i]];
      if (++i === leaf.keys.length) {
        leaf = leaf.next;
        i = 0;
      }
    }
  }

  /** Keys in ascending order, starting at the least key >= `from`. */
  *keys(from?: number): Generator<number, void, undefined> {
    let i = from === undefined ? (this.count === 0 ? -1 : 0) : this.posCeiling(from);
    if (i < 0) return;
    let leaf: Leaf<V> | null = from === undefined ? this.head : this.at;
    while (leaf !== null) {
      yield leaf.keys[i];
      if (++i === leaf.keys.length) {
        leaf = leaf.next;
        i = 0;
      }
    }
  }

  /** Values in ascending key order, starting at the least key >= `from`. */
  *values(from?: number): Generator<V, void, undefined> {
    let i = from === undefined ? (this.count === 0 ? -1 : 0) : this.posCeiling(from);
    if (i < 0) return;
    let leaf: Leaf<V> | null = from === undefined ? this.head : this.at;
    while (leaf !== null) {
      yield leaf.vals[i];
      if (++i === leaf.keys.length) {
        leaf = leaf.next;
        i = 0;
      }
    }
  }

  /** [key, value] pairs in descending key order, starting at the greatest key <= `from`. */
  *entriesDescending(from?: number): Generator<[number, V], void, undefined> {
    let leaf: Leaf<V> | null;
    let i: number;
    if (from === undefined) {
      leaf = this.tail;
      i = leaf.keys.length - 1;
    } else {
      i = this.posFloor(from);
      leaf = this.at;
    }
    if (i < 0) return;
    while (leaf !== null) {
      yield [leaf.keys[i], leaf.vals[i]];
      if (--i < 0) {
        leaf = leaf.prev;
        if (leaf !== null) i = leaf.keys.length - 1;
      }
    }
  }

  [Symbol.iterator](): Generator<[number, V], void, undefined> {
    return this.entries();
  }

  /**
   * Calls `fn(value, key)` for each key in [from, to), ascending. `fn` may stop the walk early
   * by returning `false`; any other result continues. `fn` must not mutate the map.
   * Allocates nothing itself.
   */
  forEachInRange(from: number, to: number, fn: (value: V, key: number) => unknown): void {
    let i = this.posCeiling(from);
    if (i < 0) return;
    let leaf: Leaf<V> | null = this.at;
    while (leaf !== null) {
      const key = leaf.keys[i];
      if (!(key < to)) return;
      if (fn(leaf.vals[i], key) === false) return;
      if (++i === leaf.keys.length) {
        leaf = leaf.next;
        i = 0;
      }
    }
  }

  // ---- mutation ----------------------------------------------------------------------------

  /** Inserts `key`, or replaces its value if present. */
  set(key: number, value: V): void {
    if (Number.isNaN(key)) throw new RangeError('OrderedMap.set: key is NaN');
    const right = this.insert(this.root, this.height, key, value);
    if (right !== null) {
      this.root = new Branch<V>([this.splitKey], [this.root, right]);
      this.height++;
    }
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: number): boolean {
    if (!this.remove(this.root, this.height, key)) return false;
    if (this.height > 0) {
      const root = this.root as Branch<V>;
      if (root.kids.length === 1) {
        this.root = root.kids[0];
        this.height--;
      }
    }
    return true;
  }

  // ---- invariants --------------------------------------------------------------------------

  /** Throws if the tree's structure is broken: ordering, separator bounds, occupancy, depth,
   *  leaf links, size. O(n); for tests and VMLAB_CHECK runs. */
  checkInvariants(): void {
    const fail = (what: string): never => {
      throw new Error(`OrderedMap.checkInvariants: ${what}`);
    };
    const leaves: Leaf<V>[] = [];
    let seen = 0;
    // Checks `node` at `level` and that its keys lie in [lo, hi).
    const walk = (node: Node<V>, level: number, lo: number, hi: number, isRoot: boolean): void => {
      if (level === 0) {
        if (!(node instanceof Leaf)) fail(`non-leaf at level 0`);
        const leaf = node as Leaf<V>;
        const n = leaf.keys.length;
        if (leaf.vals.length !== n) fail(`leaf has ${n} keys but ${leaf.vals.length} values`);
        if (n > this.order) fail(`leaf overfull: ${n} > ${this.order}`);
        if (!isRoot && n < this.min) fail(`leaf underfull: ${n} < ${this.min}`);
        for (let i = 0; i < n; i++) {
          const k = leaf.keys[i];
          if (!(k >= lo && k < hi)) fail(`leaf key ${k} outside [${lo}, ${hi})`);
          if (i > 0 && !(leaf.keys[i - 1] < k)) fail(`leaf keys out of order at ${k}`);
        }
        seen += n;
        leaves.push(leaf);
        return;
      }
      if (!(node instanceof Branch)) fail(`leaf at level ${level}`);
      const b = node as Branch<V>;
      const n = b.kids.length;
      if (b.keys.length !== n - 1) fail(`branch has ${n} children but ${b.keys.length} separators`);
      if (n > this.order) fail(`branch overfull: ${n} > ${this.order}`);
      if (n < (isRoot ? 2 : this.min)) fail(`branch underfull: ${n} children`);
      for (let i = 0; i < n; i++) {
        const clo = i === 0 ? lo : b.keys[i - 1];
        const chi = i === n - 1 ? hi : b.keys[i];
        if (!(clo <= chi)) fail(`separators out of order: ${clo} > ${chi}`);
        walk(b.kids[i], level - 1, clo, chi, false);
      }
    };
    walk(this.root, this.height, -Infinity, Infinity, true);
    if (seen !== this.count) fail(`size ${this.count} but ${seen} keys in leaves`);
    if (this.head !== leaves[0]) fail('head is not the leftmost leaf');
    if (this.tail !== leaves[leaves.length - 1]) fail('tail is not the rightmost leaf');
    for (let i = 0; i < leaves.length; i++) {
      if (leaves[i].prev !== (i === 0 ? null : leaves[i - 1])) fail(`leaf ${i} has a wrong prev link`);
      if (leaves[i].next !== (i === leaves.length - 1 ? null : leaves[i + 1])) {
        fail(`leaf ${i} has a wrong next link`);
      }
    }
  }

  // ---- internals ---------------------------------------------------------------------------

  /** The leaf whose key range [lowSep, highSep) holds `key`. */
  private leafFor(key: number): Leaf<V> {
    let node = this.root;
    for (let h = this.height; h > 0; h--) {
      const b = node as Branch<V>;
      node = b.kids[upperBound(b.keys, key)];
    }
    return node as Leaf<V>;
  }

  // Each pos* returns an index into `this.at`, or -1 for "no such key". They all descend to
  // leafFor(key): everything left of that leaf is < its low separator <= key, everything right
  // of it is >= its high separator > key, so an answer not in the leaf is the nearest key of
  // the neighbouring leaf (non-root leaves are never empty).

  private posFloor(key: number): number {
    const leaf = this.leafFor(key);
    const i = upperBound(leaf.keys, key) - 1;
    if (i >= 0) {
      this.at = leaf;
      return i;
    }
    const p = leaf.prev;
    if (p === null) return -1;
    this.at = p;
    return p.keys.length - 1;
  }

  private posLower(key: number): number {
    const leaf = this.leafFor(key);
    const i = lowerBound(leaf.keys, key) - 1;
    if (i >= 0) {
      this.at = leaf;
      return i;
    }
    const p = leaf.prev;
    if (p === null) return -1;
    this.at = p;
    return p.keys.length - 1;
  }

  private posCeiling(key: number): number {
    const leaf = this.leafFor(key);
    const i = lowerBound(leaf.keys, key);
    if (i < leaf.keys.length) {
      this.at = leaf;
      return i;
    }
    const n = leaf.next;
    if (n === null) return -1;
    this.at = n;
    return 0;
  }

  private posHigher(key: number): number {
    const leaf = this.leafFor(key);
    const i = upperBound(leaf.keys, key);
    if (i < leaf.keys.length) {
      this.at = leaf;
      return i;
    }
    const n = leaf.next;
    if (n === null) return -1;
    this.at = n;
    return 0;
  }

  /** Inserts below `node` (at `level`). If `node` split, returns its new right sibling and
   *  leaves the separator between them in `this.splitKey`; otherwise returns null. */
  private insert(node: Node<V>, level: number, key: number, value: V): Node<V> | null {
    if (level === 0) {
      const leaf = node as Leaf<V>;
      const i = lowerBound(leaf.keys, key);
      if (i < leaf.keys.length && leaf.keys[i] === key) {
        leaf.vals[i] = value;
        return null;
      }
      leaf.keys.splice(i, 0, key);
      leaf.vals.splice(i, 0, value);
      this.count++;
      if (leaf.keys.length <= this.order) return null;
      // order + 1 keys: the left keeps floor((order+1)/2) = ceil(order/2) = min, the right the rest.
      const mid = leaf.keys.length >>> 1;
      const right = new Leaf<V>(leaf.keys.slice(mid), leaf.vals.slice(mid));
      leaf.keys.length = mid;
      leaf.vals.length = mid;
      right.prev = leaf;
      right.next = leaf.next;
      if (leaf.next !== null) leaf.next.prev = right;
      else this.tail = right;
      leaf.next = right;
      this.splitKey = right.keys[0];
      return right;
    }
    const b = node as Branch<V>;
    const i = upperBound(b.keys, key);
    const grown = this.insert(b.kids[i], level - 1, key, value);
    if (grown === null) return null;
    b.keys.splice(i, 0, this.splitKey);
    b.kids.splice(i + 1, 0, grown);
    if (b.kids.length <= this.order) return null;
    // order + 1 children: the left keeps `mid`, separator keys[mid-1] moves up.
    const mid = b.kids.length >>> 1;
    const right = new Branch<V>(b.keys.slice(mid), b.kids.slice(mid));
    this.splitKey = b.keys[mid - 1];
    b.keys.length = mid - 1;
    b.kids.length = mid;
    return right;
  }

  /** Removes `key` below `node` (at `level`); returns whether it was present. Leaves `node`
   *  possibly underfull; its parent repairs it. */
  private remove(node: Node<V>, level: number, key: number): boolean {
    if (level === 0) {
      const leaf = node as Leaf<V>;
      const i = lowerBound(leaf.keys, key);
      if (i === leaf.keys.length || leaf.keys[i] !== key) return false;
      leaf.keys.splice(i, 1);
      leaf.vals.splice(i, 1);
      this.count--;
      return true;
    }
    const b = node as Branch<V>;
    const i = upperBound(b.keys, key);
    const kid = b.kids[i];
    if (!this.remove(kid, level - 1, key)) return false;
    const n = level === 1 ? (kid as Leaf<V>).keys.length : (kid as Branch<V>).kids.length;
    if (n < this.min) {
      if (level === 1) this.fixLeaf(b, i);
      else this.fixBranch(b, i);
    }
    return true;
  }

  /** Child `i` of `parent` is a leaf one short of `min`: borrow from a sibling that can spare
   *  an entry, else merge with one. `parent` has >= 2 children, so a sibling exists. */
  private fixLeaf(parent: Branch<V>, i: number): void {
    const kid = parent.kids[i] as Leaf<V>;
    const left = i > 0 ? (parent.kids[i - 1] as Leaf<V>) : null;
    const right = i + 1 < parent.kids.length ? (parent.kids[i + 1] as Leaf<V>) : null;
    if (left !== null && left.keys.length > this.min) {
      kid.keys.unshift(left.keys.pop()!);
      kid.vals.unshift(left.vals.pop()!);
      parent.keys[i - 1] = kid.keys[0];
    } else if (right !== null && right.keys.length > this.min) {
      kid.keys.push(right.keys.shift()!);
      kid.vals.push(right.vals.shift()!);
      parent.keys[i] = right.keys[0];
    } else if (left !== null) {
      this.mergeLeaves(parent, i - 1, left, kid);
    } else {
      this.mergeLeaves(parent, i, kid, right!);
    }
  }

  /** Appends leaf `b` (child i+1) to leaf `a` (child i) and drops `b` from `parent`. */
  private mergeLeaves(parent: Branch<V>, i: number, a: Leaf<V>, b: Leaf<V>): void {
    for (let j = 0; j < b.keys.length; j++) {
      a.keys.push(b.keys[j]);
      a.vals.push(b.vals[j]);
    }
    a.next = b.next;
    if (b.next !== null) b.next.prev = a;
    else this.tail = a;
    parent.keys.splice(i, 1);
    parent.kids.splice(i + 1, 1);
  }

  /** As fixLeaf, for a branch child: a borrowed child rotates through the parent's separator. */
  private fixBranch(parent: Branch<V>, i: number): void {
    const kid = parent.kids[i] as Branch<V>;
    const left = i > 0 ? (parent.kids[i - 1] as Branch<V>) : null;
    const right = i + 1 < parent.kids.length ? (parent.kids[i + 1] as Branch<V>) : null;
    if (left !== null && left.kids.length > this.min) {
      kid.kids.unshift(left.kids.pop()!);
      kid.keys.unshift(parent.keys[i - 1]);
      parent.keys[i - 1] = left.keys.pop()!;
    } else if (right !== null && right.kids.length > this.min) {
      kid.kids.push(right.kids.shift()!);
      kid.keys.push(parent.keys[i]);
      parent.keys[i] = right.keys.shift()!;
    } else if (left !== null) {
      this.mergeBranches(parent, i - 1, left, kid);
    } else {
      this.mergeBranches(parent, i, kid, right!);
    }
  }

  /** Appends branch `b` (child i+1) to branch `a` (child i), pulling down the separator between
   *  them, and drops `b` from `parent`. */
  private mergeBranches(parent: Branch<V>, i: number, a: Branch<V>, b: Branch<V>): void {
    a.keys.push(parent.keys[i]);
    for (let j = 0; j < b.keys.length; j++) a.keys.push(b.keys[j]);
    for (let j = 0; j < b.kids.length; j++) a.kids.push(b.kids[j]);
    parent.keys.splice(i, 1);
    parent.kids.splice(i + 1, 1);
  }
}
