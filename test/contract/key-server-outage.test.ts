// A key server (JWKS_URL) that fails, goes away and comes back under a running service: clients get
// an honest 503, and the operator reads why in two log lines, as for a database outage.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createTokenVerifier } from '../../src/auth/token-verifier.ts';
import { createLogger } from '../../src/logger.ts';
import { manualClock } from '../support/clock.ts';
import { newUserId, startTestServer, type TestServer } from '../support/server.ts';

type LogLine = Record<string, unknown> & { msg: string; level: number };

/** What the key server answers next. */
type Answer = 'keys' | 'status 500' | 'not JSON' | 'no keys array';

describe('a key server outage', () => {
  const clock = manualClock();
  const logLines: LogLine[] = [];
  /** The key server's lines, without what every pino line has (time, pid, hostname). */
  const keyServerLines = () =>
    logLines
      .filter((line) => line.msg.startsWith('key server:'))
      .map(({ time: _time, pid: _pid, hostname: _hostname, ...line }) => line);
  let api: TestServer;
  let keyServer: Server;
  let port: number;
  let answer: Answer = 'keys';
  const published: JWK[] = [];
  let signingKey: CryptoKey;

  const listen = async () => {
    keyServer = createServer((_req, res) => {
      if (answer === 'status 500') res.writeHead(500).end('upstream trouble');
      else if (answer === 'not JSON') res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Welcome</h1>');
      else if (answer === 'no keys array') res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":1}');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => keyServer.listen(port ?? 0, '127.0.0.1', resolve));
    port = (keyServer.address() as AddressInfo).port;
  };
  const shutDownKeyServer = () => {
    keyServer.closeAllConnections();
    return new Promise((resolve) => keyServer.close(resolve));
  };

  /** A token signed with a key published under a new kid, so the service must ask the key server. */
  async function tokenWithNewKey(userId: string): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const kid = `ed-${published.length + 1}`;
    published.push({ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' });
    signingKey = privateKey;
    return new SignJWT({ sub: userId, exp: Math.floor(clock() / 1000) + 600 })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
      .sign(privateKey);
  }

  /** The failed-fetch counter's samples, as Prometheus scrapes them. */
  const fetchFailures = async () =>
    (await (await fetch(`${api.metricsUrl}/metrics`)).text())
      .split('\n')
      .filter((line) => line.startsWith('jwks_fetch_failures_total'))
      .sort();

  const list = (userId: string, token: string) =>
    api.raw(`/api/${userId}/tasks`, { headers: { authorization: `Bearer ${token}` } }, { anonymous: true });

  before(async () => {
    await listen();
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(JSON.parse(String(chunk)) as LogLine);
        done();
      },
    });
    api = await startTestServer(
      {},
      {
        // No cooldown: every token naming an unknown kid makes the service ask the key server.
        env: {
          BETTER_AUTH_SECRET: '',
          JWKS_URL: `http://127.0.0.1:${port}/jwks`,
          JWKS_COOLDOWN_SECONDS: '0',
          METRICS_PORT: '0',
        },
        logger: createLogger('info', sink),
        clock,
      },
    );
  });
  after(async () => {
    await api.close();
    await shutDownKeyServer();
  });

  test('requests needing the key server answer 503 while it fails or is gone; the outage is logged once with its cause, and its end once with how long it lasted', async () => {
    const userId = newUserId();
    assert.equal((await list(userId, await tokenWithNewKey(userId))).status, 200);
    const known = await new SignJWT({ sub: userId, exp: Math.floor(clock() / 1000) + 600 })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'ed-1', typ: 'JWT' })
      .sign(signingKey);
    assert.deepEqual(keyServerLines(), [], 'nothing to say while it answers');

    answer = 'status 500';
    const waiting = await tokenWithNewKey(userId);
    for (let i = 0; i < 3; i += 1) {
      const res = await list(userId, waiting);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
      assert.deepEqual(await res.json(), {
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        detail: 'Tokens cannot be checked for the moment (the key server does not answer); retry in a few seconds.',
        instance: `/api/${userId}/tasks`,
        request_id: res.headers.get('x-request-id'),
      });
    }
    assert.equal((await list(userId, known)).status, 200, 'a key fetched before still verifies');

    // Then it is gone altogether: still the same outage, not a new line.
    clock.advance(30_000);
    await shutDownKeyServer();
    assert.equal((await list(userId, waiting)).status, 503);
    const unavailable = {
      level: 50,
      cause: 'answered 500',
      msg: 'key server: unavailable (answered 500); tokens it must vouch for answer 503 until it is back',
    };
    assert.deepEqual(keyServerLines(), [unavailable], 'the outage is logged once, not once per request');
    assert.deepEqual(
      await fetchFailures(),
      ['jwks_fetch_failures_total{failure="no-answer"} 1', 'jwks_fetch_failures_total{failure="status"} 3'],
      'each failed fetch is counted, by how it failed',
    );

    clock.advance(12_300);
    answer = 'keys';
    await listen();
    assert.equal((await list(userId, waiting)).status, 200, 'the new key, once the key server is back');
    assert.equal((await list(userId, await tokenWithNewKey(userId))).status, 200);
    assert.deepEqual(keyServerLines(), [
      unavailable,
      { level: 30, downSeconds: 42.3, msg: 'key server: reachable again after 42.3 s' },
    ]);
  });

  test('each way the key server can fail is named in the outage line', async () => {
    const userId = newUserId();
    const failures: [string, Answer | 'nothing listens', string][] = [
      ['nothing listens', 'nothing listens', `does not answer (connect ECONNREFUSED 127.0.0.1:${port})`],
      ['an HTML page', 'not JSON', 'sent no valid key set (not JSON)'],
      ['JSON without a keys array', 'no keys array', 'sent no valid key set (JSON Web Key Set malformed)'],
    ];
    for (const [what, failure, cause] of failures) {
      logLines.length = 0;
      if (failure === 'nothing listens') await shutDownKeyServer();
      else answer = failure;
      const res = await list(userId, await tokenWithNewKey(userId));
      assert.equal(res.status, 503, what);
      if (!keyServer.listening) await listen();
      answer = 'keys';
      assert.equal((await list(userId, await tokenWithNewKey(userId))).status, 200, `${what}, then keys`);
      assert.deepEqual(
        keyServerLines().map((line) => `${line.level} ${line.msg}`),
        [
          `50 key server: unavailable (${cause}); tokens it must vouch for answer 503 until it is back`,
          '30 key server: reachable again after 0 s',
        ],
        what,
      );
    }
  });
});

