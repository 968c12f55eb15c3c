// Schema DSL: mappings. `object` has known keys (required, optional or defaulted; any other key is an
// error naming the allowed ones) and rules across its fields; `openObject` also takes keys from a named
// set (counter names); `oneKeyOf` is a mapping whose one key picks the shape of its value
// (`- mmap: {...}`), with optional sibling keys. Decoded objects remember where each field stood.

import { isMap, isScalar, isSeq, type YAMLMap } from 'yaml';
import {
  childPath,
  type DecodeCtx,
  describeNode,
  INVALID,
  type Infer,
  type JsonDefs,
  type JsonSchema,
  type Schema,
  type Where,
  wrongType,
} from './schema-core.js';
import { byCloseness, closestMatch, didYouMean } from './suggest.js';

/** Key of the place record on decoded objects (a symbol, so no field name can clash with it). */
export const AT: unique symbol = Symbol('at');

export interface Places {
  /** The mapping itself. */
  readonly self: Where;
  /** The value of each key given in the file. */
  readonly fields: Readonly<Record<string, Where>>;
}
export interface Located {
  readonly [AT]: Places;
}

/** Whether the file gave key `key` (defaults do not count). */
export function has(obj: Located, key: string): boolean {
  return Object.hasOwn(obj[AT].fields, key);
}

/** Where field `key` stood; for an absent key, the mapping's position under the key's path. */
export function placeOf(obj: Located, key: string): Where {
  const self = obj[AT].self;
  return has(obj, key) ? obj[AT].fields[key] : { ...self, path: childPath(self.path, key) };
}

type Presence = 'required' | 'optional' | 'default';

export interface Field<T, P extends Presence = Presence> {
  readonly schema: Schema<T>;
  readonly presence: P;
  /** The value of an absent 'default' field. */
  readonly fallback?: T;
  /** Goes to the JSON Schema's `description`. */
  readonly doc?: string;
}

export function required<T>(schema: Schema<T>, doc?: string): Field<T, 'required'> {
  return { schema, presence: 'required', doc };
}
export function optional<T>(schema: Schema<T>, doc?: string): Field<T, 'optional'> {
  return { schema, presence: 'optional', doc };
}
export function withDefault<T>(schema: Schema<T>, fallback: NoInfer<T>, doc?: string): Field<T, 'default'> {
  return { schema, presence: 'default', fallback, doc };
}

export type Fields = { readonly [key: string]: Field<unknown> };
type ValueOf<F> = F extends Field<infer T> ? T : never;

/** The decoded form of `object(fields)`: optional fields may be absent, defaulted ones never are. */
export type ObjectOf<F extends Fields> = {
  readonly [K in keyof F as F[K]['presence'] extends 'optional' ? never : K]: ValueOf<F[K]>;
} & {
  readonly [K in keyof F as F[K]['presence'] extends 'optional' ? K : never]?: ValueOf<F[K]>;
} & Located;

/** Blame field `key` (its value, or the mapping when the key is absent). */
export type Report = (key: string, message: string, expected?: string) => void;

/** A constraint across fields, checked after every field decoded cleanly. */
export interface Rule<O> {
  check(value: O, report: Report): void;
  /** The same constraint in JSON Schema, where it can be said there. */
  readonly json?: JsonSchema;
}

/** Exactly one of the keys must be given. */
export function exactlyOne(...keys: string[]): Rule<Located> {
  const list = keys.join(' or ');
  return {
    check(v, report) {
      const given = keys.filter((k) => has(v, k));
      if (given.length === 0) report(keys[0], `one of ${list} is required`, `one of ${list}`);
      if (given.length > 1) report(given[1], `${given.join(' and ')} cannot both be given`, `one of ${list}`);
    },
    json: { oneOf: keys.map((k) => ({ required: [k] })) },
  };
}

/** If `key` is given, `other` must be too. */
export function requires(key: string, other: string, message = `'${key}' needs '${other}'`): Rule<Located> {
  return {
    check(v, report) {
      if (has(v, key) && !has(v, other)) report(key, message);
    },
    json: { dependentRequired: { [key]: [other] } },
  };
}

export interface ObjectOptions<O> {
  readonly rules?: readonly Rule<O>[];
  readonly description?: string;
}

