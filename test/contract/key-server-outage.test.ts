// A key server (JWKS_URL) that fails, goes away and comes back under a running service: clients get
// an honest 503, and the operator reads why in two log lines, as for a database outage.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
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
  /** Requests the key server has had. */
  let hits = 0;
  const published: JWK[] = [];
  let signingKey: CryptoKey;

  const listen = async () => {
    keyServer = createServer((_req, res) => {
      hits += 1;
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
    // The first asks the key server; the next two come during the 1 s back-off that follows.
    for (let i = 0; i < 3; i += 1) {
      const res = await list(userId, waiting);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '1');
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
      ['jwks_fetch_failures_total{failure="no-answer"} 1', 'jwks_fetch_failures_total{failure="status"} 1'],
      'each failed fetch is counted, by how it failed; a request refused during a back-off fetches nothing',
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
      clock.advance(1_000); // the back-off after one failure
      assert.equal((await list(userId, await tokenWithNewKey(userId))).status, 200, `${what}, then keys`);
      assert.deepEqual(
        keyServerLines().map((line) => `${line.level} ${line.msg}`),
        [
          `50 key server: unavailable (${cause}); tokens it must vouch for answer 503 until it is back`,
          '30 key server: reachable again after 1 s',
        ],
        what,
      );
    }
  });

  test('while the key server fails it is asked once per back-off, which doubles from 1 s up to 30 s; keys it sent before keep working; the first answer ends the outage and the back-off', async () => {
    const userId = newUserId();
    assert.equal((await list(userId, await tokenWithNewKey(userId))).status, 200);
    const knownKid = `ed-${published.length}`;
    const knownKey = signingKey;
    /** A token never seen before, signed with a key the service fetched before the outage. */
    const withKnownKey = () =>
      new SignJWT({ sub: userId, exp: Math.floor(clock() / 1000) + 600, jti: randomUUID() })
        .setProtectedHeader({ alg: 'EdDSA', kid: knownKid, typ: 'JWT' })
        .sign(knownKey);
    /**
     * Ten requests at once, each naming a kid the service has never seen: how they were answered
     * (status and Retry-After, each distinct answer once) and how often they made it ask the key server.
     */
    const herd = async () => {
      const tokens = await Promise.all(Array.from({ length: 10 }, () => tokenWithNewKey(userId)));
      const hitsBefore = hits;
      const answers = await Promise.all(
        tokens.map(async (token) => {
          const res = await list(userId, token);
          await res.arrayBuffer();
          return `${res.status} Retry-After: ${res.headers.get('retry-after')}`;
        }),
      );
      return { answers: [...new Set(answers)], fetches: hits - hitsBefore };
    };
    logLines.length = 0;

    answer = 'status 500';
    assert.deepEqual(await herd(), { answers: ['503 Retry-After: 1'], fetches: 1 }, 'one fetch fails for all ten');
    assert.deepEqual(await herd(), { answers: ['503 Retry-After: 1'], fetches: 0 }, 'during the back-off: no fetch');
    assert.equal((await list(userId, await withKnownKey())).status, 200, 'a known key needs no fetch');
    clock.advance(999);
    assert.deepEqual(await herd(), { answers: ['503 Retry-After: 1'], fetches: 0 }, '1 ms before its end');

    // Each probe fails too, and starts a back-off twice as long, up to 30 s.
    for (const seconds of [2, 4, 8, 16, 30, 30]) {
      clock.advance(1);
      assert.deepEqual(
        await herd(),
        { answers: [`503 Retry-After: ${seconds}`], fetches: 1 },
        `one probe, then ${seconds} s`,
      );
      clock.advance(seconds * 1000 - 1);
      assert.deepEqual(
        await herd(),
        { answers: ['503 Retry-After: 1'], fetches: 0 },
        `1 ms before the ${seconds} s are over`,
      );
      assert.equal((await list(userId, await withKnownKey())).status, 200, `a known key, ${seconds} s back-off`);
    }

    clock.advance(1);
    answer = 'keys';
    assert.deepEqual(await herd(), { answers: ['200 Retry-After: null'], fetches: 1 }, 'the probe that succeeds');
    const unavailable = {
      level: 50,
      cause: 'answered 500',
      msg: 'key server: unavailable (answered 500); tokens it must vouch for answer 503 until it is back',
    };
    // 1 + 2 + 4 + 8 + 16 + 30 + 30 s of back-offs: the outage lasted until the seventh probe.
    const reachable = { level: 30, downSeconds: 91, msg: 'key server: reachable again after 91 s' };
    assert.deepEqual(keyServerLines(), [unavailable, reachable], 'one outage, logged once, however many probes');

    // The next outage starts over from 1 s.
    answer = 'status 500';
    assert.deepEqual(await herd(), { answers: ['503 Retry-After: 1'], fetches: 1 }, 'a new outage');
    clock.advance(1_000);
    answer = 'keys';
    assert.deepEqual(await herd(), { answers: ['200 Retry-After: null'], fetches: 1 }, 'over after 1 s');
    assert.deepEqual(keyServerLines(), [
      unavailable,
      reachable,
      unavailable,
      { level: 30, downSeconds: 1, msg: 'key server: reachable again after 1 s' },
    ]);
  });
});

describe('a key server that does not answer in time', () => {
  test('the token waits no longer than the timeout, is refused as unavailable, and the outage is logged as a timeout; during the back-off that follows, tokens are refused at once', async () => {
    // Takes the request and never answers, as a hung server or a black-holed route does.
    let asked = 0;
    const hung = createServer(() => {
      asked += 1;
    });
    const clock = manualClock();
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
        { logger: createLogger('info', sink), keyServerTimeoutMs: 200, clock },
      );
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const token = await new SignJWT({ sub: newUserId(), exp: Math.floor(clock() / 1000) + 600 })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'ed-1', typ: 'JWT' })
        .sign(privateKey);
      /** Verifies the token, which must be refused as the timeout; how long that took, in ms. */
      const refusal = async () => {
        const started = performance.now();
        await assert.rejects(verifier.verify(token), {
          name: 'KeySetUnavailableError',
          message: 'The key server did not answer within 0.2 s.',
        });
        return performance.now() - started;
      };
      const waited = await refusal();
      assert.ok(waited >= 190 && waited < 2000, `refused after ${Math.round(waited)} ms`);
      assert.equal(asked, 1);
      const backingOff = await refusal();
      assert.ok(backingOff < 190, `during the back-off, refused after ${Math.round(backingOff)} ms, not the timeout`);
      assert.equal(asked, 1, 'the key server is not asked during the back-off');
      clock.advance(1_000);
      const probe = await refusal();
      assert.ok(probe >= 190 && probe < 2000, `the probe after the back-off, refused after ${Math.round(probe)} ms`);
      assert.equal(asked, 2, 'the probe asks the key server');
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
