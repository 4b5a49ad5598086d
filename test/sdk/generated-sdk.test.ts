// SDK generation as a test: what a consumer does with the contract, done on every run. Generates a
// TypeScript SDK (@hey-api/openapi-ts, fetch client) from openapi/openapi.yaml into a fresh temp
// directory, fails on any warning or error the generator prints, type-checks the SDK with the
// project's TypeScript under strict settings, then runs a whole story through it against the real
// service. Set KEEP_SDK_DIR=1 to keep the temp directory for a look.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import ts from 'typescript';
import type { components } from '../../generated/schema.d.ts';
import { SPEC_PATH } from '../../src/spec.ts';
import { PROJECT_ROOT } from '../../scripts/bundle-spec.ts';
import { assertStampedSince, passInstant } from '../support/clock.ts';
import { contractViolations, operations } from '../support/contract.ts';
import { newUserId, startTestServer, tokenFor, type TestServer } from '../support/server.ts';

type Task = components['schemas']['Task'];

const SPEC_FILE = fileURLToPath(SPEC_PATH);
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// ── Generating ─────────────────────────────────────────────────────────────────────────────────

// Runs in a child process: the generator logs with console.*, and exits the process when its
// validator finds an error. Log level 'info' is the one that shows both warnings and validator
// errors (at 'warn' it hides the latter).
const GENERATOR = `
import { createClient } from '@hey-api/openapi-ts';
const contexts = await createClient({
  input: process.env.SDK_INPUT,
  output: { path: process.env.SDK_OUTPUT, module: { extension: '.ts' } },
  plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
  logs: { level: 'info', file: false },
  parser: { validate_EXPERIMENTAL: 'strict' },
});
if (contexts.length !== 1) {
  console.error('expected one generated client, got ' + contexts.length);
  process.exitCode = 1;
}
`;

// What the generator prints when all is well. Every other line is a warning or an error.
const PROGRESS = [
  /^@hey-api\/openapi-ts v\d+\.\d+\.\d+$/,
  /^\[Job \d+\] ~ Generating\.\.\.$/,
  /^\[Job \d+\] +\[\d+\] \/\S.*$/, // the input file
  /^\[Job \d+\] ✓ \S.* · \d+ files? · \S+$/,
];

interface Generation {
  exitCode: number;
  /** Lines the generator printed beyond its progress report (warnings, errors). */
  reported: string[];
}

async function generateSdk(input: string, output: string): Promise<Generation> {
  const env: NodeJS.ProcessEnv = { ...process.env, SDK_INPUT: input, SDK_OUTPUT: output, NO_COLOR: '1' };
  delete env.HEYAPI_DISABLE_WARNINGS; // would silence the very warnings this test looks for
  delete env.DEBUG;
  const { exitCode, stdout, stderr } = await new Promise<{ exitCode: number; stdout: string; stderr: string }>(
    (resolve) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', GENERATOR],
        { cwd: PROJECT_ROOT, env },
        (error, stdout, stderr) => {
          resolve({ exitCode: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
        },
      );
    },
  );
  const reported = stripVTControlCharacters(`${stdout}\n${stderr}`)
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim().length > 0 && !PROGRESS.some((progress) => progress.test(line)));
  return { exitCode, reported };
}

// ── Type-checking ──────────────────────────────────────────────────────────────────────────────

