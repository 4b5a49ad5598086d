// Stateful model testing: random sequences of commands (create, update, complete or toggle, delete, get, list
// with paging, and the same on ids that name nothing or belong to someone else) run against the
// service and against a plain in-memory list of tasks. After every command the service and the
// model must agree on every task: every field (priority, tags without case duplicates, due dates in
// UTC, completed_at stamped and cleared with completion), order (newest first), created_at (never
// changes), updated_at (changes only on writes, never goes back) and version (1 at creation, one
// more on every change, sent as the ETag). Writes may carry If-Match with the current ETag, `*`, or
// a stale one (412, and nothing changes); reads may carry If-None-Match with the current ETag (304).
// Lists are checked with every filter and sort listTasks has, against the model's own account of
// them (case folded a code point at a time as PostgreSQL's lower() does, titles in code point order).
// The model also keeps a tombstone for every task deleted, so incremental syncs with
// include_deleted=true are checked too: changes and tombstones since an instant, oldest change first
// (ties by id), through the same cursor, never a tombstone for a task that exists, and a 410 from
// before the retention.
// Bodies, ids, page sizes and list parameters are generated from the spec's schemas.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { components } from '../../generated/schema.d.ts';
import { operations, resolveRef, type Operation } from '../support/contract.ts';
import { assertStampedSince, passInstant } from '../support/clock.ts';
import { newUserId, startTestServer, type TestServer } from '../support/server.ts';
import { percentEncode, validValue, type Schema } from './arbitraries.ts';
import { FUZZ_RUNS, FUZZ_SEED, countingSender, describeResponse, fuzzParameters, type Sender } from './settings.ts';

type Json = Record<string, unknown>;

type ApiTask = components['schemas']['Task'];
type ApiTombstone = components['schemas']['TaskTombstone'];
/** A list item: tombstones only with include_deleted=true. */
type Item = ApiTask | ApiTombstone;

/** What the model knows of a task (all of it: the service must agree exactly). */
type ModelTask = Omit<ApiTask, 'user_id'>;

interface Model {
  /** Oldest first, as created. */
  tasks: ModelTask[];
  /** Idempotency-Keys used on creates: the body sent first (defaults filled in) and the task answered. */
  keys: Map<string, { sent: Json; body: string; task: ApiTask }>;
  /** A tombstone for each task deleted, oldest first; deleted_at as the service stamped it. */
  tombstones: ApiTombstone[];
}

interface Real {
  send: Sender;
  userId: string;
  /** Someone else, whose token cannot reach the user's tasks. */
  otherUserId: string;
}

// ---------------------------------------------------------------------------------------------
// The operations, their schemas and parameters, from the spec

function operation(id: string): Operation {
  const op = operations.find((o) => o.operationId === id);
  if (!op) throw new Error(`The spec has no operation ${id}`);
  return op;
}

const createTask = operation('createTask');
const listTasks = operation('listTasks');
const getTask = operation('getTask');
const updateTask = operation('updateTask');
const deleteTask = operation('deleteTask');
const toggleTask = operation('toggleTaskCompletion');

const bodySchema = (op: Operation): unknown =>
  (op.requestBody!.content as Record<string, Json>)['application/json']!.schema;
const paramSchema = (op: Operation, name: string): Schema =>
  resolveRef<Schema>(op.parameters.find((p) => p.name === name)!.schema);

const limitSchema = paramSchema(listTasks, 'limit');
const largestPage = limitSchema.maximum as number;

function pathOf(op: Operation, values: { user_id: string; task_id?: string }): string {
  return op.path.replace(/\{([^}]+)\}/g, (_, name: 'user_id' | 'task_id') => percentEncode(values[name]!));
}

const jsonInit = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** What a write's If-Match says of the task's version: nothing, its current ETag, `*`, or an ETag it is not at. */
type Precondition = 'none' | 'current' | 'any' | 'stale';

function ifMatch(precondition: Precondition, version: number): Record<string, string> {
  switch (precondition) {
    case 'none':
      return {};
    case 'any':
      return { 'if-match': '*' };
    case 'current':
      return { 'if-match': `"${version}"` };
    case 'stale':
      return { 'if-match': `"${version === 1 ? 2 : version - 1}"` };
  }
}

/** A write whose If-Match named a version the task is not at: 412 naming the current ETag, nothing changed. */
async function expectStale(response: Response, before: ModelTask, what: string): Promise<void> {
  assert.equal(response.status, 412, `${what} → ${await describeResponse(response)}`);
  assert.equal(response.headers.get('etag'), `"${before.version}"`, `${what}: the 412 does not name the current ETag`);
}

const modelOf = ({ user_id: _, ...task }: ApiTask): ModelTask => task;

/** A due date as the service answers it: the same instant, in UTC, to the millisecond. */
const storedDueAt = (value: unknown) => (typeof value === 'string' ? new Date(value).toISOString() : null);

