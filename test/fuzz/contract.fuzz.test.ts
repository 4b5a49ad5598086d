// Contract fuzzing, operation by operation, with requests generated from the spec itself:
//   (a) a valid request gets a documented answer whose body matches its schema, and succeeds
//       (404 only when its id names nothing; 422 only for an opaque token we made up);
//   (b) an invalid request gets the 4xx its kind of invalidity names, and changes nothing;
//   (c) nothing a client sends, however broken, gets a 5xx or an undocumented answer;
//   and, for operations that page (a documented Link header), a next-page token the service
//   issued, mutated like a fuzzer mutates bytes, is refused or accepted but never a 5xx.
// api.raw checks every response against the contract and throws on a violation, so (a)–(c) also
// check status, content type, headers and body schema of every answer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { operations, resolveRef, schemaValidator, type Operation } from '../support/contract.ts';
import { startTestServer, tokenFor, type TestServer } from '../support/server.ts';
import {
  bodyLimitBytes,
  decodedToken,
  invalidPathSegment,
  invalidHeaderValue,
  invalidQueryValue,
  invalidValue,
  malformedJson,
  mutateToken,
  oversizedJson,
  percentEncode,
  queryPairs,
  serializeParam,
  serializeQueryValue,
  text,
  tokenMutation,
  validValue,
  wrongContentEncoding,
  wrongContentType,
  typesOf,
  type Schema,
} from './arbitraries.ts';
import {
  FUZZ_RUNS,
  FUZZ_SEED,
  countingSender,
  describeRequest,
  describeResponse,
  fuzzParameters,
  type Sender,
} from './settings.ts';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// What the spec says about an operation

const params = (op: Operation, where: 'path' | 'query' | 'header') => op.parameters.filter((p) => p.in === where);

function jsonMediaType(op: Operation): string | undefined {
  const content = (op.requestBody?.content as Record<string, Json> | undefined) ?? {};
  return Object.keys(content).find((type) => type === 'application/json' || type.endsWith('+json'));
}

function bodySchema(op: Operation): unknown {
  const type = jsonMediaType(op);
  return type ? ((op.requestBody!.content as Record<string, Json>)[type]!.schema ?? {}) : undefined;
}

function documentsLocation(op: Operation): boolean {
  return Object.entries(op.responses).some(
    ([status, response]) =>
      status.startsWith('2') && 'Location' in ((resolveRef<Json>(response).headers as Json | undefined) ?? {}),
  );
}

/**
 * The collection an operation works on: the POST that creates its items (answering with a
 * Location), the GET that lists them, the GET of one item, and which of the operation's path
 * parameters names an item (none for operations on the collection itself).
 */
interface Family {
  create: Operation;
  list: Operation | undefined;
  item: Operation | undefined;
  param: string | undefined;
}

function familyOf(op: Operation): Family | undefined {
  const create = operations.find(
    (c) => c.method === 'POST' && documentsLocation(c) && (op.path === c.path || op.path.startsWith(`${c.path}/{`)),
  );
  if (!create) return undefined;
  const param = op.path === create.path ? undefined : /^\/\{([^}]+)\}/.exec(op.path.slice(create.path.length))?.[1];
  return {
    create,
    param,
    list: operations.find((o) => o.method === 'GET' && o.path === create.path),
    item: param ? operations.find((o) => o.method === 'GET' && o.path === `${create.path}/{${param}}`) : undefined,
  };
}

/** Query parameters that carry opaque tokens: free strings with a pattern, which only the service can judge. */
function opaqueQueryParams(op: Operation): string[] {
  return params(op, 'query')
    .filter((p) => {
      const schema = resolveRef<Schema>(p.schema);
      return (
        typesOf(schema).join() === 'string' && typeof schema.pattern === 'string' && !schema.format && !schema.enum
      );
    })
    .map((p) => p.name as string);
}

/**
 * Query parameters that must agree with another one (`x-must-agree-with`): [name, other]. Such a
 * parameter may be refused next to the other (sort with updated_since) or without it
 * (include_deleted=true without updated_since).
 */
function mustAgree(op: Operation): [string, string][] {
  return params(op, 'query')
    .filter((p) => typeof p['x-must-agree-with'] === 'string')
    .map((p) => [p.name as string, p['x-must-agree-with'] as string]);
}

