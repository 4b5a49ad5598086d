// Every way a token can be wrong, tried on every operation the spec secures.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createTokenVerifier } from '../../src/auth/token-verifier.ts';
import { createLogger } from '../../src/logger.ts';
import { manualClock } from '../support/clock.ts';
import { operations } from '../support/contract.ts';
import { json, newUserId, startTestServer, TEST_SECRET, tokenFor, type TestServer } from '../support/server.ts';

const now = () => Math.floor(Date.now() / 1000);

function hs256(
  claims: Record<string, unknown>,
  secret: string | Uint8Array = TEST_SECRET,
  header: Record<string, unknown> = {},
) {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(key);
}

/** A JWT with `alg: none` and no signature, as an attacker would hand-craft it. */
function unsigned(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/** A request for each secured operation, aimed at `userId`'s path and a real task of theirs. */
function requestsFor(userId: string, taskId: string) {
  return operations
    .filter((op) => op.secured)
    .map((op) => {
      const path = op.path.replace('{user_id}', userId).replace('{task_id}', taskId);
      const body =
        op.operationId === 'createTask'
          ? { title: 'intruder' }
          : op.operationId === 'updateTask'
            ? { title: 'changed' }
            : undefined;
      return { operationId: op.operationId, path, init: body ? json(body, op.method) : { method: op.method } };
    });
}

describe('authentication with a shared secret (HS256)', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  async function victimWithTask() {
    const userId = newUserId('victim');
    const { data } = await api.client.POST('/api/{user_id}/tasks', {
      params: { path: { user_id: userId } },
      body: { title: 'private' },
    });
    assert.ok(data);
    return { userId, task: data };
  }

  async function assertUntouched(userId: string, task: unknown) {
    const { data } = await api.client.GET('/api/{user_id}/tasks', { params: { path: { user_id: userId } } });
    assert.deepEqual(data, [task], 'the refused requests changed nothing');
  }

  test('every operation on tasks asks for a token in the spec; only the health probes are public', () => {
    const isPublic = (op: (typeof operations)[number]) => !op.secured;
    assert.deepEqual(
      operations
        .filter(isPublic)
        .map((op) => `${op.method} ${op.path}`)
        .sort(),
      ['GET /health/live', 'GET /health/ready'],
    );
    assert.ok(operations.filter((op) => op.path.startsWith('/api/')).every((op) => op.secured));
  });

  test('every operation without a token answers 401 with a bare Bearer challenge', async () => {
    const { userId, task } = await victimWithTask();
    for (const { operationId, path, init } of requestsFor(userId, task.id)) {
      const res = await api.raw(path, init, { anonymous: true });
      assert.equal(res.status, 401, operationId);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="tasks-api"', operationId);
      const problem = (await res.json()) as { detail: string };
      assert.equal(problem.detail, 'This operation needs a bearer token (Authorization: Bearer <JWT>).');
    }
    await assertUntouched(userId, task);
  });

  const badTokens: [string, (userId: string) => Promise<string>, RegExp][] = [
    ['a header that is not Bearer', () => Promise.resolve('Basic dXNlcjpwYXNz'), /not "Bearer <token>"/],
    ['a token that is not a JWT', () => Promise.resolve('Bearer not-a-jwt'), /not a JWT/],
    [
      'a wrong signature',
      async (u) => `Bearer ${await hs256({ sub: u, exp: now() + 600 }, 'another-secret-that-is-32-bytes-long!!')}`,
      /signature does not verify/,
    ],
    ['an expired token', async (u) => `Bearer ${await hs256({ sub: u, exp: now() - 3600 })}`, /has expired/],
    [
      'a token not valid yet',
      async (u) => `Bearer ${await hs256({ sub: u, exp: now() + 7200, nbf: now() + 3600 })}`,
      /not valid yet/,
    ],
    [
      'alg "none"',
      (u) => Promise.resolve(`Bearer ${unsigned({ sub: u, exp: now() + 600 })}`),
      /"none" are not accepted/,
    ],
    ['a token without exp', async (u) => `Bearer ${await hs256({ sub: u })}`, /"exp" claim/],
    ['a token without sub', async () => `Bearer ${await hs256({ exp: now() + 600 })}`, /"sub" claim/],
    [
      'a subject that is not a user id',
      async () => `Bearer ${await hs256({ sub: 'bob@example.com', exp: now() + 600 })}`,
      /subject is not a valid user id/,
    ],
  ];

  for (const [name, makeHeader, detail] of badTokens) {
    test(`${name} answers 401 invalid_token on every operation, and changes nothing`, async () => {
      const { userId, task } = await victimWithTask();
      const authorization = await makeHeader(userId);
      for (const { operationId, path, init } of requestsFor(userId, task.id)) {
        const res = await api.raw(path, {
          ...init,
          headers: { ...(init.headers as Record<string, string>), authorization },
        });
        assert.equal(res.status, 401, operationId);
        assert.match(
          res.headers.get('www-authenticate') ?? '',
          /^Bearer realm="tasks-api", error="invalid_token", error_description="/,
        );
        const problem = (await res.json()) as { detail: string };
        assert.match(problem.detail, detail, operationId);
        assert.ok(!JSON.stringify(problem).includes(authorization.slice(7)), 'the token is never echoed');
      }
      await assertUntouched(userId, task);
    });
  }

  test('a token that expired within the allowed clock skew (10 s) is still accepted', async () => {
    const userId = newUserId();
    const token = await hs256({ sub: userId, exp: now() - 5 });
    const res = await api.raw(`/api/${userId}/tasks`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
  });

  test('a token accepted (and remembered) lends nothing to a look-alike: another signature on the same claims answers 401', async () => {
    const userId = newUserId();
    const token = await tokenFor(userId);
    const list = (t: string) => api.raw(`/api/${userId}/tasks`, { headers: { authorization: `Bearer ${t}` } });
    assert.equal((await list(token)).status, 200);
    const [header, payload, signature = ''] = token.split('.');
    const lookAlike = `${header}.${payload}.${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    assert.equal((await list(lookAlike)).status, 401);
    assert.equal((await list(token)).status, 200);
  });

  test("a valid token for user A on user B's path answers 403 on every operation, and B's tasks are untouched", async () => {
    const { userId: victim, task } = await victimWithTask();
    const attacker = newUserId('attacker');
    const authorization = `Bearer ${await tokenFor(attacker)}`;
    for (const { operationId, path, init } of requestsFor(victim, task.id)) {
      const res = await api.raw(path, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization },
      });
      assert.equal(res.status, 403, operationId);
      assert.equal(
        ((await res.json()) as { detail: string }).detail,
        "This token does not grant access to another user's tasks.",
      );
    }
    await assertUntouched(victim, task);
  });

  test("user B's task id under user A's own path is a 404 on every task operation", async () => {
    const { userId: victim, task } = await victimWithTask();
    const attacker = newUserId('attacker');
    for (const { operationId, path, init } of requestsFor(attacker, task.id).filter((r) => r.path.includes(task.id))) {
      const res = await api.raw(path, init);
      assert.equal(res.status, 404, operationId);
    }
    await assertUntouched(victim, task);
  });
});

describe('authentication with issuer and audience configured', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer({}, { env: { JWT_ISSUER: 'https://auth.example.com', JWT_AUDIENCE: 'tasks-api' } });
  });
  after(() => api.close());

  test('only a token from the configured issuer for the configured audience is accepted', async () => {
    const userId = newUserId();
    const cases: [Record<string, unknown>, number][] = [
      [{ iss: 'https://auth.example.com', aud: 'tasks-api' }, 200],
      [{ iss: 'https://evil.example.com', aud: 'tasks-api' }, 401],
      [{ iss: 'https://auth.example.com', aud: 'another-api' }, 401],
      [{}, 401],
    ];
    for (const [claims, status] of cases) {
      const token = await hs256({ sub: userId, exp: now() + 600, ...claims });
      const res = await api.raw(`/api/${userId}/tasks`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, status, JSON.stringify(claims));
    }
  });
});

describe('authentication with public keys from a JWKS URL (Better Auth JWT plugin)', () => {
  let api: TestServer;
  let keyServer: Server;
  const published: JWK[] = [];
  let ed: { privateKey: CryptoKey; publicKey: CryptoKey };
  let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
  let keyServerFails = false;
  // Moves the key server's back-off (src/auth/key-server-back-off.ts) on without sleeping.
  const clock = manualClock();

  async function publish(kid: string, publicKey: CryptoKey, alg: string) {
    published.push({ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' });
  }

  const sign = (key: CryptoKey, alg: string, kid: string, claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key);

  before(async () => {
    ed = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    ec = await generateKeyPair('ES256');
    await publish('ed-1', ed.publicKey, 'EdDSA');
    keyServer = createServer((_req, res) => {
      if (keyServerFails) {
        res.statusCode = 500;
        res.end('upstream trouble');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
    const { port } = keyServer.address() as AddressInfo;
    // No shared secret at all: only the key set verifies tokens.
    api = await startTestServer(
      {},
      {
        env: { BETTER_AUTH_SECRET: '', JWKS_URL: `http://127.0.0.1:${port}/api/auth/jwks`, JWKS_COOLDOWN_SECONDS: '0' },
        clock,
      },
    );
  });
  after(async () => {
    await api.close();
    keyServer.close();
  });

  const list = (userId: string, token: string) =>
    api.raw(`/api/${userId}/tasks`, { headers: { authorization: `Bearer ${token}` } });

  test('an EdDSA token signed by a published key is accepted', async () => {
    const userId = newUserId();
    assert.equal(
      (await list(userId, await sign(ed.privateKey, 'EdDSA', 'ed-1', { sub: userId, exp: now() + 600 }))).status,
      200,
    );
  });

  test('a key published after start-up (rotation) is fetched when a token names it', async () => {
    const userId = newUserId();
    await publish('ec-2', ec.publicKey, 'ES256');
    assert.equal(
      (await list(userId, await sign(ec.privateKey, 'ES256', 'ec-2', { sub: userId, exp: now() + 600 }))).status,
      200,
    );
  });

  test('a token accepted before its key was withdrawn is refused once the key set is fetched again', async () => {
    const userId = newUserId();
    const old = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    await publish('ed-old', old.publicKey, 'EdDSA');
    const token = await sign(old.privateKey, 'EdDSA', 'ed-old', { sub: userId, exp: now() + 600 });
    assert.equal((await list(userId, token)).status, 200);
    assert.equal((await list(userId, token)).status, 200, 'and again, from memory');
    published.splice(
      published.findIndex((key) => key.kid === 'ed-old'),
      1,
    );
    // A token naming a key the service has not seen makes it fetch the set again (no cooldown here).
    const next = await generateKeyPair('ES256');
    await publish('ec-next', next.publicKey, 'ES256');
    assert.equal(
      (await list(userId, await sign(next.privateKey, 'ES256', 'ec-next', { sub: userId, exp: now() + 600 }))).status,
      200,
    );
    const res = await list(userId, token);
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { detail: string }).detail, /unknown key/);
  });

  test('a token naming a kid the key set does not have answers 401 "signed by an unknown key"', async () => {
    const userId = newUserId();
    const res = await list(userId, await sign(ed.privateKey, 'EdDSA', 'nobody', { sub: userId, exp: now() + 600 }));
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { detail: string }).detail, 'The token was signed by an unknown key.');
  });

  test('RS256/384/512, PS256/384/512, ES384 and ES512 tokens signed by published keys are accepted', async () => {
    // A WebCrypto key is bound to one algorithm (and hash): one pair each.
    const algs = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES384', 'ES512'];
    const keys = await Promise.all(
      algs.map(async (alg) => {
        const { privateKey, publicKey } = await generateKeyPair(alg, { modulusLength: 2048 });
        return [alg, privateKey, publicKey] as const;
      }),
    );
    for (const [alg, , publicKey] of keys) await publish(`key-${alg}`, publicKey, alg);
    for (const [alg, privateKey] of keys) {
      const userId = newUserId();
      const res = await list(userId, await sign(privateKey, alg, `key-${alg}`, { sub: userId, exp: now() + 600 }));
      assert.equal(res.status, 200, alg);
    }
  });

  test('while the key server fails, tokens it would have to vouch for get 503 with Retry-After; known keys keep working', async () => {
    const userId = newUserId();
    const fresh = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    await publish('ed-fresh', fresh.publicKey, 'EdDSA');
    keyServerFails = true;
    try {
      const refused = await list(
        userId,
        await sign(fresh.privateKey, 'EdDSA', 'ed-fresh', { sub: userId, exp: now() + 600 }),
      );
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1', 'the key server is asked again after 1 s');
      assert.equal(
        ((await refused.json()) as { detail: string }).detail,
        'Tokens cannot be checked for the moment (the key server does not answer); retry in a few seconds.',
      );
      const known = await list(userId, await sign(ed.privateKey, 'EdDSA', 'ed-1', { sub: userId, exp: now() + 600 }));
      assert.equal(known.status, 200, 'a key fetched before still verifies');
    } finally {
      keyServerFails = false;
      clock.advance(1_000);
    }
    const recovered = await list(
      userId,
      await sign(fresh.privateKey, 'EdDSA', 'ed-fresh', { sub: userId, exp: now() + 600 }),
    );
    assert.equal(recovered.status, 200, 'and once the key server is back, so is the new key');
  });

  test('a token signed by a key that is not published answers 401', async () => {
    const userId = newUserId();
    const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const res = await list(userId, await sign(stranger.privateKey, 'EdDSA', 'ed-1', { sub: userId, exp: now() + 600 }));
    assert.equal(res.status, 401);
  });

  test('algorithm confusion: an HS256 token whose HMAC key is the public key text answers 401', async () => {
    const userId = newUserId();
    const publicPem = await exportSPKI(ed.publicKey);
    const forged = await hs256({ sub: userId, exp: now() + 600 }, publicPem, { kid: 'ed-1' });
    const res = await list(userId, forged);
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { detail: string }).detail, /"HS256" are not accepted/);
    const forgedJwk = await hs256({ sub: userId, exp: now() + 600 }, JSON.stringify(published[0]), { kid: 'ed-1' });
    assert.equal((await list(userId, forgedJwk)).status, 401);
  });

  test('an HS256 token signed with the usual test secret is refused too: no secret is configured', async () => {
    const userId = newUserId();
    assert.equal((await list(userId, await tokenFor(userId))).status, 401);
  });
});

