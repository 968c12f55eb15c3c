// Schema DSL: scalar values (string, enum, integer, literal, size, address, boolean), lists, and the
// small combinators (scalarOrMap, named). Objects and one-key mappings are in schema-objects.ts.
// Integers arrive as bigint (the parser uses intAsBigInt) so that values beyond 2^53 are caught, not rounded.

import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { MAX_PAGED_SIZE, MAX_SIZE, parseSize, sizePattern } from '../lib/sizes.js';
import { formatSize } from '../lib/units.js';
import { describeNode, INVALID, type JsonSchema, type Schema, wrongType } from './schema-core.js';
import { didYouMean } from './suggest.js';

/** The text the user wrote for a scalar, for messages. */
function shown(node: Node): string {
  return isScalar(node) ? (node.source ?? String(node.value)) : describeNode(node);
}

export interface StringOptions {
  /** An anchored ECMA-262 pattern the string must match. */
  readonly pattern?: string;
  /** Says what the pattern allows, for `(expected ...)`. */
  readonly expected?: string;
  readonly description?: string;
}

export function string(opts: StringOptions = {}): Schema<string> {
  const expected = opts.expected ?? 'a string';
  const re = opts.pattern === undefined ? undefined : new RegExp(opts.pattern);
  return {
    expected,
    decode(node, where, ctx) {
      if (!isScalar(node) || typeof node.value !== 'string') {
        const v = isScalar(node) ? node.value : undefined;
        const quotable = typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean';
        return wrongType(
          ctx,
          node,
          where,
          expected,
          quotable ? `; quote it to make it a string: "${shown(node)}"` : '',
        );
      }
      const problem =
        node.value === ''
          ? 'the string is empty'
          : re !== undefined && !re.test(node.value)
            ? `'${node.value}' is not of the required form`
            : undefined;
      if (problem !== undefined) {
        ctx.report(where, problem, expected);
        return INVALID;
      }
      return node.value;
    },
    json: () => ({
      type: 'string',
      minLength: 1,
      ...(opts.pattern !== undefined && { pattern: opts.pattern }),
      ...(opts.description !== undefined && { description: opts.description }),
    }),
  };
}

/** One of a fixed list of strings. */
export function enumOf<const V extends string>(values: readonly V[]): Schema<V> {
  const expected = `one of ${values.join(', ')}`;
  return {
    expected,
    decode(node, where, ctx) {
      if (!isScalar(node) || typeof node.value !== 'string') return wrongType(ctx, node, where, expected);
      const v = node.value;
      if ((values as readonly string[]).includes(v)) return v as V;
      ctx.report(where, `unknown value '${v}'${didYouMean(v, values)}`, expected);
      return INVALID;
    },
    json: () => ({ enum: [...values] }),
  };
}

/** An exact integer read from a scalar, or a message saying why it is not one. */
function integerOf(node: Node): number | string {
  const v = isScalar(node) ? node.value : undefined;
  if (typeof v === 'bigint')
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : `${v} is too large`;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : `${shown(node)} is not an integer`;
  return `wrong type: ${describeNode(node)}`;
}

export interface IntegerOptions {
  readonly min?: number;
  readonly max?: number;
}

export function integer(opts: IntegerOptions = {}): Schema<number> {
  const { min, max } = opts;
  const expected =
    min !== undefined && max !== undefined
      ? `an integer from ${min} to ${max}`
      : min !== undefined
        ? `an integer of at least ${min}`
        : 'an integer';
  return {
    expected,
    decode(node, where, ctx) {
      const n = integerOf(node);
      const problem =
        typeof n === 'string'
          ? n
          : min !== undefined && n < min
            ? `${n} is below ${min}`
            : max !== undefined && n > max
              ? `${n} is above ${max}`
              : undefined;
      if (problem === undefined) return n as number;
      ctx.report(where, problem, expected);
      return INVALID;
    },
    json: () => ({
      type: 'integer',
      ...(min !== undefined && { minimum: min }),
      ...(max !== undefined && { maximum: max }),
    }),
  };
}

/** Exactly the number `value`; `what` names it in the message (`format version 2 is not supported`). */
export function literal<const N extends number>(value: N, what: string): Schema<N> {
  const expected = String(value);
  return {
    expected,
    decode(node, where, ctx) {
      const n = integerOf(node);
      if (n === value) return value;
      ctx.report(where, typeof n === 'number' ? `${what} ${n} is not supported` : n, expected);
      return INVALID;
    },
    json: () => ({ const: value }),
  };
}

export interface SizeOptions {
  /** Smallest value allowed (default 0, or -2^53 when signed). */
  readonly min?: number;
  /** Allow negative values (a brk delta). */
  readonly signed?: boolean;
  readonly multipleOf?: number;
  /** Why multipleOf, for the message. */
  readonly why?: string;
  readonly expected?: string;
  readonly description?: string;
}