/** The task the model expects, for failure messages and comparisons (user_id included). */
const expectedOf = (task: ModelTask, userId: string): ApiTask => ({ ...task, user_id: userId });

/** The task in a response, which must carry the task's strong ETag: its version in quotes. */
async function expectTask(response: Response, status: number, what: string): Promise<ApiTask> {
  assert.equal(response.status, status, `${what} → ${await describeResponse(response)}`);
  const task = (await response.json()) as ApiTask;
  assert.equal(response.headers.get('etag'), `"${task.version}"`, `${what}: the ETag is not the task's version`);
  return task;
}

/** A write stamps updated_at with its own time (sent at `sentAt`, after the last stamp); created_at never changes. */
function assertTimestamps(after: ApiTask, before: ModelTask, sentAt: number, what: string): void {
  assert.equal(after.created_at, before.created_at, `${what}: created_at changed`);
  assertStampedSince(after.updated_at, sentAt, `${what}: updated_at`);
}

/** Every page of the list, following rel="next"; also checks each page's size against the limit. */
async function listAll(real: Real, limit: number, params: [string, string][] = []): Promise<Item[]> {
  const query = new URLSearchParams([['limit', String(limit)], ...params]);
  let next: string | undefined = `${pathOf(listTasks, { user_id: real.userId })}?${query.toString()}`;
  const tasks: Item[] = [];
  for (let page = 0; next; page++) {
    const response: Response = await real.send(next);
    assert.equal(response.status, 200, `GET ${next} → ${await describeResponse(response)}`);
    const items = (await response.json()) as Item[];
    const link = response.headers.get('link');
    const match = link ? /<([^>]*)>\s*;\s*rel="?next"?/.exec(link) : null;
    // A page with a next link is full; a page is never empty unless it is the only one.
    if (match)
      assert.equal(
        items.length,
        limit,
        `page ${page} of GET ${next} has a next link but only ${items.length} of ${limit} tasks`,
      );
    else
      assert.ok(
        items.length <= limit && (items.length > 0 || page === 0),
        `page ${page} of GET ${next} has ${items.length} tasks (limit ${limit})`,
      );
    tasks.push(...items);
    next = match ? match[1] : undefined;
    assert.ok(page < 1000, 'paging does not end');
  }
  return tasks;
}

/** The service and the model agree on the whole list: every field, newest first. */
async function assertAgreement(model: Model, real: Real): Promise<void> {
  const actual = await listAll(real, largestPage);
  const expected = [...model.tasks].reverse().map((t) => expectedOf(t, real.userId));
  assert.deepEqual(actual, expected, 'the service and the model disagree on the list (newest first)');
}

const DAY_MS = 86_400_000;
/** The spec's default TOMBSTONE_RETENTION_DAYS, which the test server keeps. */
const RETENTION_MS = 30 * DAY_MS;

const isTombstone = (item: Item): item is ApiTombstone => 'deleted' in item;
const changedAt = (item: Item) => (isTombstone(item) ? item.deleted_at : item.updated_at);

/**
 * The model's account of a sync with deletions: the tasks given (already filtered, changed after
 * `since`) and every tombstone after `since` (a deleted task has no fields to filter), oldest change
 * first, ties by id.
 */
function modelSync(m: Model, since: string, tasks: ApiTask[]): Item[] {
  const tombstones = m.tombstones.filter((t) => Date.parse(t.deleted_at) > Date.parse(since));
  return [...tasks, ...tombstones].sort((a, b) => byCodePoint(changedAt(a), changedAt(b)) || byCodePoint(a.id, b.id));
}

/** No tombstone in a sync names a task that exists (a deleted task never comes back). */
function assertNoLivingTombstones(m: Model, items: Item[], what: string): void {
  const living = items.filter((item) => isTombstone(item) && m.tasks.some((t) => t.id === item.id));
  assert.deepEqual(living, [], `${what}: tombstones for tasks that exist`);
}

// ---------------------------------------------------------------------------------------------
// Commands

type Command = fc.AsyncCommand<Model, Real>;

// The storage rules, as the spec and README state them, written out here instead of borrowed from
// src/: an oracle that copies the implementation agrees with any bug in it.

/** White space as the spec's `\s` means it: ECMAScript's WhiteSpace and LineTerminator code points. */
const WHITE_SPACE = new Set(
  [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]
    .concat(Array.from({ length: 11 }, (_, i) => 0x2000 + i))
    .map((c) => String.fromCharCode(c)),
);

/** The spec's Title: surrounding white space is removed before it is stored. */
function storedTitle(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && WHITE_SPACE.has(text[start]!)) start++;
  while (end > start && WHITE_SPACE.has(text[end - 1]!)) end--;
  return text.slice(start, end);
}

/** The spec's Description: stored as sent, but a leading byte-order mark is not kept. */
function storedDescription(text: string | null): string | null {
  if (text === null) return null;
  let kept = text;
  while (kept.startsWith('\uFEFF')) kept = kept.slice(1);
  return kept;
}