export function object<F extends Fields>(
  fields: F,
  opts: ObjectOptions<ObjectOf<F>> = {},
): Schema<ObjectOf<F>> {
  const keys = Object.keys(fields);
  const expected = `a mapping with keys ${keys.join(', ')}`;
  return {
    expected,
    decode(node, where, ctx) {
      if (!isMap(node)) return wrongType(ctx, node, where, expected);
      const m = decodeMembers(node, where, ctx, { fields, allowed: keys });
      if (!m.ok) return INVALID;
      const value = { ...m.values, [AT]: { self: where, fields: m.places } } as ObjectOf<F>;
      return checkRules(value, opts.rules ?? [], ctx) ? value : INVALID;
    },
    json: (defs) => objectJson(fields, defs, opts),
  };
}

/** A key not declared as a field, taken from a named set (`RssAnon: 1GiB` in an expect step). */
export interface ExtraEntry<V> {
  readonly key: string;
  readonly value: V;
  readonly keyWhere: Where;
  readonly where: Where;
}

export interface ExtraKeys<V> {
  readonly value: Schema<V>;
  /** The keys' name in messages: 'counter'. */
  readonly noun: string;
  /** The allowed names are `whenGiven` if field `when` is given, else `otherwise`. */
  readonly when: string;
  readonly whenGiven: readonly string[];
  readonly otherwise: readonly string[];
  /** At least this many extra keys. */
  readonly minCount: number;
}

export interface OpenObjectOf<F extends Fields, V> {
  readonly known: ObjectOf<F>;
  readonly extra: readonly ExtraEntry<V>[];
}

export function openObject<F extends Fields, V>(
  fields: F,
  extra: ExtraKeys<V>,
  opts: ObjectOptions<ObjectOf<F>> = {},
): Schema<OpenObjectOf<F, V>> {
  const keys = Object.keys(fields);
  const expected = `a mapping with keys ${keys.join(', ')} and ${extra.noun} names`;
  return {
    expected,
    decode(node, where, ctx) {
      if (!isMap(node)) return wrongType(ctx, node, where, expected);
      const m = decodeMembers(node, where, ctx, {
        fields,
        allowed: keys,
        extra: extra as ExtraKeys<unknown>,
      });
      if (!m.ok) return INVALID;
      const known = { ...m.values, [AT]: { self: where, fields: m.places } } as ObjectOf<F>;
      if (!checkRules(known, opts.rules ?? [], ctx)) return INVALID;
      return { known, extra: m.extra as ExtraEntry<V>[] };
    },
    json(defs) {
      const base = objectJson(fields, defs, opts);
      const branch = (names: readonly string[], min: number) => ({
        propertyNames: { enum: [...keys, ...names] },
        minProperties: min,
      });
      const { allOf = [], ...rest } = base as { allOf?: JsonSchema[] };
      return {
        ...rest,
        additionalProperties: extra.value.json(defs),
        allOf: [
          ...allOf,
          {
            if: { required: [extra.when] },
            then: branch(extra.whenGiven, extra.minCount + 1),
            else: branch(extra.otherwise, extra.minCount),
          },
        ],
      };
    },
  };
}

/** The decoded form of `oneKeyOf(shapes, ...)`: which key was used, its value, and the siblings. */
export type OneKeyOf<S extends Record<string, Schema<unknown>>, F extends Fields> = {
  [K in keyof S & string]: {
    readonly key: K;
    readonly value: Infer<S[K]>;
    /** The whole mapping (the list item). */
    readonly where: Where;
    readonly valueWhere: Where;
    readonly siblings: ObjectOf<F>;
  };
}[keyof S & string];

export interface OneKeyOptions<K extends string, F extends Fields> {
  /** What one such mapping is called: 'step'. */
  readonly noun: string;
  /** Keys allowed beside the shape key (`expect_error`). */
  readonly siblings: F;
  /** Siblings a shape does not take (`expect` takes no `expect_error`). */
  readonly refuse?: Partial<Record<K, readonly string[]>>;
}

