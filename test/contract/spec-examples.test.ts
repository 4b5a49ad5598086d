// "Examples are tested": every example in the contract is checked against the schema it belongs to,
// so Swagger UI, generated SDK docs and mock servers never show a body the service would refuse to
// send or accept. A bad example is reported by its JSON pointer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { schemaValidator, specDocument } from '../support/contract.ts';

type Json = Record<string, unknown>;

type Kind =
  'media example' | 'media examples' | 'component example' | 'parameter example' | 'header example' | 'schema examples';

interface Visited {
  pointer: string;
  kind: Kind;
}

interface BadExample {
  pointer: string;
  errors: string;
}

const isObject = (node: unknown): node is Json => typeof node === 'object' && node !== null && !Array.isArray(node);
const escape = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');
const child = (pointer: string, ...keys: (string | number)[]) =>
  `${pointer}${keys.map((k) => `/${escape(String(k))}`).join('')}`;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
// Keywords whose value is a schema, a map of schemas or a list of schemas (JSON Schema 2020-12).
const SUBSCHEMA = [
  'additionalProperties',
  'items',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'dependentSchemas', '$defs'];
const SUBSCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];

/**
 * Walks an OpenAPI 3.1 document the way its structure is defined (not by key names alone, so a
 * schema property called "content" or "example" is never mistaken for a keyword) and checks every
 * example it finds. Referenced components are checked where they are defined, once; a referenced
 * example (components/examples) is checked against the schema of each media type that uses it.
 */