/** A byte count as sizes.ts reads it: 4096, 0x1000, 4KiB, '1.5 GiB'. */
export function size(opts: SizeOptions = {}): Schema<number> {
  const signed = opts.signed ?? false;
  const min = opts.min ?? (signed ? -MAX_SIZE : 0);
  const { multipleOf } = opts;
  const bounds = [
    min > 0 && `at least ${formatSize(min)}`,
    multipleOf !== undefined && `a multiple of ${formatSize(multipleOf)}`,
  ].filter((x) => x !== false);
  const expected =
    opts.expected ??
    (signed ? 'a size such as 64KiB or -64KiB' : 'a size such as 4096, 0x1000 or 4KiB') +
      (bounds.length > 0 ? `, ${bounds.join(', ')}` : '');
  return {
    expected,
    decode(node, where, ctx) {
      const v = isScalar(node) ? node.value : undefined;
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint') {
        return wrongType(ctx, node, where, expected);
      }
      const r = parseSize(v);
      const problem = !r.ok
        ? r.error
        : r.value < min
          ? r.value < 0 && !signed
            ? `${shown(node)} is negative`
            : `${shown(node)} is below ${formatSize(min)}`
          : multipleOf !== undefined && r.value % multipleOf !== 0
            ? `${shown(node)} is not a multiple of ${formatSize(multipleOf)}${opts.why ? ` (${opts.why})` : ''}`
            : undefined;
      if (r.ok && problem === undefined) return r.value;
      ctx.report(where, problem ?? 'not a size', expected);
      return INVALID;
    },
    json: () => ({
      anyOf: [
        {
          type: 'integer',
          minimum: min,
          // Past 2^53 only multiples of 4 KiB are exact (the parser says so); JSON Schema
          // cannot say both, so it gives the outer bound.
          maximum: MAX_PAGED_SIZE,
          ...(multipleOf !== undefined && { multipleOf }),
        },
        { type: 'string', pattern: sizePattern(signed) },
      ],
      ...(opts.description !== undefined && { description: opts.description }),
    }),
  };
}

/** A virtual address: a size-like number, hex being the usual way to write it. */
export function address(): Schema<number> {
  return size({
    expected: 'an address such as 0x400000000000',
    description: 'A virtual address in bytes: an integer, or a string such as "0x400000000000" or "4GiB".',
  });
}

export function boolean(): Schema<boolean> {
  const expected = 'true or false';
  return {
    expected,
    decode(node, where, ctx) {
      if (isScalar(node) && typeof node.value === 'boolean') return node.value;
      const yes =
        isScalar(node) && typeof node.value === 'string' && /^(yes|no|on|off|y|n)$/i.test(node.value);
      return wrongType(
        ctx,
        node,
        where,
        expected,
        yes ? ' (YAML 1.2 reads only true and false as booleans)' : '',
      );
    },
    json: () => ({ type: 'boolean' }),
  };
}

export interface ListOptions {
  readonly minItems?: number;
  readonly maxItems?: number;
  /** No item may appear twice (items are compared as values: for lists of strings or numbers). */
  readonly unique?: boolean;
}

export function listOf<T>(item: Schema<T>, opts: ListOptions = {}): Schema<T[]> {
  const expected = `a list, each ${item.expected}`;
  return {
    expected,
    decode(node, where, ctx) {
      if (!isSeq(node)) return wrongType(ctx, node, where, expected);
      const out: T[] = [];
      let ok = true;
      node.items.forEach((itemNode, i) => {
        const at = ctx.place(itemNode, `${where.path}[${i}]`);
        const v = ctx.decode(item, itemNode, at);
        if (v === INVALID) {
          ok = false;
        } else if (opts.unique && out.includes(v)) {
          ctx.report(at, `${shown(itemNode as Node)} is listed twice`, expected);
          ok = false;
        } else {
          out.push(v);
        }
      });
      const n = node.items.length;
      if (opts.minItems !== undefined && n < opts.minItems) {
        ctx.report(
          where,
          n === 0 ? 'the list is empty' : `the list has ${n} items, fewer than ${opts.minItems}`,
          expected,
        );
        ok = false;
      }
      if (opts.maxItems !== undefined && n > opts.maxItems) {
        ctx.report(where, `the list has ${n} items, more than ${opts.maxItems}`, expected);
        ok = false;
      }
      return ok ? out : INVALID;
    },
    json: (defs) => ({
      type: 'array',
      items: item.json(defs),
      ...(opts.minItems !== undefined && { minItems: opts.minItems }),
      ...(opts.maxItems !== undefined && { maxItems: opts.maxItems }),
      ...(opts.unique && { uniqueItems: true }),
    }),
  };
}

/** A scalar in the short form, or a mapping in the long one (`spawn: app` or `spawn: {name: app, cpu: 1}`). */
export function scalarOrMap<A, B>(scalar: Schema<A>, map: Schema<B>): Schema<A | B> {
  const expected = `${scalar.expected}, or ${map.expected}`;
  return {
    expected,
    decode(node, where, ctx) {
      if (isMap(node)) return map.decode(node, where, ctx);
      if (isScalar(node)) return scalar.decode(node, where, ctx);
      return wrongType(ctx, node, where, expected);
    },
    json: (defs) => ({ anyOf: [scalar.json(defs), map.json(defs)] }),
  };
}

/** The same schema, emitted once under `$defs/<name>` and referred to by `$ref`. */
export function named<T>(name: string, schema: Schema<T>, description?: string): Schema<T> {
  return {
    expected: schema.expected,
    decode: (node, where, ctx) => schema.decode(node, where, ctx),
    json: (defs): JsonSchema =>
      defs.ref(name, () => ({ ...(description !== undefined && { description }), ...schema.json(defs) })),
  };
}

/** One scalar, or a list of them: always decoded as a list (`design: hmm` or `design: [hmm, gmem]`). */
export function oneOrList<T>(item: Schema<T>, opts: ListOptions = {}): Schema<T[]> {
  const list = listOf(item, opts);
  const expected = `${item.expected}, or ${list.expected}`;
  return {
    expected,
    decode(node, where, ctx) {
      if (isSeq(node)) return list.decode(node, where, ctx);
      if (isScalar(node)) {
        const v = item.decode(node, where, ctx);
        return v === INVALID ? INVALID : [v];
      }
      return wrongType(ctx, node, where, expected);
    },
    json: (defs) => ({ anyOf: [item.json(defs), list.json(defs)] }),
  };
}
