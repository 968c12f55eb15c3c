import { describe, expect, it } from 'vitest';
import { LineCounter, parseDocument } from 'yaml';
import { formatScenarioError } from './scenario-error.js';
import {
  DecodeCtx,
  exactlyOne,
  INVALID,
  integer,
  JsonDefs,
  jsonSchemaDocument,
  listOf,
  named,
  object,
  optional,
  placeOf,
  required,
  requires,
  type Schema,
  size,
  withDefault,
} from './schema-dsl.js';

/** Decode `text` with `schema`; the value, or the formatted errors. */
function decode<T>(schema: Schema<T>, text: string): T | string[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, intAsBigInt: true });
  const ctx = new DecodeCtx('t.yaml', doc, lines);
  const v = ctx.decode(schema, doc.contents, { path: '', line: 1, column: 1 });
  return v === INVALID ? ctx.errors.map(formatScenarioError) : v;
}

const box = object(
  {
    width: required(integer({ min: 1 }), 'Width.'),
    depth: withDefault(size(), 4096),
    lid: optional(size()),
    hinge: optional(size()),
  },
  { rules: [requires('hinge', 'lid')] },
);

describe('schema DSL', () => {
  it('decodes an object, fills defaults, and remembers where each field stood', () => {
    const v = decode(box, 'width: 3\nlid: 2KiB\n');
    if (Array.isArray(v)) throw new Error(v.join('\n'));
    expect([v.width, v.depth, v.lid, v.hinge]).toEqual([3, 4096, 2048, undefined]);
    expect(placeOf(v, 'lid')).toEqual({ path: 'lid', line: 2, column: 6 });
    expect(placeOf(v, 'depth')).toEqual({ path: 'depth', line: 1, column: 1 });
  });

  it('reports every bad field, then the rules only when the fields are clean', () => {
    expect(decode(box, 'width: 0\ndepth: x\nhinge: 1\n')).toEqual([
      't.yaml:1:8: width: 0 is below 1 (expected an integer of at least 1)',
      "t.yaml:2:8: depth: 'x' is not a size (expected a size such as 4096, 0x1000 or 4KiB)",
    ]);
    expect(decode(box, 'width: 1\nhinge: 1\n')).toEqual(["t.yaml:2:8: hinge: 'hinge' needs 'lid'"]);
  });

  it('emits JSON Schema with defaults, descriptions, $defs and the rules it can state', () => {
    const schema = object(
      { a: optional(named('count', integer({ min: 0 }))), b: optional(size()) },
      { rules: [exactlyOne('a', 'b')] },
    );
    expect(jsonSchemaDocument(schema, { title: 'T', description: 'D' })).toEqual({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'T',
      description: 'D',
      type: 'object',
      properties: {
        a: { $ref: '#/$defs/count' },
        b: {
          anyOf: [
            { type: 'integer', minimum: 0, maximum: 2 ** 57 },
            { type: 'string', pattern: expect.stringMatching(/^\^/) },
          ],
        },
      },
      additionalProperties: false,
      allOf: [{ oneOf: [{ required: ['a'] }, { required: ['b'] }] }],
      $defs: { count: { type: 'integer', minimum: 0 } },
    });
    expect(box.json(new JsonDefs())).toMatchObject({
      properties: { width: { description: 'Width.' }, depth: { default: 4096 } },
      required: ['width'],
      allOf: [{ dependentRequired: { hinge: ['lid'] } }],
    });
  });

  it('bounds alias expansion', () => {
    const text = `- &n 1\n${'- *n\n'.repeat(1001)}`;
    const errs = decode(listOf(integer()), text);
    expect(errs).toEqual(['t.yaml:1002:3: [1001]: too many alias expansions (more than 1000)']);
  });
});