/** A mapping with exactly one key from `shapes`, whose value that shape decodes, plus optional siblings. */
export function oneKeyOf<S extends Record<string, Schema<unknown>>, F extends Fields>(
  shapes: S,
  opts: OneKeyOptions<keyof S & string, F>,
): Schema<OneKeyOf<S, F>> {
  const shapeKeys = Object.keys(shapes);
  const siblingKeys = Object.keys(opts.siblings);
  const allowed = [...shapeKeys, ...siblingKeys];
  const expected = `a mapping with one ${opts.noun} key: ${shapeKeys.join(', ')}`;
  const isShape = (k: string) => Object.hasOwn(shapes, k);
  return {
    expected,
    decode(node, where, ctx) {
      if (!isMap(node)) return wrongType(ctx, node, where, expected);
      const m = decodeMembers(node, where, ctx, { fields: opts.siblings, allowed, skip: isShape });
      const found = node.items.flatMap((p) => {
        const k = keyText(p.key);
        return k !== undefined && isShape(k) ? [{ k, pair: p }] : [];
      });
      if (found.length === 0) {
        if (!m.unknownKeys) ctx.report(where, `no ${opts.noun} key`, expected);
        return INVALID;
      }
      if (found.length > 1) {
        const second = ctx.place(found[1].pair.key, childPath(where.path, found[1].k), where);
        ctx.report(
          second,
          `one ${opts.noun} per list item, but '${found[0].k}' and '${found[1].k}' share one`,
          expected,
        );
        return INVALID;
      }
      const { k, pair } = found[0];
      const keyWhere = ctx.place(pair.key, childPath(where.path, k), where);
      const valueWhere = ctx.place(pair.value, keyWhere.path, keyWhere);
      const value = ctx.decode(shapes[k], pair.value, valueWhere);
      if (value === INVALID || !m.ok) return INVALID;
      const refused = Object.keys(m.places).find((s) => opts.refuse?.[k]?.includes(s));
      if (refused !== undefined) {
        ctx.report(m.places[refused], `'${refused}' cannot be used with '${k}'`);
        return INVALID;
      }
      const siblings = { ...m.values, [AT]: { self: where, fields: m.places } } as ObjectOf<F>;
      return { key: k, value, where, valueWhere, siblings } as OneKeyOf<S, F>;
    },
    json(defs) {
      const siblingJson = objectJson(opts.siblings, defs, {}) as { properties: object; required?: string[] };
      return {
        oneOf: shapeKeys.map((k) => {
          const refused = opts.refuse?.[k] ?? [];
          const props = Object.fromEntries(
            Object.entries(siblingJson.properties).filter(([s]) => !refused.includes(s)),
          );
          const req = (siblingJson.required ?? []).filter((s) => !refused.includes(s));
          return {
            type: 'object',
            properties: { [k]: shapes[k].json(defs), ...props },
            required: [k, ...req],
            additionalProperties: false,
          };
        }),
      };
    },
  };
}

interface MemberSpec {
  readonly fields: Fields;
  /** Every key allowed here, for the unknown-key message. */
  readonly allowed: readonly string[];
  /** Keys someone else decodes. */
  readonly skip?: (key: string) => boolean;
  readonly extra?: ExtraKeys<unknown>;
}

interface Members {
  readonly ok: boolean;
  readonly unknownKeys: boolean;
  readonly values: Record<string, unknown>;
  readonly places: Record<string, Where>;
  readonly extra: ExtraEntry<unknown>[];
}

