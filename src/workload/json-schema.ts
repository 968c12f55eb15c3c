// The JSON Schema (draft 2020-12) of scenario format v1, emitted from the same definition the parser
// uses (format.ts). schema/scenario.schema.json is this, committed; a test keeps the two equal.
// JSON Schema cannot state every check (a region must be defined by an earlier step, a TLB's sets
// must be a power of two): the parser is the authority, the schema helps editors.

import { scenarioFormat } from './format.js';
import { type JsonSchema, jsonSchemaDocument } from './schema-dsl.js';

export function scenarioJsonSchema(): JsonSchema {
  return jsonSchemaDocument(scenarioFormat, {
    title: 'vmlab scenario, format 1',
    description:
      'A vmlab scenario: a machine, a design and the steps its processes perform. ' +
      'Sizes are bytes: an integer, or a string such as "4KiB" or "0x1000".',
  });
}