function checkExamples(document: Json): { visited: Visited[]; bad: BadExample[] } {
  const visited: Visited[] = [];
  const bad: BadExample[] = [];
  const usedComponentExamples = new Set<string>();

  function resolve(node: unknown): { node: unknown; via?: string } {
    let current = node;
    let via: string | undefined;
    for (let hops = 0; isObject(current) && typeof current.$ref === 'string'; hops++) {
      const ref = current.$ref;
      if (!ref.startsWith('#/') || hops > 20) throw new Error(`cannot follow $ref ${ref}`);
      via ??= ref;
      current = ref
        .slice(2)
        .split('/')
        .map((s) => decodeURIComponent(s).replaceAll('~1', '/').replaceAll('~0', '~'))
        .reduce<unknown>((at, key) => (isObject(at) || Array.isArray(at) ? (at as Json)[key] : undefined), document);
      if (current === undefined) throw new Error(`$ref ${ref} resolves to nothing`);
    }
    return { node: current, ...(via ? { via } : {}) };
  }

  function check(
    value: unknown,
    schema: unknown,
    schemaPointer: string,
    pointer: string,
    kind: Kind,
    via?: string,
  ): void {
    visited.push({ pointer, kind });
    if (schema === undefined) {
      bad.push({ pointer, errors: 'has an example but no schema to check it against' });
      return;
    }
    // Compiled once per schema location; $refs inside resolve against the spec's components.
    const validate = schemaValidator(schema, `example-check:${schemaPointer}`);
    if (!validate(value)) {
      const errors = (validate.errors ?? [])
        .map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`)
        .join('; ');
      bad.push({ pointer: via ? `${pointer} (→ ${via})` : pointer, errors });
    }
  }

  /** `example` and `examples` of a media type, parameter or header, against its schema. */
  function checkExampleFields(node: Json, pointer: string, single: Kind, many: Kind): void {
    const schemaPointer = child(pointer, 'schema');
    if ('example' in node) check(node.example, node.schema, schemaPointer, child(pointer, 'example'), single);
    for (const [name, entry] of Object.entries(isObject(node.examples) ? node.examples : {})) {
      const at = child(pointer, 'examples', name);
      const { node: example, via } = resolve(entry);
      if (!isObject(example)) {
        bad.push({ pointer: at, errors: 'is not an Example Object' });
        continue;
      }
      if ('externalValue' in example && !('value' in example)) {
        bad.push({ pointer: at, errors: 'uses externalValue, which this test cannot check; inline the value' });
        continue;
      }
      if (via) usedComponentExamples.add(via);
      if (!('value' in example)) continue; // a summary-only example shows nothing
      check(example.value, node.schema, schemaPointer, child(at, 'value'), via ? 'component example' : many, via);
    }
  }

  function walkSchema(schema: unknown, pointer: string): void {
    if (!isObject(schema) || '$ref' in schema) {
      // A $ref'd schema is checked where it is defined. (2020-12 allows siblings of $ref, which
      // this spec does not use.)
      return;
    }
    if (Array.isArray(schema.examples)) {
      schema.examples.forEach((value, i) =>
        check(value, schema, pointer, child(pointer, 'examples', i), 'schema examples'),
      );
    }
    if ('example' in schema) check(schema.example, schema, pointer, child(pointer, 'example'), 'schema examples');
    for (const key of SUBSCHEMA) if (key in schema) walkSchema(schema[key], child(pointer, key));
    for (const key of SUBSCHEMA_MAPS) {
      for (const [name, sub] of Object.entries(isObject(schema[key]) ? schema[key] : {}))
        walkSchema(sub, child(pointer, key, name));
    }
    for (const key of SUBSCHEMA_LISTS) {
      if (Array.isArray(schema[key])) schema[key].forEach((sub, i) => walkSchema(sub, child(pointer, key, i)));
    }
  }

  function walkContent(content: unknown, pointer: string): void {
    for (const [mediaType, media] of Object.entries(isObject(content) ? content : {})) {
      if (!isObject(media)) continue;
      const at = child(pointer, mediaType);
      walkSchema(media.schema, child(at, 'schema'));
      checkExampleFields(media, at, 'media example', 'media examples');
      for (const [name, encoding] of Object.entries(isObject(media.encoding) ? media.encoding : {})) {
        if (isObject(encoding)) walkHeaders(encoding.headers, child(at, 'encoding', name, 'headers'));
      }
    }
  }

  function walkParameterOrHeader(node: unknown, pointer: string, kind: Kind): void {
    if (!isObject(node) || '$ref' in node) return;
    walkSchema(node.schema, child(pointer, 'schema'));
    checkExampleFields(node, pointer, kind, kind);
    walkContent(node.content, child(pointer, 'content'));
  }

  function walkHeaders(headers: unknown, pointer: string): void {
    for (const [name, header] of Object.entries(isObject(headers) ? headers : {})) {
      walkParameterOrHeader(header, child(pointer, name), 'header example');
    }
  }

  function walkParameters(parameters: unknown, pointer: string): void {
    if (Array.isArray(parameters))
      parameters.forEach((p, i) => walkParameterOrHeader(p, child(pointer, i), 'parameter example'));
  }

  function walkRequestBody(body: unknown, pointer: string): void {
    if (isObject(body) && !('$ref' in body)) walkContent(body.content, child(pointer, 'content'));
  }

  function walkResponse(response: unknown, pointer: string): void {
    if (!isObject(response) || '$ref' in response) return;
    walkHeaders(response.headers, child(pointer, 'headers'));
    walkContent(response.content, child(pointer, 'content'));
  }

  function walkPathItem(item: unknown, pointer: string): void {
    if (!isObject(item) || '$ref' in item) return;
    walkParameters(item.parameters, child(pointer, 'parameters'));
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const at = child(pointer, method);
      walkParameters(op.parameters, child(at, 'parameters'));
      walkRequestBody(op.requestBody, child(at, 'requestBody'));
      for (const [status, response] of Object.entries(isObject(op.responses) ? op.responses : {})) {
        walkResponse(response, child(at, 'responses', status));
      }
      for (const [name, callback] of Object.entries(isObject(op.callbacks) ? op.callbacks : {})) {
        for (const [expression, cbItem] of Object.entries(isObject(callback) ? callback : {})) {
          walkPathItem(cbItem, child(at, 'callbacks', name, expression));
        }
      }
    }
  }

  const entries = (node: unknown) => Object.entries(isObject(node) ? node : {});
  for (const [path, item] of entries(document.paths)) walkPathItem(item, child('', 'paths', path));
  for (const [name, item] of entries(document.webhooks)) walkPathItem(item, child('', 'webhooks', name));
  const components = isObject(document.components) ? document.components : {};
  for (const [name, schema] of entries(components.schemas))
    walkSchema(schema, child('', 'components', 'schemas', name));
  for (const [name, p] of entries(components.parameters))
    walkParameterOrHeader(p, child('', 'components', 'parameters', name), 'parameter example');
  for (const [name, h] of entries(components.headers))
    walkParameterOrHeader(h, child('', 'components', 'headers', name), 'header example');
  for (const [name, body] of entries(components.requestBodies))
    walkRequestBody(body, child('', 'components', 'requestBodies', name));
  for (const [name, response] of entries(components.responses))
    walkResponse(response, child('', 'components', 'responses', name));
  for (const [name, item] of entries(components.pathItems))
    walkPathItem(item, child('', 'components', 'pathItems', name));
  for (const [name, callback] of entries(components.callbacks)) {
    for (const [expression, item] of entries(callback))
      walkPathItem(item, child('', 'components', 'callbacks', name, expression));
  }
  // A component example is checked through the media types that use it; one that none uses would
  // never be checked (nor shown anywhere).
  for (const [name] of entries(components.examples)) {
    const ref = `#${child('', 'components', 'examples', name)}`;
    if (!usedComponentExamples.has(ref))
      bad.push({ pointer: ref.slice(1), errors: 'is used by no media type, so it is never checked' });
  }
  return { visited, bad };
}

const report = (bad: BadExample[]) => bad.map(({ pointer, errors }) => `${pointer}: ${errors}`).join('\n');

describe('examples in the spec', () => {
  const { visited, bad } = checkExamples(specDocument);

  test('every example validates against the schema it belongs to', () => {
    assert.deepEqual(bad, [], `Examples that break their schema:\n${report(bad)}`);
  });

  test('the check really visits the examples: more than 20, and every kind the spec uses', () => {
    assert.ok(visited.length > 20, `only ${visited.length} examples visited`);
    const kinds = new Set(visited.map((v) => v.kind));
    assert.deepEqual([...kinds].sort(), [
      'component example',
      'header example',
      'media example',
      'media examples',
      'parameter example',
      'schema examples',
    ]);
  });

  test('a broken example is reported by its JSON pointer, wherever it sits', () => {
    // A copy of the spec with one bad example of each kind, and an example nothing uses. The schemas
    // keep their meaning (validators are cached by schema location).
    const broken = structuredClone(specDocument) as Json & {
      components: { examples: Json; parameters: Json; schemas: Json; responses: Json };
      paths: Record<string, Record<string, Json>>;
    };
    const at = (node: unknown, ...keys: string[]) => keys.reduce<Json>((n, k) => n[k] as Json, node as Json);
    at(broken.components.examples, 'NewTask', 'value').completed = 'no';
    at(broken.components.parameters, 'Limit').example = 0;
    at(broken.components.schemas, 'Title').examples = ['Buy milk', ' \t '];
    at(broken.components.responses, 'TaskNotFound', 'content', 'application/problem+json', 'example').status = 200;
    at(broken.paths, '/api/{user_id}/tasks', 'post', 'responses', '201', 'headers', 'Location').example = 42;
    at(
      broken.paths,
      '/api/{user_id}/tasks',
      'post',
      'requestBody',
      'content',
      'application/json',
      'examples',
      'minimal',
    ).value = {
      title: 'Buy milk',
      colour: 'red',
    };
    broken.components.examples.Orphan = { summary: 'Used nowhere', value: { title: 'never checked' } };
    const { bad: found } = checkExamples(broken);
    assert.deepEqual(
      found.map((b) => b.pointer).sort(),
      [
        '/components/examples/Orphan',
        '/components/parameters/Limit/example',
        '/components/responses/TaskNotFound/content/application~1problem+json/example',
        '/components/schemas/Title/examples/1',
        '/paths/~1api~1{user_id}~1tasks~1{task_id}/get/responses/200/content/application~1json/examples/task/value (→ #/components/examples/NewTask)',
        '/paths/~1api~1{user_id}~1tasks/post/requestBody/content/application~1json/examples/minimal/value',
        '/paths/~1api~1{user_id}~1tasks/post/responses/201/content/application~1json/examples/created/value (→ #/components/examples/NewTask)',
        '/paths/~1api~1{user_id}~1tasks/post/responses/201/headers/Location/example',
      ].sort(),
    );
  });
});