/** The largest page the list operation allows, from its integer query parameter's maximum. */
function largestPage(list: Operation): [string, string][] {
  for (const p of params(list, 'query')) {
    const schema = resolveRef<Schema>(p.schema);
    if (typesOf(schema).join() === 'integer' && typeof schema.maximum === 'number')
      return [[p.name as string, String(schema.maximum)]];
  }
  return [];
}

/** The integer query parameter that sizes a page (with its minimum), if the operation has one. */
function pageSizeParam(op: Operation): { name: string; minimum: number } | undefined {
  for (const p of params(op, 'query')) {
    const schema = resolveRef<Schema>(p.schema);
    if (
      typesOf(schema).join() === 'integer' &&
      typeof schema.minimum === 'number' &&
      typeof schema.maximum === 'number'
    ) {
      return { name: p.name as string, minimum: schema.minimum };
    }
  }
  return undefined;
}

/** Whether any success answer of the operation documents a Link header (it pages). */
function documentsLink(op: Operation): boolean {
  return Object.entries(op.responses).some(
    ([status, response]) =>
      status.startsWith('2') && 'Link' in ((resolveRef<Json>(response).headers as Json | undefined) ?? {}),
  );
}

/** A valid request body for setting things up: the spec's first example for the operation. */
function exampleBody(op: Operation): unknown {
  const media = (op.requestBody!.content as Record<string, Json>)[jsonMediaType(op)!]!;
  const examples = (media.examples as Record<string, Json> | undefined) ?? {};
  const first = Object.values(examples)[0];
  if (first) return resolveRef<Json>(first).value;
  if ('example' in media) return media.example;
  return fc.sample(validValue(media.schema), { numRuns: 1, seed: 1 })[0];
}

// ---------------------------------------------------------------------------------------------
// Building requests

/** Fills the path template; values are raw, already-encoded segments. */
function fillPath(template: string, segments: Record<string, string>): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const segment = segments[name];
    if (segment === undefined) throw new Error(`No value for path parameter ${name}`);
    return segment;
  });
}

function queryString(pairs: [string, string][]): string {
  return pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&')}`;
}

const encodeAll = (values: Record<string, string>) =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, percentEncode(v)]));

function linkNext(response: Response): string | undefined {
  const link = response.headers.get('link');
  const match = link ? /<([^>]*)>\s*;\s*rel="?next"?/i.exec(link) : null;
  if (!match) return undefined;
  const url = new URL(match[1]!, 'http://service.invalid');
  return `${url.pathname}${url.search}`;
}

const jsonInit = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** Path parameters: one valid value each, from its schema. */
function validPathValues(op: Operation): fc.Arbitrary<Record<string, string>> {
  return fc.record(
    Object.fromEntries(params(op, 'path').map((p) => [p.name as string, validValue(p.schema).map(serializeParam)])),
  );
}

// ---------------------------------------------------------------------------------------------
// Plans: what a run sends, as plain (printable, shrinkable) data

interface ValidPlan {
  path: Record<string, string>;
  /** Whether the item the path names exists (created first) or is a random valid id. */
  target: 'existing' | 'random';
  upperCaseId: boolean;
  /** Items to add to the collection first (so there are pages to follow). */
  seedItems: number;
  query: Record<string, string | string[]>;
  body: unknown;
  follow: number;
}

function validPlan(op: Operation): fc.Arbitrary<ValidPlan> {
  const query = fc.record(
    Object.fromEntries(
      params(op, 'query').map((p) => [p.name as string, validValue(p.schema).map(serializeQueryValue)]),
    ),
    {
      requiredKeys: params(op, 'query')
        .filter((p) => p.required)
        .map((p) => p.name as string),
    },
  ) as fc.Arbitrary<Record<string, string | string[]>>;
  const schema = bodySchema(op);
  return fc.record({
    path: validPathValues(op),
    target: fc.constantFrom('existing' as const, 'random' as const),
    upperCaseId: fc.boolean(),
    seedItems: fc.nat({ max: 4 }),
    query,
    body: schema === undefined ? fc.constant(undefined) : validValue(schema),
    follow: fc.nat({ max: 3 }),
  });
}