describe('a key server that does not answer in time', () => {
  test('the token waits no longer than the timeout, is refused as unavailable, and the outage is logged as a timeout', async () => {
    // Takes the request and never answers, as a hung server or a black-holed route does.
    const hung = createServer(() => {});
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const logLines: LogLine[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(JSON.parse(String(chunk)) as LogLine);
        done();
      },
    });
    try {
      const verifier = createTokenVerifier(
        {
          secret: undefined,
          jwksUrl: new URL(`http://127.0.0.1:${(hung.address() as AddressInfo).port}/jwks`),
          issuer: undefined,
          audience: undefined,
          clockSkewSeconds: 10,
          jwksCooldownSeconds: 0,
        },
        // 5 s in the service; a fifth of a second here, so the story does not sleep.
        { logger: createLogger('info', sink), keyServerTimeoutMs: 200 },
      );
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const token = await new SignJWT({ sub: newUserId(), exp: Math.floor(Date.now() / 1000) + 600 })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'ed-1', typ: 'JWT' })
        .sign(privateKey);
      const started = performance.now();
      await assert.rejects(verifier.verify(token), {
        name: 'KeySetUnavailableError',
        message: 'The key server did not answer within 0.2 s.',
      });
      const ms = performance.now() - started;
      assert.ok(ms >= 190 && ms < 2000, `refused after ${Math.round(ms)} ms`);
      await assert.rejects(verifier.verify(token), { name: 'KeySetUnavailableError' });
      assert.deepEqual(
        logLines.map(({ level, msg, cause }) => ({ level, msg, cause })),
        [
          {
            level: 50,
            msg: 'key server: unavailable (did not answer within 0.2 s); tokens it must vouch for answer 503 until it is back',
            cause: 'did not answer within 0.2 s',
          },
        ],
      );
    } finally {
      hung.closeAllConnections();
      hung.close();
    }
  });
});