/** The spec's Tags: tags differing only in case are one tag; the first spelling sent is kept, in order. */
const storedTags = (tags: readonly string[]): string[] =>
  tags.reduce<string[]>(
    (kept, tag) => (kept.some((k) => k.toLowerCase() === tag.toLowerCase()) ? kept : [...kept, tag]),
    [],
  );

const hasTasks = (m: Readonly<Model>) => m.tasks.length > 0;

/** The create body as the service reads it: the spec's defaults filled in, members in a fixed order. */
const createDefaults = Object.entries(
  (resolveRef<Json>(bodySchema(createTask)).properties as Record<string, Json>) ?? {},
).filter(([, schema]) => 'default' in resolveRef<Json>(schema));
function sameRequestAs(body: Json): string {
  const filled: Json = { ...body };
  for (const [name, schema] of createDefaults) if (!(name in filled)) filled[name] = resolveRef<Json>(schema).default;
  return JSON.stringify(Object.fromEntries(Object.entries(filled).sort(([a], [b]) => (a < b ? -1 : 1))));
}

class Create implements Command {
  readonly body: Json;
  /** An Idempotency-Key, from a small set so that retries (same body) and reuse (another body) happen. */
  readonly key: string | undefined;
  constructor(body: Json, key?: string) {
    this.body = body;
    this.key = key;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const sentAt = Date.now();
    const init = jsonInit('POST', this.body, this.key === undefined ? {} : { 'idempotency-key': this.key });
    const response = await r.send(pathOf(createTask, { user_id: r.userId }), init);
    const earlier = this.key === undefined ? undefined : m.keys.get(this.key);
    if (earlier) {
      if (earlier.body !== sameRequestAs(this.body)) {
        // The key came with another request: refused, nothing created.
        assert.equal(response.status, 422, `${this.toString()} → ${await describeResponse(response)}`);
      } else {
        // A retry: the first answer again (as it was then), nothing created.
        const replay = await expectTask(response, 201, this.toString());
        assert.equal(response.headers.get('idempotent-replayed'), 'true', `${this.toString()}: not marked replayed`);
        assert.deepEqual(replay, earlier.task, `${this.toString()}: the replay is not the first answer`);
      }
      await assertAgreement(m, r);
      return;
    }
    const task = await expectTask(response, 201, this.toString());
    assert.equal(
      response.headers.get('idempotent-replayed'),
      null,
      `${this.toString()}: a first answer marked replayed`,
    );
    if (this.key !== undefined) m.keys.set(this.key, { sent: this.body, body: sameRequestAs(this.body), task });
    assertStampedSince(task.created_at, sentAt, `${this.toString()}: created_at`);
    const completed = (this.body.completed as boolean | undefined) ?? false;
    const expected: ModelTask = {
      id: task.id,
      title: storedTitle(this.body.title as string),
      description: storedDescription((this.body.description as string | null | undefined) ?? null),
      completed,
      priority: (this.body.priority as ApiTask['priority'] | undefined) ?? 'none',
      tags: storedTags((this.body.tags as string[] | undefined) ?? []),
      due_at: storedDueAt(this.body.due_at),
      // A task created completed was completed when it was created.
      completed_at: completed ? task.created_at : null,
      created_at: task.created_at,
      updated_at: task.created_at,
      version: 1,
    };
    assert.deepEqual(task, expectedOf(expected, r.userId), `${this.toString()}: the created task is not what was sent`);
    assert.ok(!m.tasks.some((t) => t.id === task.id), `${this.toString()}: the id ${task.id} is already taken`);
    m.tasks.push(modelOf(task));
    await assertAgreement(m, r);
  }
  toString() {
    return `create ${fc.stringify(this.body)}${this.key === undefined ? '' : ` (Idempotency-Key: ${this.key})`}`;
  }
}

/** A client retrying a create it sent with an Idempotency-Key (its answer was lost): replayed, nothing created. */
class RetryCreate implements Command {
  readonly pick: number;
  constructor(pick: number) {
    this.pick = pick;
  }
  check = (m: Readonly<Model>) => m.keys.size > 0;
  async run(m: Model, r: Real) {
    const [key, first] = [...m.keys.entries()][this.pick % m.keys.size]!;
    await new Create(first.sent, key).run(m, r);
  }
  toString() {
    return `retry create #${this.pick}`;
  }
}