type Breakage =
  | { kind: 'path'; name: string; segment: string }
  | { kind: 'query'; name: string; value: string }
  | { kind: 'duplicateQuery'; name: string; values: [string, string] }
  | { kind: 'unknownQuery'; name: string; value: string }
  | { kind: 'header'; name: string; value: string }
  | { kind: 'body'; value: unknown }
  | { kind: 'malformedJson'; text: string }
  | { kind: 'contentType'; type: string }
  | { kind: 'contentEncoding'; encoding: string }
  | { kind: 'noBody' }
  | { kind: 'oversized'; text: string };

interface BrokenPlan {
  path: Record<string, string>;
  body: unknown;
  breakages: Breakage[];
}

/**
 * Ways to break a request to this operation. `chaos` adds what is odd rather than invalid (the (c)
 * property: it must not cause a 5xx either): bodies sent to operations that take none, and query
 * parameters the operation does not declare (OpenAPI does not forbid those; the service refuses
 * most of them, which is its choice).
 */
function breakages(op: Operation, chaos: boolean): fc.Arbitrary<Breakage>[] {
  const out: fc.Arbitrary<Breakage>[] = [];
  for (const p of params(op, 'path')) {
    out.push(
      invalidPathSegment(p.schema).map((segment) => ({ kind: 'path' as const, name: p.name as string, segment })),
    );
  }
  const queryParams = params(op, 'query');
  for (const p of queryParams) {
    const name = p.name as string;
    out.push(invalidQueryValue(p.schema).map((value) => ({ kind: 'query' as const, name, value })));
    // A repeated parameter is invalid unless it is an array (whose items are sent that way).
    if (!typesOf(p.schema).includes('array')) {
      const valid = validValue(p.schema).map(serializeParam);
      out.push(fc.tuple(valid, valid).map((values) => ({ kind: 'duplicateQuery' as const, name, values })));
    }
  }
  // A query parameter the operation does not declare is refused (422), so even an operation that
  // takes no input at all has an invalid request. Chaos adds names a query parser might mangle.
  const known = queryParams.map((p) => p.name as string);
  const unknownName = (
    chaos
      ? fc.oneof(
          fc.stringMatching(/^[a-z_]{1,12}$/),
          text(1, 8),
          fc.constantFrom(
            '__proto__',
            'constructor',
            '[',
            ...known.flatMap((k) => [`${k}[]`, `${k}[0]`, k.toUpperCase(), ` ${k}`]),
          ),
        )
      : fc.stringMatching(/^[a-z_]{1,12}$/)
  ).filter((n) => n !== '' && !known.includes(n));
  out.push(fc.record({ kind: fc.constant('unknownQuery' as const), name: unknownName, value: text(0, 10) }));
  // Header parameters (If-Match, If-None-Match, Idempotency-Key) the contract refuses.
  for (const p of params(op, 'header')) {
    const name = p.name as string;
    out.push(invalidHeaderValue(p.schema).map((value) => ({ kind: 'header' as const, name, value })));
  }
  const schema = bodySchema(op);
  const takesBody = schema !== undefined;
  if (takesBody || (chaos && op.method !== 'GET')) {
    const validBody = takesBody ? validValue(schema) : fc.jsonValue({ maxDepth: 2 });
    out.push(
      (takesBody ? invalidValue(schema) : fc.jsonValue({ maxDepth: 2 })).map((value) => ({
        kind: 'body' as const,
        value,
      })),
      malformedJson(validBody).map((t) => ({ kind: 'malformedJson' as const, text: t })),
      wrongContentType.map((type) => ({ kind: 'contentType' as const, type })),
      wrongContentEncoding.map((encoding) => ({ kind: 'contentEncoding' as const, encoding })),
      oversizedJson(validBody).map((t) => ({ kind: 'oversized' as const, text: t })),
    );
    // Leaving out a body breaks only a required one (the completion call's is optional: none toggles).
    if (takesBody && op.requestBody?.required === true) out.push(fc.constant({ kind: 'noBody' as const }));
  }
  return out;
}

function brokenPlan(
  op: Operation,
  count: { minLength: number; maxLength: number },
  chaos = false,
): fc.Arbitrary<BrokenPlan> {
  const schema = bodySchema(op);
  return fc.record({
    path: validPathValues(op),
    body: schema === undefined ? fc.constant(undefined) : validValue(schema),
    breakages: fc.array(fc.oneof(...breakages(op, chaos)), count),
  });
}

