// The client-side half of contract testing: every response the tests receive is checked against the
// spec (documented status, documented content type, body matching the schema, required headers
// present, every documented header matching its schema).
// The server validates its JSON bodies too; this catches what it cannot see (status codes,
// content types, headers, bodies written without res.json).
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { loadSpec } from '../../src/spec.ts';
import { findOperation as findSpecOperation, requiresToken, specOperations } from '../../src/http/spec-operations.ts';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;

export const specDocument = loadSpec().document as unknown as Json;

const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
ajv.addSchema({ $id: 'spec', components: specDocument.components }, 'spec');

const validators = new Map<string, ValidateFunction>();

function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `spec${v}` : rewriteRefs(v),
      ]),
    );
  }
  return node;
}

/** Follows a local $ref (responses, parameters are referenced by name in the spec). */
export function resolveRef<T = Json>(node: unknown): T {
  let current = node as Json;
  while (current && typeof current.$ref === 'string') {
    current = current.$ref
      .slice(2)
      .split('/')
      .reduce<Json>((at, key) => at[key] as Json, specDocument);
  }
  return current as T;
}

export function schemaValidator(schema: unknown, key: string): ValidateFunction {
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(rewriteRefs(schema) as Json);
    validators.set(key, validate);
  }
  return validate;
}

export interface Operation {
  operationId: string;
  /** Upper case, as HTTP spells it. */
  method: string;
  path: string;
  /** Matches request paths of this operation (from src/http/spec-operations.ts). */
  pattern: RegExp;
  responses: Record<string, Json>;
  parameters: Json[];
  requestBody?: Json;
  /** Whether the spec asks for a token (its own `security`, else the document's). */
  secured: boolean;
}

/** Every operation in the spec, with path-level parameters merged in and $refs resolved. */
export const operations: Operation[] = specOperations(loadSpec().document).map(
  ({ method, path, pattern, operationId, operation, pathItem }) => {
    const op = operation as unknown as Json;
    const parameters = [
      ...((pathItem.parameters as unknown as Json[]) ?? []),
      ...((op.parameters as Json[]) ?? []),
    ].map((p) => resolveRef(p));
    return {
      operationId,
      method: method.toUpperCase(),
      path,
      pattern,
      responses: op.responses as Record<string, Json>,
      parameters,
      ...(op.requestBody ? { requestBody: resolveRef(op.requestBody) } : {}),
      secured: requiresToken(operation, specDocument),
    };
  },
);

export function findOperation(method: string, pathname: string): Operation | undefined {
  return findSpecOperation(operations, method, pathname);
}

/**
 * Returns the ways a response breaks the contract of the operation it answers (empty when it
 * keeps it): a header the spec marks `required` missing, or any documented header whose value
 * breaks its schema, included. Reads the body from a clone, so the caller can still read it.
 * `unsentHeaders`: required headers the server under test was configured not to send (the spec
 * says which configuration turns them off).
 */
export async function contractViolations(
  method: string,
  url: string,
  response: Response,
  { unsentHeaders = [] }: { unsentHeaders?: readonly string[] } = {},
): Promise<string[]> {
  const { pathname } = new URL(url);
  const op = findOperation(method, pathname);
  if (!op) return [`${method} ${pathname} is not an operation in the spec`];
  const where = `${op.operationId} → ${response.status}`;
  const documented = op.responses[String(response.status)] ?? op.responses.default;
  if (!documented) return [`${where}: status ${response.status} is not documented`];
  const spec = resolveRef<Json>(documented);
  const violations: string[] = [];
  for (const [name, header] of Object.entries((spec.headers as Record<string, Json>) ?? {})) {
    const value = response.headers.get(name);
    const h = resolveRef<Json>(header);
    if (value === null) {
      if (h.required && !unsentHeaders.includes(name)) violations.push(`${where}: header ${name} is missing`);
      continue;
    }
    const schema = resolveRef<Json>(h.schema);
    // Header values are text; numbers are compared as the numbers they spell (and must spell one).
    const typed =
      schema.type === 'integer' || schema.type === 'number'
        ? /^-?\d+(\.\d+)?$/.test(value)
          ? Number(value)
          : value
        : value;
    const validate = schemaValidator(schema, `${op.operationId}:${response.status}:header:${name}`);
    if (!validate(typed)) violations.push(`${where}: header ${name} ${ajv.errorsText(validate.errors)}`);
  }
  const content = spec.content as Record<string, Json> | undefined;
  const text = await response.clone().text();
  if (!content) {
    if (text.length > 0) violations.push(`${where}: documented without a body, but has one`);
    return violations;
  }
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const media = content[mediaType];
  if (!media)
    return [
      ...violations,
      `${where}: content type "${mediaType}" is not documented (${Object.keys(content).join(', ')})`,
    ];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [...violations, `${where}: body is not JSON`];
  }
  const validate = schemaValidator(media.schema, `${op.operationId}:${response.status}:${mediaType}`);
  if (!validate(body)) violations.push(`${where}: body ${ajv.errorsText(validate.errors, { dataVar: 'body' })}`);
  return violations;
}