class Update implements Command {
  readonly pick: number;
  readonly body: Json;
  readonly precondition: Precondition;
  constructor(pick: number, body: Json, precondition: Precondition) {
    this.pick = pick;
    this.body = body;
    this.precondition = precondition;
  }
  check = hasTasks;
  async run(m: Model, r: Real) {
    const before = m.tasks[this.pick % m.tasks.length]!;
    const what = `${this.toString()} on ${before.id}`;
    await passInstant(before.updated_at);
    const sentAt = Date.now();
    const response = await r.send(
      pathOf(updateTask, { user_id: r.userId, task_id: before.id }),
      jsonInit('PUT', this.body, ifMatch(this.precondition, before.version)),
    );
    if (this.precondition === 'stale') {
      await expectStale(response, before, what);
      await assertAgreement(m, r);
      return;
    }
    const task = await expectTask(response, 200, what);
    const expected: ModelTask = {
      ...before,
      ...('title' in this.body ? { title: storedTitle(this.body.title as string) } : {}),
      ...('description' in this.body ? { description: storedDescription(this.body.description as string | null) } : {}),
      ...('completed' in this.body
        ? {
            completed: this.body.completed as boolean,
            // Stamped when it becomes completed, kept while it stays completed, cleared on reopening.
            completed_at: this.body.completed ? (before.completed_at ?? task.updated_at) : null,
          }
        : {}),
      ...('priority' in this.body ? { priority: this.body.priority as ApiTask['priority'] } : {}),
      ...('tags' in this.body ? { tags: storedTags(this.body.tags as string[]) } : {}),
      ...('due_at' in this.body ? { due_at: storedDueAt(this.body.due_at) } : {}),
      updated_at: task.updated_at,
      version: before.version + 1,
    };
    assert.deepEqual(task, expectedOf(expected, r.userId), `${what}: the updated task is not what the model expects`);
    assertTimestamps(task, before, sentAt, what);
    m.tasks[m.tasks.indexOf(before)] = expected;
    await assertAgreement(m, r);
  }
  toString() {
    return `update #${this.pick} ${fc.stringify(this.body)} (If-Match: ${this.precondition})`;
  }
}

/** The completion call: no body toggles (the seed's call), `{"completed": …}` sets that state idempotently. */
class Complete implements Command {
  readonly pick: number;
  readonly body: Json | undefined;
  readonly precondition: Precondition;
  constructor(pick: number, body: Json | undefined, precondition: Precondition) {
    this.pick = pick;
    this.body = body;
    this.precondition = precondition;
  }
  check = hasTasks;
  async run(m: Model, r: Real) {
    const before = m.tasks[this.pick % m.tasks.length]!;
    const what = `${this.toString()} on ${before.id}`;
    const path = pathOf(toggleTask, { user_id: r.userId, task_id: before.id });
    await passInstant(before.updated_at);
    const sentAt = Date.now();
    const headers = ifMatch(this.precondition, before.version);
    const response = await r.send(
      path,
      this.body === undefined ? { method: 'PATCH', headers } : jsonInit('PATCH', this.body, headers),
    );
    if (this.precondition === 'stale') {
      await expectStale(response, before, what);
      await assertAgreement(m, r);
      return;
    }
    const task = await expectTask(response, 200, what);
    const wanted = (this.body?.completed as boolean | undefined) ?? !before.completed;
    const expected: ModelTask =
      wanted === before.completed
        ? before // already in that state: nothing moves
        : {
            ...before,
            completed: wanted,
            completed_at: wanted ? task.updated_at : null,
            updated_at: task.updated_at,
            version: before.version + 1,
          };
    assert.deepEqual(task, expectedOf(expected, r.userId), `${what}: completion is not what the model expects`);
    if (expected !== before) assertTimestamps(task, before, sentAt, what);
    m.tasks[m.tasks.indexOf(before)] = expected;
    await assertAgreement(m, r);
  }
  toString() {
    const body = this.body === undefined ? '(no body)' : fc.stringify(this.body);
    return `complete #${this.pick} ${body} (If-Match: ${this.precondition})`;
  }
}

class Delete implements Command {
  readonly pick: number;
  readonly precondition: Precondition;
  constructor(pick: number, precondition: Precondition) {
    this.pick = pick;
    this.precondition = precondition;
  }
  check = hasTasks;
  async run(m: Model, r: Real) {
    const victim = m.tasks[this.pick % m.tasks.length]!;
    const path = pathOf(deleteTask, { user_id: r.userId, task_id: victim.id });
    const sentAt = Date.now();
    const response = await r.send(path, { method: 'DELETE', headers: ifMatch(this.precondition, victim.version) });
    if (this.precondition === 'stale') {
      await expectStale(response, victim, `${this.toString()} on ${victim.id}`);
      await assertAgreement(m, r);
      return;
    }
    assert.equal(response.status, 200, `${this.toString()} on ${victim.id} → ${await describeResponse(response)}`);
    const answeredAt = Date.now();
    m.tasks.splice(m.tasks.indexOf(victim), 1);
    const gone = await r.send(pathOf(getTask, { user_id: r.userId, task_id: victim.id }));
    assert.equal(gone.status, 404, `a deleted task is not found: ${await describeResponse(gone)}`);
    await assertAgreement(m, r);
    await this.#learnTombstone(m, r, victim, sentAt, answeredAt);
  }