/**
 * The status an invalid request must get, by what is wrong with it, in the order the service looks:
 * the body's media type and encoding (415: only `application/json` in UTF-8, never compressed),
 * its size (413), whether it is JSON at all (400), and only then the contract (422: path, query,
 * body schema, a missing required body). The validator answers before admission, so a path whose
 * `user_id` breaks the contract is a 422 even though no token can be for that user: the request
 * carries a valid token for the plan's (valid) user, so a 401 or 403 cannot pass for it.
 */
function expectedStatus(
  op: Operation,
  plan: BrokenPlan,
  init: RequestInit,
): { status: number; why: string } | undefined {
  const headers = init.headers as Record<string, string>;
  const bytes =
    typeof init.body === 'string' ? new TextEncoder().encode(init.body) : (init.body as Uint8Array | undefined);
  let parsed: { value: unknown } | undefined;
  if (bytes !== undefined && bytes.length > 0) {
    const contentType = headers['content-type'];
    if (!/^application\/json(;\s*charset="?utf-?8"?)?$/i.test(contentType ?? ''))
      return { status: 415, why: `a body sent as ${JSON.stringify(contentType ?? '(no Content-Type)')}` };
    if (headers['content-encoding']) return { status: 415, why: 'a compressed body' };
    if (bytes.length > bodyLimitBytes()) return { status: 413, why: 'a body over the limit' };
    try {
      parsed = { value: JSON.parse(new TextDecoder().decode(bytes)) };
    } catch {
      return { status: 400, why: 'a body that is not JSON' };
    }
  } else if (op.requestBody?.required === true) return { status: 422, why: 'no body where one is required' };
  if (plan.breakages.some((b) => ['path', 'query', 'duplicateQuery', 'unknownQuery', 'header'].includes(b.kind)))
    return { status: 422, why: 'a path, query or header parameter the contract refuses' };
  if (parsed && !schemaValidator(bodySchema(op), `${op.operationId}:request`)(parsed.value))
    return { status: 422, why: 'a body the schema refuses' };
  return undefined; // the breakages cancelled out: a valid request
}

/** The request a broken plan describes: a valid request with every breakage applied in turn. */
function brokenRequest(
  op: Operation,
  plan: BrokenPlan,
  segments: Record<string, string>,
): { path: string; init: RequestInit } {
  const pathSegments = { ...segments };
  let query: [string, string][] = [];
  let body: string | undefined = plan.body === undefined ? undefined : JSON.stringify(plan.body);
  let contentType: string | undefined = body === undefined ? undefined : 'application/json';
  let encoding: string | undefined;
  const extraHeaders: Record<string, string> = {};
  for (const b of plan.breakages) {
    switch (b.kind) {
      case 'path':
        pathSegments[b.name] = b.segment;
        break;
      case 'query':
        query = [...query.filter(([k]) => k !== b.name), [b.name, b.value]];
        break;
      case 'duplicateQuery':
        query = [...query.filter(([k]) => k !== b.name), [b.name, b.values[0]], [b.name, b.values[1]]];
        break;
      case 'unknownQuery':
        query = [...query, [b.name, b.value]];
        break;
      case 'header':
        extraHeaders[b.name.toLowerCase()] = b.value;
        break;
      case 'body':
        body = JSON.stringify(b.value);
        contentType ??= 'application/json';
        break;
      case 'malformedJson':
      case 'oversized':
        body = b.text;
        contentType ??= 'application/json';
        break;
      case 'contentType':
        contentType = b.type;
        break;
      case 'contentEncoding':
        encoding = b.encoding;
        break;
      case 'noBody':
        body = undefined;
        contentType = undefined;
        break;
    }
  }
  const headers: Record<string, string> = { ...extraHeaders };
  if (contentType) headers['content-type'] = contentType;
  if (encoding) headers['content-encoding'] = encoding;
  return {
    path: fillPath(op.path, pathSegments) + queryString(query),
    init: {
      method: op.method,
      headers,
      // Bytes, not a string, when no Content-Type is wanted: fetch would add text/plain to a string.
      ...(body === undefined ? {} : { body: contentType ? body : new TextEncoder().encode(body) }),
    },
  };
}

// ---------------------------------------------------------------------------------------------

