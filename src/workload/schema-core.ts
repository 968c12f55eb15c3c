// The schema DSL's core: what a schema is, and the context it decodes a YAML node tree in.
// A Schema<T> does two things from one definition: decode a parsed `yaml` node into a T, reporting
// every problem with its exact position, and emit the JSON Schema (draft 2020-12) for the same values.

import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
} from 'yaml';
import type { ScenarioError } from './scenario-error.js';

/** Where a value stood: its dotted field path and 1-based position. */
export interface Where {
  readonly path: string;
  readonly line: number;
  readonly column: number;
}

/** Returned by decode after it has reported why the value is unusable. */
export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

export type JsonSchema = { readonly [keyword: string]: unknown };

export interface Schema<T> {
  /** Words for `(expected ...)`, e.g. `a size such as 4096, 0x1000 or 4KiB`. */
  readonly expected: string;
  /**
   * Decode `node` (never an alias: DecodeCtx.decode follows those), standing at `where`.
   * Returns the value, or INVALID after reporting at least one error to ctx.
   */
  decode(node: Node, where: Where, ctx: DecodeCtx): T | Invalid;
  /** The JSON Schema for the values decode accepts (or a looser one where JSON Schema cannot say it). */
  json(defs: JsonDefs): JsonSchema;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

/** Alias expansions allowed per document; bounds the work a "billion laughs" file can cause. */
const MAX_ALIAS_EXPANSIONS = 1000;

/** Decoding state for one document: positions, errors, alias expansion. */
export class DecodeCtx {
  readonly errors: ScenarioError[] = [];
  private aliasBudget = MAX_ALIAS_EXPANSIONS;
  /** Anchored nodes being decoded through an alias right now (a self-containing alias would loop). */
  private readonly expanding = new Set<unknown>();

  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** 1-based position of character `offset`. */
  position(offset: number): { line: number; column: number } {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /**
   * Where `node` stands, under `path`. A node without a range, or an empty value (`key:` with
   * nothing after it), stands at `near` (its key) when given.
   */
  place(node: unknown, path: string, near?: Where): Where {
    const range = isNodeLike(node) ? node.range : undefined;
    if (near !== undefined && (range == null || isEmptyScalar(node))) return { ...near, path };
    return { path, ...this.position(range?.[0] ?? 0) };
  }

  report(where: Where, message: string, expected?: string): void {
    const e = { file: this.file, line: where.line, column: where.column, field: where.path, message };
    this.errors.push(expected === undefined ? e : { ...e, expected });
  }

  /** Decode `node` with `schema`, following an alias to its anchor; a missing node is reported. */
  decode<T>(schema: Schema<T>, node: unknown, where: Where): T | Invalid {
    if (isAlias(node)) return this.decodeAlias(schema, node, where);
    if (!isMap(node) && !isSeq(node) && !isScalar(node)) {
      this.report(where, 'missing value', schema.expected);
      return INVALID;
    }
    return schema.decode(node, where, this);
  }

  private decodeAlias<T>(schema: Schema<T>, alias: Alias, where: Where): T | Invalid {
    const target = alias.resolve(this.doc);
    if (target === undefined) {
      this.report(where, `alias *${alias.source} names no anchor`);
      return INVALID;
    }
    if (this.expanding.has(target)) {
      this.report(where, `alias *${alias.source} refers to a node that contains it`);
      return INVALID;
    }
    if (--this.aliasBudget < 0) {
      this.report(where, `too many alias expansions (more than ${MAX_ALIAS_EXPANSIONS})`);
      return INVALID;
    }
    this.expanding.add(target);
    try {
      return this.decode(schema, target, where);
    } finally {
      this.expanding.delete(target);
    }
  }
}

/** Named sub-schemas collected while emitting JSON Schema, to go under `$defs`. */
export class JsonDefs {
  private readonly defs = new Map<string, JsonSchema>();

  /** A `$ref` to definition `name`, made by `make` on first use. */
  ref(name: string, make: () => JsonSchema): JsonSchema {
    if (!this.defs.has(name)) {
      this.defs.set(name, {}); // holds the place, so the output order is first-use order
      this.defs.set(name, make());
    }
    return { $ref: `#/$defs/${name}` };
  }

  toObject(): Record<string, JsonSchema> {
    return Object.fromEntries(this.defs);
  }
}

/** `parent.key`, or `key` at the top. */
export function childPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** Report a value of the wrong kind; `hint` is appended to the message. */
export function wrongType(ctx: DecodeCtx, node: Node, where: Where, expected: string, hint = ''): Invalid {
  ctx.report(where, `wrong type: ${describeNode(node)}${hint}`, expected);
  return INVALID;
}

/** How a node looks, for messages: `the string 'yes'`, `a mapping`, `nothing`. */
export function describeNode(node: Node): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (!isScalar(node)) return 'an alias';
  const v = node.value;
  if (v === null || v === undefined) return isEmptyScalar(node) ? 'nothing' : 'null';
  if (typeof v === 'string') return `the string '${v.length > 40 ? `${v.slice(0, 37)}...` : v}'`;
  if (typeof v === 'number' || typeof v === 'bigint') return `the number ${node.source ?? String(v)}`;
  if (typeof v === 'boolean') return `the boolean ${v}`;
  return 'a value of another type';
}

function isNodeLike(node: unknown): node is { range?: [number, number, number] | null } {
  return isMap(node) || isSeq(node) || isScalar(node) || isAlias(node);
}

/** `key:` with no value: a null scalar with no source text. */
function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && (node.source ?? '') === '';
}