  /**
   * A sync from just before the delete lists the task's tombstone, stamped during the delete: the
   * model learns its deleted_at there (the database's clock stamps it), and checks the rest of the sync.
   */
  async #learnTombstone(m: Model, r: Real, victim: ModelTask, sentAt: number, answeredAt: number): Promise<void> {
    const since = new Date(sentAt - 1).toISOString();
    const what = `${this.toString()} on ${victim.id}, then a sync since ${since}`;
    const synced = await listAll(r, largestPage, [
      ['updated_since', since],
      ['include_deleted', 'true'],
    ]);
    const found = synced.filter((item) => item.id === victim.id);
    assert.equal(found.length, 1, `${what}: ${found.length} items for the deleted task`);
    const tombstone = found[0]!;
    assert.ok(isTombstone(tombstone), `${what}: the deleted task is listed as a task`);
    const stamp = Date.parse(tombstone.deleted_at);
    assert.ok(
      stamp >= sentAt && stamp <= answeredAt + 1,
      `${what}: deleted_at ${tombstone.deleted_at} was not stamped by the delete`,
    );
    m.tombstones.push(tombstone);
    assertNoLivingTombstones(m, synced, what);
    const changed = m.tasks
      .filter((t) => Date.parse(t.updated_at) > Date.parse(since))
      .map((t) => expectedOf(t, r.userId));
    assert.deepEqual(synced, modelSync(m, since, changed), `${what}: the sync is not the model's`);
  }
  toString() {
    return `delete #${this.pick} (If-Match: ${this.precondition})`;
  }
}

class Get implements Command {
  readonly pick: number;
  readonly upperCase: boolean;
  /** Send If-None-Match with the ETag the model holds: the copy is current, so 304. */
  readonly revalidate: boolean;
  constructor(pick: number, upperCase: boolean, revalidate: boolean) {
    this.pick = pick;
    this.upperCase = upperCase;
    this.revalidate = revalidate;
  }
  check = hasTasks;
  async run(m: Model, r: Real) {
    const wanted = m.tasks[this.pick % m.tasks.length]!;
    // The spec accepts upper-case hex digits in a task id; the answer still has the stored id.
    const id = this.upperCase ? wanted.id.toUpperCase() : wanted.id;
    const path = pathOf(getTask, { user_id: r.userId, task_id: id });
    if (this.revalidate) {
      const response = await r.send(path, { headers: { 'if-none-match': `"${wanted.version}"` } });
      assert.equal(response.status, 304, `${this.toString()} (${id}) → ${await describeResponse(response)}`);
      assert.equal(response.headers.get('etag'), `"${wanted.version}"`, `${this.toString()}: 304 without the ETag`);
      return;
    }
    const task = await expectTask(await r.send(path), 200, `${this.toString()} (${id})`);
    assert.deepEqual(task, expectedOf(wanted, r.userId), `${this.toString()}: the task is not what the model expects`);
  }
  toString() {
    return `get #${this.pick}${this.upperCase ? ' (upper-case id)' : ''}${this.revalidate ? ' (If-None-Match)' : ''}`;
  }
}

/**
 * A list query, as generated: the sort and filters from the spec's parameters; the tags and the
 * search text picked from the user's tasks when it runs (so they find something), or generated.
 */
interface ListQuery {
  sort: string | undefined;
  status: string | undefined;
  completed: boolean | undefined;
  priority: string[] | undefined;
  /** Each: a tag of one of the user's tasks (the number picks it), with its ASCII letters' case flipped or not, or a tag as generated. */
  tags: (number | string)[] | undefined;
  dueBefore: string | undefined;
  dueAfter: string | undefined;
  overdue: boolean | undefined;
  /** Part of a title or description of one of the user's tasks (the numbers pick it), or a text as generated. */
  q: [number, number, number] | string | undefined;
  /** The updated_at of one of the user's tasks or the deleted_at of a tombstone (the number picks it), or an instant as generated. */
  updatedSince: number | string | { agoMs: number } | undefined;
  includeDeleted: boolean | undefined;
}