describe('contract fuzzing: every operation, requests generated from the spec', () => {
  let api: TestServer;
  let send: Sender;

  before(async () => {
    console.log(`contract fuzz: FUZZ_SEED=${FUZZ_SEED} FUZZ_RUNS=${FUZZ_RUNS}`);
    api = await startTestServer();
    send = countingSender(api);
  });
  after(async () => {
    console.log(`contract fuzz: ${send.count} requests sent (FUZZ_SEED=${FUZZ_SEED}, FUZZ_RUNS=${FUZZ_RUNS})`);
    await api.close();
  });

  /** Creates an item through the family's POST and answers its id (the last segment of its Location). */
  async function createItem(family: Family, values: Record<string, string>): Promise<string> {
    const path = fillPath(family.create.path, encodeAll(values));
    const init = jsonInit('POST', exampleBody(family.create));
    const response = await send(path, init);
    assert.equal(
      response.status,
      201,
      `setting up: ${describeRequest(path, init)} → ${await describeResponse(response)}`,
    );
    const location = response.headers.get('location');
    assert.ok(location, 'a created item has a Location');
    return decodeURIComponent(location.split('/').at(-1)!);
  }

  /** Everything a client can see of the collection (all pages) and of the item, if there is one. */
  async function observe(family: Family, values: Record<string, string>): Promise<unknown> {
    const seen: unknown[] = [];
    if (family.list) {
      let next: string | undefined =
        fillPath(family.list.path, encodeAll(values)) + queryString(largestPage(family.list));
      while (next) {
        const response: Response = await send(next);
        assert.equal(response.status, 200, `observing ${next} → ${await describeResponse(response)}`);
        seen.push(await response.json());
        next = linkNext(response);
      }
    }
    if (family.item && family.param) {
      const response = await send(fillPath(family.item.path, encodeAll(values)));
      seen.push({ status: response.status, body: await response.json() });
    }
    return seen;
  }

  for (const op of operations) {
    const family = familyOf(op);
    const opaque = opaqueQueryParams(op);

    test(`${op.operationId}: any valid request gets a documented answer matching its schema, and succeeds unless its id names nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(validPlan(op), async (plan) => {
          const values = { ...plan.path };
          if (family?.param && plan.target === 'existing') {
            const id = await createItem(family, values);
            values[family.param] = plan.upperCaseId ? id.toUpperCase() : id;
          }
          if (family && !family.param) for (let i = 0; i < plan.seedItems; i++) await createItem(family, values);
          const path =
            fillPath(op.path, encodeAll(values)) +
            queryString(Object.entries(plan.query).flatMap(([name, value]) => queryPairs(name, value)));
          const init: RequestInit = plan.body === undefined ? { method: op.method } : jsonInit(op.method, plan.body);
          const response = await send(path, init);
          const what = `${describeRequest(path, init)}\n  → ${await describeResponse(response)}`;
          assert.ok(response.status < 500, `a valid request got a ${response.status}: ${what}`);
          if (family?.param && plan.target === 'random') {
            assert.equal(response.status, 404, `an id that names nothing is not found: ${what}`);
          } else if (response.status === 410 && '410' in op.responses) {
            // Gone: a documented answer for data past its retention (listTasks' tombstones), which
            // an instant drawn at random is likely to be.
          } else if (response.status >= 400) {
            // The only thing a valid request may be refused for is an opaque token we made up.
            const problem = (await response.json()) as { errors?: { path: string }[] };
            const blamed = problem.errors?.map((e) => e.path) ?? [];
            const allowed = [
              ...opaque.filter((name) => name in plan.query),
              ...mustAgree(op)
                .filter(([name]) => name in plan.query)
                .map(([name]) => name),
            ].map((name) => `/query/${name}`);
            assert.ok(
              response.status === 422 && blamed.length > 0 && blamed.every((p) => allowed.includes(p)),
              `a valid request was refused: ${what}`,
            );
          } else {
            assert.ok(response.status >= 200 && response.status < 300, what);
          }
          // Follow the pages the service offers; each is a valid request too.
          let next = linkNext(response);
          for (let i = 0; next && i < plan.follow; i++) {
            const page = await send(next);
            assert.equal(page.status, 200, `following rel="next" ${next} → ${await describeResponse(page)}`);
            next = linkNext(page);
          }
        }),
        fuzzParameters(),
      );
    });

    if (family && !family.param && documentsLink(op) && pageSizeParam(op)) {
      const pageSize = pageSizeParam(op)!;
      test(`${op.operationId}: a next-page token it issued, mutated, is refused or accepted but never answered with a 5xx`, async () => {
        const plan = fc.record({
          path: validPathValues(op),
          items: fc.integer({ min: pageSize.minimum + 1, max: pageSize.minimum + 4 }),
          mutations: fc.array(fc.record({ param: fc.nat(), how: tokenMutation }), { minLength: 1, maxLength: 3 }),
        });
        await fc.assert(
          fc.asyncProperty(plan, async ({ path: values, items, mutations }) => {
            for (let i = 0; i < items; i++) await createItem(family, values);
            const first =
              fillPath(op.path, encodeAll(values)) + queryString([[pageSize.name, String(pageSize.minimum)]]);
            const response = await send(first);
            assert.equal(response.status, 200, `GET ${first} → ${await describeResponse(response)}`);
            const next = linkNext(response);
            assert.ok(
              next,
              `a page of ${pageSize.minimum} out of ${items} or more items links to the next one: GET ${first}`,
            );
            // The opaque tokens (base64url text) are mutated when there are any, else any parameter.
            const url = new URL(next, 'http://service.invalid');
            const pairs = [...url.searchParams.entries()];
            const tokens = pairs.map((_, i) => i).filter((i) => decodedToken(pairs[i]![1]) !== undefined);
            const candidates = tokens.length > 0 ? tokens : pairs.map((_, i) => i);
            for (const mutation of mutations) {
              const i = candidates[mutation.param % candidates.length]!;
              const mutated = pairs.map(([k, v], j): [string, string] => [
                k,
                j === i ? mutateToken(v, mutation.how) : v,
              ]);
              const target = url.pathname + queryString(mutated);
              const answer = await send(target);
              assert.ok(
                answer.status < 500,
                `a mutated next link got a ${answer.status}: GET ${target}\n  → ${await describeResponse(answer)}`,
              );
            }
          }),
          fuzzParameters(),
        );
      });
    }

    test(`${op.operationId}: an invalid request is refused with the 4xx its invalidity names (400, 413, 415, 422) and changes nothing`, async () => {
      // Outside every collection (the health probes) only safe reads are allowed: nothing to observe.
      assert.ok(
        family || op.method === 'GET',
        `${op.operationId} changes state but belongs to no collection the fuzzer can observe`,
      );
      await fc.assert(
        fc.asyncProperty(brokenPlan(op, { minLength: 1, maxLength: 2 }), async (plan) => {
          const values = { ...plan.path };
          if (family) {
            const id = await createItem(family, values);
            if (family.param) values[family.param] = id;
          }
          const before = family && (await observe(family, values));
          const { path, init } = brokenRequest(op, plan, encodeAll(values));
          // A valid token for the plan's user, even when the path's user_id is broken.
          if (plan.path.user_id !== undefined)
            (init.headers as Record<string, string>).authorization = `Bearer ${await tokenFor(plan.path.user_id)}`;
          const expected = expectedStatus(op, plan, init);
          fc.pre(expected !== undefined);
          const response = await send(path, init);
          const what = `${describeRequest(path, init)}\n  → ${await describeResponse(response)}`;
          assert.equal(response.status, expected.status, `${expected.why} must answer ${expected.status}: ${what}`);
          if (family)
            assert.deepEqual(await observe(family, values), before, `an invalid request changed something: ${what}`);
        }),
        fuzzParameters(),
      );
    });

    test(`${op.operationId}: whatever arrives (broken in several ways, or with a body it does not take), no 5xx and no undocumented answer`, async () => {
      await fc.assert(
        fc.asyncProperty(brokenPlan(op, { minLength: 0, maxLength: 4 }, true), async (plan) => {
          const values = { ...plan.path };
          if (family?.param) values[family.param] = await createItem(family, values);
          const { path, init } = brokenRequest(op, plan, encodeAll(values));
          const response = await send(path, init);
          assert.ok(
            response.status < 500,
            `got a ${response.status}: ${describeRequest(path, init)}\n  → ${await describeResponse(response)}`,
          );
        }),
        fuzzParameters(),
      );
    });
  }
});