describe('JWKS_COOLDOWN_SECONDS limits how often the key server is asked', () => {
  test('tokens naming unknown kids, one after another, cost the key server one fetch per cooldown, not one each', async () => {
    const key = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const keys = [{ ...(await exportJWK(key.publicKey)), kid: 'ed-1', alg: 'EdDSA', use: 'sig' }];
    let fetches = 0;
    const keyServer = createServer((_req, res) => {
      fetches += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
    const { port } = keyServer.address() as AddressInfo;
    const api = await startTestServer(
      {},
      {
        env: { BETTER_AUTH_SECRET: '', JWKS_URL: `http://127.0.0.1:${port}/jwks`, JWKS_COOLDOWN_SECONDS: '30' },
      },
    );
    try {
      const userId = newUserId();
      const token = (kid: string) =>
        new SignJWT({ sub: userId, exp: now() + 600 }).setProtectedHeader({ alg: 'EdDSA', kid }).sign(key.privateKey);
      const send = async (kid: string) =>
        (await api.raw(`/api/${userId}/tasks`, { headers: { authorization: `Bearer ${await token(kid)}` } })).status;
      assert.equal(await send('ed-1'), 200);
      assert.equal(fetches, 1);
      const statuses = [];
      for (let i = 0; i < 5; i += 1) statuses.push(await send(`forged-${i}`));
      assert.deepEqual(statuses, [401, 401, 401, 401, 401]);
      assert.equal(fetches, 1, 'within the cooldown, no unknown kid makes the service fetch the key set again');
    } finally {
      await api.close();
      keyServer.close();
    }
  });
});

describe('verified tokens are remembered, within limits', () => {
  const config = {
    secret: TEST_SECRET,
    jwksUrl: undefined,
    issuer: undefined,
    audience: undefined,
    clockSkewSeconds: 10,
    jwksCooldownSeconds: 30,
  };
  const logger = createLogger('silent');

  test('a remembered token is refused once its exp (and the clock skew) has passed', async () => {
    const clock = manualClock();
    const verifier = createTokenVerifier(config, { logger, clock });
    const userId = newUserId();
    const token = await hs256({ sub: userId, exp: Math.floor(clock() / 1000) + 60 });
    assert.deepEqual(await verifier.verify(token), { userId });
    assert.equal(verifier.cachedTokens, 1);
    clock.advance(59_000);
    assert.deepEqual(await verifier.verify(token), { userId });
    clock.advance(12_000);
    await assert.rejects(verifier.verify(token), { name: 'InvalidTokenError', message: 'The token has expired.' });
    assert.equal(verifier.cachedTokens, 0);
  });

  test('no more tokens are remembered than the bound; the oldest is forgotten first', async () => {
    const verifier = createTokenVerifier(config, { logger, cacheEntries: 2 });
    for (const user of ['a', 'b', 'c']) await verifier.verify(await tokenFor(newUserId(user)));
    assert.equal(verifier.cachedTokens, 2);
  });
});