/** Case folded one code point at a time, as PostgreSQL's lower() does (JavaScript would make İ two). */
const fold = (text: string) => [...text].map((c) => String.fromCodePoint(c.toLowerCase().codePointAt(0)!)).join('');
const flipAsciiCase = (text: string) =>
  text.replace(/[A-Za-z]/g, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const RANK: Record<ApiTask['priority'], number> = { none: 0, low: 1, medium: 2, high: 3 };

/** The order a sort names, as the spec describes it: ties by id; tasks without a due date last both ways. */
function modelOrder(sort: string): (a: ModelTask, b: ModelTask) => number {
  const sign = sort.startsWith('-') ? -1 : 1;
  const field = sort.replace(/^-/, '');
  const key = (a: ModelTask, b: ModelTask): number => {
    if (field === 'priority') return sign * (RANK[a.priority] - RANK[b.priority]);
    if (field === 'title') return sign * byCodePoint(a.title, b.title);
    if (field === 'due_at') {
      if (a.due_at === null || b.due_at === null) return Number(a.due_at === null) - Number(b.due_at === null);
      return sign * byCodePoint(a.due_at, b.due_at);
    }
    return sign * byCodePoint(a[field as 'created_at' | 'updated_at'], b[field as 'created_at' | 'updated_at']);
  };
  return (a, b) => key(a, b) || sign * byCodePoint(a.id, b.id);
}

class List implements Command {
  readonly limit: number;
  readonly query: ListQuery;
  constructor(limit: number, query: ListQuery) {
    this.limit = limit;
    this.query = query;
  }
  check = () => true;

  /** The query's parameters, with the picks resolved against the model's tasks. */
  params(m: Model): [string, string][] {
    const q = this.query;
    const tags = m.tasks.flatMap((t) => t.tags);
    const texts = m.tasks.flatMap((t) => [t.title, ...(t.description ? [t.description] : [])]);
    const params: [string, string][] = [];
    if (q.sort !== undefined) params.push(['sort', q.sort]);
    if (q.status !== undefined) params.push(['status', q.status]);
    if (q.completed !== undefined) params.push(['completed', String(q.completed)]);
    for (const p of q.priority ?? []) params.push(['priority', p]);
    // Odd picks take a tag with ASCII letters, if there is one, in the other case: it must still match.
    const lettered = tags.filter((tag) => /[A-Za-z]/.test(tag));
    for (const tag of q.tags ?? []) {
      if (typeof tag === 'string') params.push(['tag', tag]);
      else if (tag % 2 && lettered.length > 0) params.push(['tag', flipAsciiCase(lettered[tag % lettered.length]!)]);
      else if (tags.length > 0) params.push(['tag', tags[tag % tags.length]!]);
    }
    if (q.dueBefore !== undefined) params.push(['due_before', q.dueBefore]);
    if (q.dueAfter !== undefined) params.push(['due_after', q.dueAfter]);
    if (q.overdue !== undefined) params.push(['overdue', String(q.overdue)]);
    // The instants a sync resumes from: the last change a client saw, a task's or a deletion's.
    const instants = [...m.tasks.map((t) => t.updated_at), ...m.tombstones.map((t) => t.deleted_at)];
    if (typeof q.updatedSince === 'string') params.push(['updated_since', q.updatedSince]);
    else if (typeof q.updatedSince === 'object')
      params.push(['updated_since', new Date(Date.now() - q.updatedSince.agoMs).toISOString()]);
    else if (q.updatedSince !== undefined && instants.length > 0)
      params.push(['updated_since', instants[q.updatedSince % instants.length]!]);
    if (q.includeDeleted !== undefined) params.push(['include_deleted', String(q.includeDeleted)]);
    if (typeof q.q === 'string') params.push(['q', q.q]);
    else if (q.q && texts.length > 0) {
      const [which, at, length] = q.q;
      const text = [...texts[which % texts.length]!];
      const start = at % text.length;
      const part = text.slice(start, start + 1 + (length % 8)).join('');
      params.push(['q', length % 2 ? flipAsciiCase(part) : part]);
    }
    return params;
  }

  async run(m: Model, r: Real) {
    const params = this.params(m);
    const get = (name: string) => params.filter(([k]) => k === name).map(([, v]) => v);
    const [status] = get('status');
    const [completed] = get('completed');
    const byStatus = status === undefined || status === 'all' ? undefined : status === 'completed';
    const [sort] = get('sort');
    const [updatedSince] = get('updated_since');
    const includeDeleted = get('include_deleted')[0] === 'true';
    // status and completed that disagree, changes since an instant in another order than theirs, or
    // deletions without an instant: refused, naming the parameter.
    const conflicts = [
      ...(status !== undefined && completed !== undefined && String(byStatus) !== completed ? ['/query/status'] : []),
      ...(updatedSince !== undefined && sort !== undefined && sort !== 'updated_at' ? ['/query/updated_since'] : []),
      ...(includeDeleted && updatedSince === undefined ? ['/query/include_deleted'] : []),
    ];
    if (conflicts.length > 0) {
      const response = await r.send(
        `${pathOf(listTasks, { user_id: r.userId })}?${new URLSearchParams(params).toString()}`,
      );
      assert.equal(response.status, 422, `${this.toString()} → ${await describeResponse(response)}`);
      const problem = (await response.json()) as { errors: { path: string }[] };
      assert.deepEqual(
        problem.errors.map((e) => e.path),
        conflicts.slice(0, 1),
      );
      return;
    }
    if (includeDeleted && Date.parse(updatedSince!) < Date.now() - RETENTION_MS) {
      // Deletions that old may have been purged: refused, so the client resyncs in full.
      const response = await r.send(
        `${pathOf(listTasks, { user_id: r.userId })}?${new URLSearchParams(params).toString()}`,
      );
      assert.equal(response.status, 410, `${this.toString()} → ${await describeResponse(response)}`);
      return;
    }
    const wantCompleted = completed === undefined ? byStatus : completed === 'true';
    const [q] = get('q');
    const [dueBefore] = get('due_before');
    const [dueAfter] = get('due_after');
    const [overdue] = get('overdue');
    const now = Date.now();
    const isOverdue = (t: ModelTask) => !t.completed && t.due_at !== null && Date.parse(t.due_at) < now;
    const expected = m.tasks
      .filter((t) => wantCompleted === undefined || t.completed === wantCompleted)
      .filter((t) => get('priority').length === 0 || get('priority').includes(t.priority))
      .filter((t) => get('tag').every((tag) => t.tags.some((mine) => fold(mine) === fold(tag))))
      .filter((t) => dueBefore === undefined || (t.due_at !== null && Date.parse(t.due_at) < Date.parse(dueBefore)))
      .filter((t) => dueAfter === undefined || (t.due_at !== null && Date.parse(t.due_at) >= Date.parse(dueAfter)))
      .filter((t) => overdue === undefined || isOverdue(t) === (overdue === 'true'))
      .filter((t) => q === undefined || fold(t.title).includes(fold(q)) || fold(t.description ?? '').includes(fold(q)))
      .filter((t) => updatedSince === undefined || Date.parse(t.updated_at) > Date.parse(updatedSince))
      .sort(modelOrder(sort ?? (updatedSince === undefined ? '-created_at' : 'updated_at')))
      .map((t) => expectedOf(t, r.userId));
    const actual = await listAll(r, this.limit, params);
    if (includeDeleted) assertNoLivingTombstones(m, actual, this.toString());
    assert.deepEqual(
      actual,
      includeDeleted ? modelSync(m, updatedSince!, expected) : expected,
      `${this.toString()} ${fc.stringify(params)}: the pages, put together, are not the model's`,
    );
  }
  toString() {
    return `list limit=${this.limit} ${fc.stringify(this.query)}`;
  }
}

type Action = 'get' | 'update' | 'toggle' | 'delete';

function request(action: Action, path: string, body: Json): [string, RequestInit] {
  const op = { get: getTask, update: updateTask, toggle: toggleTask, delete: deleteTask }[action];
  return [path, action === 'update' ? jsonInit(op.method, body) : { method: op.method }];
}

/** An id that names no task of the user: 404, and nothing changes. */
class Unknown implements Command {
  readonly action: Action;
  readonly id: string;
  readonly body: Json;
  constructor(action: Action, id: string, body: Json) {
    this.action = action;
    this.id = id;
    this.body = body;
  }
  check = (m: Readonly<Model>) => !m.tasks.some((t) => t.id === this.id.toLowerCase());
  async run(m: Model, r: Real) {
    const op = { get: getTask, update: updateTask, toggle: toggleTask, delete: deleteTask }[this.action];
    const [path, init] = request(this.action, pathOf(op, { user_id: r.userId, task_id: this.id }), this.body);
    const response = await r.send(path, init);
    assert.equal(response.status, 404, `${this.toString()} → ${await describeResponse(response)}`);
    await assertAgreement(m, r);
  }
  toString() {
    return `${this.action} unknown ${this.id}`;
  }
}

/** Someone else asks for one of the user's tasks by its id, under their own path: 404, and nothing changes. */
class Trespass implements Command {
  readonly action: Action;
  readonly pick: number;
  readonly body: Json;
  constructor(action: Action, pick: number, body: Json) {
    this.action = action;
    this.pick = pick;
    this.body = body;
  }
  check = hasTasks;
  async run(m: Model, r: Real) {
    const target = m.tasks[this.pick % m.tasks.length]!;
    const op = { get: getTask, update: updateTask, toggle: toggleTask, delete: deleteTask }[this.action];
    const [path, init] = request(this.action, pathOf(op, { user_id: r.otherUserId, task_id: target.id }), this.body);
    const response = await r.send(path, init);
    assert.equal(response.status, 404, `${this.toString()} on ${target.id} → ${await describeResponse(response)}`);
    await assertAgreement(m, r);
  }
  toString() {
    return `${this.action} #${this.pick} as another user`;
  }
}

const createBody = validValue(bodySchema(createTask)) as fc.Arbitrary<Json>;
const updateBody = validValue(bodySchema(updateTask)) as fc.Arbitrary<Json>;
const action = fc.constantFrom<Action>('get', 'update', 'toggle', 'delete');
const pick = fc.nat();
const precondition = fc.constantFrom<Precondition>('none', 'current', 'any', 'stale');

/** Sometimes (one time in four): most queries have one or two filters, so that they find something. */
const sometimes = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
/** A list parameter's value, from its schema in the spec. */
const param = <T>(name: string) => validValue(paramSchema(listTasks, name)) as fc.Arbitrary<T>;
const listQuery: fc.Arbitrary<ListQuery> = fc.record({
  sort: fc.option(param<string>('sort'), { nil: undefined }),
  status: sometimes(param<string>('status')),
  completed: sometimes(param<boolean>('completed')),
  priority: sometimes(param<string[]>('priority')),
  tags: sometimes(
    fc.array(
      fc.oneof(
        { weight: 3, arbitrary: pick },
        validValue(resolveRef<Schema>(paramSchema(listTasks, 'tag').items)) as fc.Arbitrary<string>,
      ),
      { minLength: 1, maxLength: 2 },
    ),
  ),
  dueBefore: sometimes(param<string>('due_before')),
  dueAfter: sometimes(param<string>('due_after')),
  overdue: sometimes(param<boolean>('overdue')),
  q: sometimes(fc.oneof({ weight: 3, arbitrary: fc.tuple(pick, pick, pick) }, param<string>('q'))),
  updatedSince: sometimes(fc.oneof({ weight: 3, arbitrary: pick }, param<string>('updated_since'))),
  includeDeleted: sometimes(param<boolean>('include_deleted')),
});
/** A query with no filter and no sort: what most syncs are. */
const plainQuery: ListQuery = {
  sort: undefined,
  status: undefined,
  completed: undefined,
  priority: undefined,
  tags: undefined,
  dueBefore: undefined,
  dueAfter: undefined,
  overdue: undefined,
  q: undefined,
  updatedSince: undefined,
  includeDeleted: undefined,
};
/**
 * An incremental sync with deletions, as a client sends it, mostly without filters or a sort:
 * since one of the model's instants, since an hour ago (before all of the user's changes: a first
 * sync), since either side of the retention, or since a generated instant.
 */
const syncQuery: fc.Arbitrary<ListQuery> = fc
  .tuple(
    fc.oneof({ weight: 7, arbitrary: fc.constant(plainQuery) }, listQuery),
    fc.oneof(
      { weight: 4, arbitrary: pick },
      { weight: 3, arbitrary: fc.constant({ agoMs: 3_600_000 }) },
      { weight: 1, arbitrary: fc.constantFrom({ agoMs: 29 * DAY_MS }, { agoMs: 31 * DAY_MS }) },
      { weight: 1, arbitrary: param<string>('updated_since') },
    ),
  )
  .map(([query, updatedSince]) => ({ ...query, updatedSince, includeDeleted: true }));

const commands = fc.commands<Model, Real, false>(
  [
    createBody.map((body) => new Create(body)),
    fc.tuple(createBody, fc.constantFrom('k1', 'k2', 'k3')).map(([body, key]) => new Create(body, key)),
    pick.map((p) => new RetryCreate(p)),
    fc.tuple(pick, updateBody, precondition).map(([p, body, pre]) => new Update(p, body, pre)),
    fc
      .tuple(
        pick,
        fc.option(validValue(bodySchema(toggleTask)) as fc.Arbitrary<Json>, { nil: undefined }),
        precondition,
      )
      .map(([p, body, pre]) => new Complete(p, body, pre)),
    fc.tuple(pick, precondition).map(([p, pre]) => new Delete(p, pre)),
    fc.tuple(pick, fc.boolean(), fc.boolean()).map(([p, upper, revalidate]) => new Get(p, upper, revalidate)),
    // Three times as likely as the others: lists have many parameters to cover.
    ...[1, 2, 3].map(() =>
      fc
        .tuple(validValue(limitSchema) as fc.Arbitrary<number>, listQuery)
        .map(([limit, query]) => new List(limit, query)),
    ),
    // Twice: syncs are what tombstones are for.
    ...[1, 2].map(() =>
      fc
        .tuple(validValue(limitSchema) as fc.Arbitrary<number>, syncQuery)
        .map(([limit, query]) => new List(limit, query)),
    ),
    fc
      .tuple(action, validValue(paramSchema(getTask, 'task_id')) as fc.Arbitrary<string>, updateBody)
      .map(([a, id, body]) => new Unknown(a, id, body)),
    fc.tuple(action, pick, updateBody).map(([a, p, body]) => new Trespass(a, p, body)),
  ],
  { maxCommands: 30, size: 'max' },
);

describe('model fuzzing: the service behaves like a list of tasks in memory', () => {
  let api: TestServer;
  let send: Sender;
  const numRuns = FUZZ_RUNS;

  before(async () => {
    console.log(`model fuzz: FUZZ_SEED=${FUZZ_SEED} FUZZ_RUNS=${FUZZ_RUNS} (${numRuns} command sequences)`);
    api = await startTestServer();
    send = countingSender(api);
  });
  after(async () => {
    console.log(`model fuzz: ${send.count} requests sent (FUZZ_SEED=${FUZZ_SEED}, FUZZ_RUNS=${FUZZ_RUNS})`);
    await api.close();
  });

  test('any sequence of creates, updates, toggles, deletes, gets and paged lists leaves the service agreeing with the model', async () => {
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        // A user of its own per run (and per shrink attempt): every run starts from an empty list.
        const setup = () => ({
          model: { tasks: [], keys: new Map(), tombstones: [] } as Model,
          real: { send, userId: newUserId('model'), otherUserId: newUserId('other') },
        });
        await fc.asyncModelRun(setup, cmds);
      }),
      fuzzParameters(numRuns),
    );
  });
});
