// An operator's view of one request: its id in the response, in the problem document of a failure,
// and on every log line about it; credentials never in those lines.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { createLogger } from '../../src/logger.ts';
import { json, newUserId, startTestServer, tokenFor, type TestServer } from '../support/server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type LogLine = Record<string, unknown> & { msg: string; level: number; reqId?: string };

describe('request ids and the request log', () => {
  let api: TestServer;
  const lines: LogLine[] = [];
  const linesOf = (id: string) => lines.filter((line) => line.reqId === id);
  before(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as LogLine);
        done();
      },
    });
    api = await startTestServer({}, { logger: createLogger('debug', sink) });
  });
  after(() => api.close());

  test("a caller's sane X-Request-Id is kept: answered, and on the request's log line", async () => {
    const id = 'checkout-7f3a:retry.2_of_3';
    const res = await api.raw('/health/live', { headers: { 'x-request-id': id } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), id);
    await res.arrayBuffer();
    const [line, ...more] = linesOf(id);
    assert.deepEqual(more, []);
    assert.equal(line?.msg, 'request completed');
    assert.equal(line.level, 20, 'a passing probe is logged at debug');
    assert.deepEqual(
      { id: (line.req as { id: string }).id, res: line.res, responseTime: typeof line.responseTime },
      { id, res: { statusCode: 200 }, responseTime: 'number' },
    );
  });

  test('an id that is empty, too long, or has characters outside [A-Za-z0-9._:-] is replaced by one of ours', async () => {
    for (const sent of ['', 'x'.repeat(129), 'two words', 'a\u00e9b', 'id;drop', '<script>']) {
      const res = await api.raw('/health/live', { headers: { 'x-request-id': sent } });
      assert.match(res.headers.get('x-request-id') ?? '', UUID, `for ${JSON.stringify(sent)}`);
    }
    const longest = 'x'.repeat(128);
    const res = await api.raw('/health/live', { headers: { 'x-request-id': longest } });
    assert.equal(res.headers.get('x-request-id'), longest);
  });

  test('every answer carries an id of its own: tasks, problems, unknown paths, 405, 413, the docs', async () => {
    const userId = newUserId();
    const token = await tokenFor(userId);
    const auth = { authorization: `Bearer ${token}` };
    const answers = await Promise.all([
      api.raw(`/api/${userId}/tasks`, json({ title: 'with an id' })),
      api.raw(`/api/${userId}/tasks/${uuidv7()}`),
      api.raw(`/api/${userId}/tasks`, { method: 'DELETE', headers: auth }),
      api.raw(`/api/${userId}/tasks`, json({ title: 'x'.repeat(20_000) })),
      api.raw(`/api/${userId}/tasks`, undefined, { anonymous: true }),
      api.raw('/no/such/path'),
      api.raw('/docs/'),
      api.raw('/openapi.json'),
    ]);
    assert.deepEqual(
      answers.map((r) => r.status),
      [201, 404, 405, 413, 401, 404, 200, 200],
    );
    const ids = answers.map((r) => r.headers.get('x-request-id') ?? '');
    for (const id of ids) assert.match(id, UUID);
    assert.equal(new Set(ids).size, ids.length, 'each request has its own id');
  });

  test('a 500 is followed from its X-Request-Id to the log lines that say why', async () => {
    // A row no request could have made (an empty title, written straight into the table, as an old
    // import might have): answering it would break the contract, which the service refuses with a 500.
    const userId = newUserId();
    const taskId = uuidv7();
    await api.db.em
      .getConnection()
      .execute(`insert into task (id, user_id, title) values ('${taskId}', '${userId}', '')`);
    const res = await api.raw(`/api/${userId}/tasks/${taskId}`);
    assert.equal(res.status, 500);
    const id = res.headers.get('x-request-id') ?? '';
    assert.match(id, UUID);
    assert.deepEqual(await res.json(), {
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'The service failed to answer this request. It has been logged.',
      instance: `/api/${userId}/tasks/${taskId}`,
      request_id: id,
    });

    const [cause, completed, ...more] = linesOf(id);
    assert.deepEqual(more, []);
    assert.equal(cause?.msg, 'request failed');
    assert.equal(cause.level, 50);
    assert.match((cause.err as { message: string }).message, /\/response\/title must NOT have fewer than 1 characters/);
    assert.equal(completed?.msg, 'request errored');
    assert.equal(completed.level, 50);
    assert.deepEqual((completed.req as { id: string; method: string; url: string }).method, 'GET');
    assert.equal((completed.req as { url: string }).url, `/api/${userId}/tasks/${taskId}`);
    assert.equal((completed.res as { statusCode: number }).statusCode, 500);
    assert.equal(completed.err, undefined, 'the cause is logged once, on the line above');
  });

  test('a request line names the request, never its credentials (Authorization, Proxy-Authorization, Cookie)', async () => {
    const userId = newUserId();
    const token = await tokenFor(userId);
    const res = await api.raw(`/api/${userId}/tasks`, {
      headers: {
        authorization: `Bearer ${token}`,
        'proxy-authorization': 'Basic c2VjcmV0OnNlY3JldA==',
        cookie: 'session=s3cr3t',
        'user-agent': 'request-log-test',
      },
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const id = res.headers.get('x-request-id') ?? '';
    const [line] = linesOf(id);
    assert.deepEqual(line?.req, {
      id,
      method: 'GET',
      url: `/api/${userId}/tasks`,
      remoteAddress: '127.0.0.1',
      userAgent: 'request-log-test',
    });
    const all = JSON.stringify(lines);
    for (const secret of [token, 'c2VjcmV0OnNlY3JldA==', 's3cr3t']) assert.ok(!all.includes(secret));
  });

  test('a client that leaves before its answer is logged as such: the request, the time it took, "request aborted"', async () => {
    const userId = newUserId();
    const token = await tokenFor(userId);
    const id = `left-early-${userId}`;
    // Promises 100 bytes of body and sends 10, so the service is still reading it when the client goes.
    const { port } = new URL(api.url);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `POST /api/${userId}/tasks HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n` +
        `X-Request-Id: ${id}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":`,
    );
    await sleep(50);
    socket.destroy();
    for (let waited = 0; linesOf(id).length === 0 && waited < 2000; waited += 10) await sleep(10);
    const [line, ...more] = linesOf(id);
    assert.deepEqual(more, []);
    assert.deepEqual(
      {
        ...line,
        time: typeof line?.time,
        pid: typeof line?.pid,
        hostname: typeof line?.hostname,
        responseTime: typeof line?.responseTime,
      },
      {
        level: 30,
        time: 'number',
        pid: 'number',
        hostname: 'string',
        reqId: id,
        req: { id, method: 'POST', url: `/api/${userId}/tasks`, remoteAddress: '127.0.0.1' },
        responseTime: 'number',
        msg: 'request aborted',
      },
    );
    const { data } = await api.client.GET('/api/{user_id}/tasks', { params: { path: { user_id: userId } } });
    assert.deepEqual(data, [], 'nothing was written');
  });
});