/** Decode the pairs of `map` as `spec` says, reporting unknown, missing and bad keys. */
function decodeMembers(map: YAMLMap, where: Where, ctx: DecodeCtx, spec: MemberSpec): Members {
  const values: Record<string, unknown> = {};
  const places: Record<string, Where> = {};
  const extra: ExtraEntry<unknown>[] = [];
  let ok = true;
  let unknownKeys = false;
  // Which extra names apply depends on whether the switching field is given anywhere in the mapping.
  const switchGiven = spec.extra !== undefined && map.items.some((p) => keyText(p.key) === spec.extra?.when);
  for (const pair of map.items) {
    const key = keyText(pair.key);
    if (key === undefined) {
      ctx.report(
        ctx.place(pair.key, where.path, where),
        `a key must be a plain name, not ${describeKey(pair.key)}`,
      );
      ok = false;
      continue;
    }
    if (spec.skip?.(key)) continue;
    const keyWhere = ctx.place(pair.key, childPath(where.path, key), where);
    const valueWhere = ctx.place(pair.value, keyWhere.path, keyWhere);
    if (Object.hasOwn(spec.fields, key)) {
      const v = ctx.decode(spec.fields[key].schema, pair.value, valueWhere);
      if (v === INVALID) ok = false;
      else values[key] = v;
      places[key] = valueWhere;
    } else if (spec.extra !== undefined) {
      const v = checkExtraName(key, keyWhere, spec.extra, switchGiven, ctx)
        ? ctx.decode(spec.extra.value, pair.value, valueWhere)
        : INVALID;
      if (v === INVALID) ok = false;
      else extra.push({ key, value: v, keyWhere, where: valueWhere });
    } else {
      ctx.report(
        keyWhere,
        `unknown key '${key}'${didYouMean(key, spec.allowed)}`,
        `one of ${spec.allowed.join(', ')}`,
      );
      ok = false;
      unknownKeys = true;
    }
  }
  for (const [key, field] of Object.entries(spec.fields)) {
    if (Object.hasOwn(places, key)) continue;
    if (field.presence === 'required') {
      ctx.report(
        { ...where, path: childPath(where.path, key) },
        `missing required key '${key}'`,
        field.schema.expected,
      );
      ok = false;
    } else if (field.presence === 'default') {
      values[key] = field.fallback;
    }
  }
  if (spec.extra !== undefined && ok && extra.length < spec.extra.minCount) {
    ctx.report(
      where,
      `no ${spec.extra.noun} given`,
      `at least ${spec.extra.minCount} ${spec.extra.noun} name`,
    );
    ok = false;
  }
  return { ok, unknownKeys, values, places, extra };
}

function checkExtraName(
  key: string,
  at: Where,
  extra: ExtraKeys<unknown>,
  given: boolean,
  ctx: DecodeCtx,
): boolean {
  const names = given ? extra.whenGiven : extra.otherwise;
  if (names.includes(key)) return true;
  const other = given ? extra.otherwise : extra.whenGiven;
  const rule = given ? `cannot be used with '${extra.when}'` : `needs '${extra.when}'`;
  const near = closestMatch(key, names) ?? closestMatch(key, other);
  const hint =
    near === undefined
      ? ''
      : names.includes(near)
        ? `; did you mean '${near}'?`
        : `; did you mean '${near}' (which ${rule})?`;
  const message = other.includes(key)
    ? `${extra.noun} '${key}' ${rule}`
    : `unknown ${extra.noun} '${key}'${hint}`;
  ctx.report(at, message, `one of ${byCloseness(key, names).join(', ')}`);
  return false;
}

function checkRules<O extends Located>(value: O, rules: readonly Rule<O>[], ctx: DecodeCtx): boolean {
  let ok = true;
  for (const rule of rules) {
    rule.check(value, (key, message, expected) => {
      ctx.report(placeOf(value, key), message, expected);
      ok = false;
    });
  }
  return ok;
}

function objectJson(fields: Fields, defs: JsonDefs, opts: ObjectOptions<unknown>): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, f] of Object.entries(fields)) {
    properties[key] = {
      ...f.schema.json(defs),
      ...(f.doc !== undefined && { description: f.doc }),
      ...(f.presence === 'default' && { default: f.fallback }),
    };
    if (f.presence === 'required') required.push(key);
  }
  const ruleJson = (opts.rules ?? []).flatMap((r) => (r.json === undefined ? [] : [r.json]));
  return {
    type: 'object',
    ...(opts.description !== undefined && { description: opts.description }),
    properties,
    ...(required.length > 0 && { required }),
    additionalProperties: false,
    ...(ruleJson.length > 0 && { allOf: ruleJson }),
  };
}

/** A mapping key as text; undefined for keys that are not plain scalars (`? [a, b]`, `~`). */
function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  const v = key.value;
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean'
    ? String(v)
    : undefined;
}

function describeKey(key: unknown): string {
  return isScalar(key) || isMap(key) || isSeq(key) ? describeNode(key) : 'an alias';
}