/** The project's own compiler options (strict, noUncheckedIndexedAccess, erasableSyntaxOnly, …). */
function projectCompilerOptions(): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(PROJECT_ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  assert.ok(parsed, 'tsconfig.json could not be read');
  return {
    ...parsed.options,
    // The fetch client's code names DOM types (BodyInit) that @types/node does not declare
    // globally; a consumer compiles it with the DOM lib, as a browser or universal app would.
    lib: [...(parsed.options.lib ?? []), 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    noEmit: true,
  };
}

function typeErrors(rootNames: string[], currentDirectory: string): string {
  const program = ts.createProgram({ rootNames, options: projectCompilerOptions() });
  return ts.formatDiagnostics(ts.getPreEmitDiagnostics(program), {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => currentDirectory,
    getNewLine: () => '\n',
  });
}

// A consumer's code, type-checked but never run: the SDK's types must say what the contract says,
// and refuse what it refuses (each @ts-expect-error fails the check if the SDK accepts the line).
const TYPED_STORY = `
import { createClient, createConfig } from './sdk/client/index.ts';
import { createTask, deleteTask, getTask, getTaskSummary, listTasks, toggleTaskCompletion, updateTask } from './sdk/index.ts';
import type { DeleteConfirmation, Priority, Problem, Tags, Task, TaskCreate, TaskList, TaskSummary, TaskTombstone, TaskUpdate } from './sdk/index.ts';

export async function story(baseUrl: string, userId: string, token: () => string | undefined): Promise<Task> {
  const client = createClient(createConfig({ baseUrl, auth: () => token() }));
  const path = { user_id: userId };
  const priority: Priority = 'high';
  const tags: Tags = ['errands'];
  const draft: TaskCreate = { title: 'Buy milk', description: null, completed: false, priority, tags, due_at: null };
  const task: Task = (await createTask({ client, path, body: draft, throwOnError: true })).data;
  const taskPath = { ...path, task_id: task.id };
  const page: TaskList = (await listTasks({ client, path, query: { limit: 10, completed: false }, throwOnError: true })).data;
  // A list item is a task, or (only with include_deleted) a tombstone, told apart by "deleted".
  const item: Task | TaskTombstone | undefined = page[0];
  const first: Task | undefined = item && !('deleted' in item) ? item : undefined;
  // @ts-expect-error a list item may be a tombstone, which is no Task
  const unchecked: Task | undefined = page[0];
  void unchecked;
  const urgent: TaskList = (await listTasks({ client, path, query: { priority: ['high'], tag: ['work'], sort: '-due_at', q: 'milk' }, throwOnError: true })).data;
  const counts: TaskSummary = (await getTaskSummary({ client, path, query: { tz: 'Europe/Paris' }, throwOnError: true })).data;
  const dueToday: number = counts.due_today;
  void [urgent, dueToday];
  // @ts-expect-error sort names a field the list can be sorted by
  await listTasks({ client, path, query: { sort: 'due' } });
  // @ts-expect-error priority filters take a list, even of one
  await listTasks({ client, path, query: { priority: 'high' } });
  if (first?.id !== task.id) throw new Error('the new task comes first');
  const fetched = await getTask({ client, path: taskPath });
  if (fetched.error) {
    const problem: Problem = fetched.error;
    const status: number = problem.status;
    const fields: string[] = (problem.errors ?? []).map((e) => e.path + ' ' + e.message);
    throw new Error(status + ' ' + problem.detail + ' ' + fields.join(', '));
  }
  const change: TaskUpdate = { title: 'Buy oat milk', description: null, due_at: '2026-11-27T17:00:00+01:00' };
  const due: string | null = task.due_at;
  const doneAt: string | null = task.completed_at;
  void [due, doneAt];
  const updated: Task = (await updateTask({ client, path: taskPath, body: change, throwOnError: true })).data;
  const toggled: boolean = (await toggleTaskCompletion({ client, path: taskPath, throwOnError: true })).data.completed;
  const version: number = updated.version;
  // Explicit completion, conditional on the version this client last saw.
  const completed = await toggleTaskCompletion({
    client,
    path: taskPath,
    body: { completed: true },
    headers: { 'If-Match': '"' + version + '"' },
  });
  if (completed.error?.status === 412) throw new Error('someone else changed it first: ' + completed.error.detail);
  const deleted: DeleteConfirmation = (await deleteTask({ client, path: taskPath, throwOnError: true })).data;
  const message: 'Task deleted successfully' = deleted.message;
  void [toggled, message];

  // @ts-expect-error a task needs a title
  await createTask({ client, path, body: { description: 'no title' } });
  // @ts-expect-error unknown fields are not part of TaskCreate (additionalProperties: false)
  await createTask({ client, path, body: { title: 't', colour: 'red' } });
  // @ts-expect-error completed is a boolean
  await updateTask({ client, path: taskPath, body: { completed: 'yes' } });
  // @ts-expect-error a priority is none, low, medium or high
  await updateTask({ client, path: taskPath, body: { priority: 'urgent' } });
  // @ts-expect-error completed_at is set by the service, never sent
  await updateTask({ client, path: taskPath, body: { completed_at: null } });
  // @ts-expect-error a task's path needs its task_id
  await getTask({ client, path });
  // @ts-expect-error completion takes only completed
  await toggleTaskCompletion({ client, path: taskPath, body: { completed: true, title: 'x' } });
  // @ts-expect-error version is set by the service, never sent
  await updateTask({ client, path: taskPath, body: { version: 3 } });
  // @ts-expect-error a description is a string or null, never a number
  const wrong: TaskUpdate = { description: 5 };
  // @ts-expect-error a task has no fields beyond the contract's
  void updated.colour;
  void wrong;
  return updated;
}
`;

// ── Running ────────────────────────────────────────────────────────────────────────────────────

// The slice of the generated modules the story uses; their full types are checked above.
interface SdkResult {
  data?: unknown;
  error?: unknown;
  request: Request;
  response: Response;
}
type SdkCall = (options: {
  path: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
  headers?: Record<string, string>;
}) => Promise<SdkResult>;
interface GeneratedSdk {
  createTask: SdkCall;
  listTasks: SdkCall;
  getTaskSummary: SdkCall;
  getTask: SdkCall;
  updateTask: SdkCall;
  toggleTaskCompletion: SdkCall;
  deleteTask: SdkCall;
}
interface SdkAuth {
  type: 'apiKey' | 'http';
  scheme?: 'basic' | 'bearer';
}
interface SdkClientConfig {
  baseUrl: string;
  auth: (auth: SdkAuth) => string | undefined | Promise<string | undefined>;
}
interface GeneratedClient {
  setConfig(config: SdkClientConfig): unknown;
  interceptors: {
    response: { use(fn: (response: Response, request: Request) => Response | Promise<Response>): unknown };
  };
}

/** Whether any operation asks for credentials: its own `security`, or else the root one. */
const specDeclaresSecurity = operations.some((op) => op.secured);

/** The whole outcome of an SDK call, for comparing at once. */
const outcome = (result: SdkResult) => ({ status: result.response.status, data: result.data, error: result.error });

describe('SDK generated from the contract', () => {
  let dir: string;
  let sdkDir: string;
  let generation: Generation;
  let blindSpotCheck: Generation;
  let api: TestServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasks-sdk-'));
    sdkDir = join(dir, 'sdk');
    // ESM scope for Node (type stripping) and for TypeScript (module: nodenext).
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
    // A copy of the spec with a dangling $ref: the generator warns about it and carries on.
    const brokenSpec = join(dir, 'broken.yaml');
    const spec = await readFile(SPEC_FILE, 'utf8');
    await writeFile(
      brokenSpec,
      spec.replace("$ref: '#/components/schemas/Title'", "$ref: '#/components/schemas/Titel'"),
    );
    [generation, blindSpotCheck, api] = await Promise.all([
      generateSdk(SPEC_FILE, sdkDir),
      generateSdk(brokenSpec, join(dir, 'broken-sdk')),
      startTestServer(),
    ]);
  });

  after(async () => {
    await api?.close();
    if (!dir) return;
    if (process.env.KEEP_SDK_DIR) console.log(`generated SDK kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  });

  test('generating the SDK succeeds without a single warning or error', async () => {
    assert.deepEqual(generation.reported, [], `the generator reported:\n${generation.reported.join('\n')}`);
    assert.equal(generation.exitCode, 0);
    const files = (await readdir(sdkDir, { recursive: true })).filter((f) => f.endsWith('.ts')).sort();
    for (const expected of ['index.ts', 'sdk.gen.ts', 'types.gen.ts', 'client.gen.ts', join('client', 'index.ts')]) {
      assert.ok(files.includes(expected), `${expected} was not generated (got ${files.join(', ')})`);
    }
  });

  test('the warning check is not blind: a spec with a dangling $ref fails it', () => {
    assert.ok(
      blindSpotCheck.reported.some(
        (line) => line.includes('Skipping unresolvable $ref') && line.includes('#/components/schemas/Titel'),
      ),
      `expected the generator to warn about the dangling $ref, it printed:\n${blindSpotCheck.reported.join('\n')}`,
    );
  });

  test("the SDK and a consumer's story type-check under the project's strict settings", async () => {
    const story = join(dir, 'story.ts');
    await writeFile(story, TYPED_STORY);
    const sdkFiles = (await readdir(sdkDir, { recursive: true }))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(sdkDir, f));
    assert.equal(typeErrors([...sdkFiles, story], dir), '');
  });

  test('a whole story through the SDK: create → list (filtered, sorted) → summary → get → update → toggle → delete → get answers 404', async () => {
    // Node 24 runs the generated TypeScript as is: it is erasable-only (checked above) and imports
    // with .ts extensions.
    const sdk = (await import(pathToFileURL(join(sdkDir, 'index.ts')).href)) as GeneratedSdk;
    const { client } = (await import(pathToFileURL(join(sdkDir, 'client.gen.ts')).href)) as { client: GeneratedClient };
    const userId = newUserId('sdk');

    const authAskedFor: SdkAuth[] = [];
    // ┌── AUTH: the one place the story's credentials are set ──────────────────────────────────┐
    client.setConfig({
      baseUrl: api.url,
      // The SDK calls this for every operation whose `security` in the spec asks for a token, and
      // sends what it returns as "Authorization: Bearer <token>".
      auth: (auth) => {
        authAskedFor.push(auth);
        // ► The token for the story's user (HS256, signed with the test server's secret).
        return tokenFor(userId);
      },
    });
    // └──────────────────────────────────────────────────────────────────────────────────────────┘

    // Every response the SDK receives is checked against the contract too.
    const violations: string[] = [];
    let calls = 0;
    client.interceptors.response.use(async (response, request) => {
      calls++;
      violations.push(...(await contractViolations(request.method, request.url, response)));
      return response;
    });

    const path = { user_id: userId };
    const draft = {
      title: 'Buy milk',
      description: 'Two litres',
      priority: 'high',
      tags: ['errands', 'Errands', 'shop'],
      due_at: '2026-11-27T17:00:00+01:00',
    };
    // Sent with an Idempotency-Key, so the client may retry it when the answer gets lost.
    const retry = { 'Idempotency-Key': `create-${userId}` };
    const created = await sdk.createTask({ path, body: draft, headers: retry });
    assert.equal(
      created.response.status,
      201,
      `createTask answered ${created.response.status}: ${JSON.stringify(created.error)}`,
    );
    const task = created.data as Task;
    assert.match(task.id, UUID_V7);
    assert.deepEqual(outcome(created), {
      status: 201,
      data: {
        id: task.id,
        user_id: userId,
        title: 'Buy milk',
        description: 'Two litres',
        completed: false,
        priority: 'high',
        tags: ['errands', 'shop'],
        due_at: '2026-11-27T16:00:00.000Z',
        completed_at: null,
        created_at: task.created_at,
        updated_at: task.created_at,
        version: 1,
      },
      error: undefined,
    });
    assert.equal(created.response.headers.get('location'), `/api/${userId}/tasks/${task.id}`);
    assert.equal(created.response.headers.get('etag'), '"1"');
    const retried = await sdk.createTask({ path, body: draft, headers: retry });
    assert.deepEqual(outcome(retried), outcome(created), 'the retry answers the first response');
    assert.equal(retried.response.headers.get('idempotent-replayed'), 'true');
    const taskPath = { ...path, task_id: task.id };

    const open = await sdk.listTasks({ path, query: { completed: false, limit: 10 } });
    assert.deepEqual(outcome(open), { status: 200, data: [task], error: undefined });
    assert.equal(open.request.url, `${api.url}/api/${userId}/tasks?completed=false&limit=10`);
    const done = await sdk.listTasks({ path, query: { completed: true } });
    assert.deepEqual(outcome(done), { status: 200, data: [], error: undefined });
    // Array parameters go out in the explode form the spec names (the parameter repeated).
    const filtered = await sdk.listTasks({
      path,
      query: { priority: ['high', 'low'], tag: ['ERRANDS'], q: 'MILK', sort: '-due_at' },
    });
    assert.deepEqual(outcome(filtered), { status: 200, data: [task], error: undefined });
    assert.equal(
      filtered.request.url,
      `${api.url}/api/${userId}/tasks?priority=high&priority=low&tag=ERRANDS&q=MILK&sort=-due_at`,
    );
    const summary = await sdk.getTaskSummary({ path, query: { tz: 'Europe/Paris' } });
    assert.deepEqual(outcome(summary), {
      status: 200,
      data: { total: 1, pending: 1, completed: 0, overdue: 0, due_today: 0 },
      error: undefined,
    });

    const fetched = await sdk.getTask({ path: taskPath });
    assert.deepEqual(outcome(fetched), { status: 200, data: task, error: undefined });

    await passInstant(task.updated_at);
    const updateSentAt = Date.now();
    const updated = await sdk.updateTask({ path: taskPath, body: { title: 'Buy oat milk', description: null } });
    const renamed = updated.data as Task;
    assert.deepEqual(outcome(updated), {
      status: 200,
      data: { ...task, title: 'Buy oat milk', description: null, updated_at: renamed.updated_at, version: 2 },
      error: undefined,
    });
    assertStampedSince(renamed.updated_at, updateSentAt, 'the update refreshes updated_at');

    // A second device still holding version 1 cannot overwrite the rename.
    const stale = await sdk.updateTask({ path: taskPath, body: { title: 'Buy milk' }, headers: { 'If-Match': '"1"' } });
    assert.deepEqual(outcome(stale), {
      status: 412,
      data: undefined,
      error: {
        type: 'about:blank',
        title: 'Precondition Failed',
        status: 412,
        detail: 'The task has changed since the ETag sent in If-Match; nothing was changed.',
        instance: `/api/${userId}/tasks/${task.id}`,
      },
    });

    await passInstant(renamed.updated_at);
    const toggleSentAt = Date.now();
    const toggled = await sdk.toggleTaskCompletion({ path: taskPath });
    const completed = toggled.data as Task;
    assert.deepEqual(outcome(toggled), {
      status: 200,
      data: {
        ...renamed,
        completed: true,
        completed_at: completed.updated_at,
        updated_at: completed.updated_at,
        version: 3,
      },
      error: undefined,
    });
    assertStampedSince(completed.updated_at, toggleSentAt, 'the toggle refreshes updated_at');

    // Completing a completed task, conditionally on its current version: idempotent, nothing moves.
    const again = await sdk.toggleTaskCompletion({
      path: taskPath,
      body: { completed: true },
      headers: { 'If-Match': '"3"' },
    });
    assert.deepEqual(outcome(again), { status: 200, data: completed, error: undefined });

    const deleted = await sdk.deleteTask({ path: taskPath });
    assert.deepEqual(outcome(deleted), {
      status: 200,
      data: { message: 'Task deleted successfully' },
      error: undefined,
    });

    const gone = await sdk.getTask({ path: taskPath });
    assert.deepEqual(outcome(gone), {
      status: 404,
      data: undefined,
      error: {
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: 'Task not found',
        instance: `/api/${userId}/tasks/${task.id}`,
      },
    });

    assert.deepEqual(violations, [], 'a response broke the contract');
    // The SDK asked for the bearer token on every call, as the spec's security says.
    assert.equal(calls, 13);
    assert.deepEqual(authAskedFor, specDeclaresSecurity ? Array(calls).fill({ scheme: 'bearer', type: 'http' }) : []);
  });
});
