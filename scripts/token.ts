// Prints a bearer token for a user, signed with the secret the service verifies with (see
// src/auth/signing-secret.ts): BETTER_AUTH_SECRET, or the development secret of the embedded database.
// Usage: npm run token -- <user_id> [--ttl <seconds>]
import { parseArgs } from 'node:util';
import { loadConfig, loadOrExit } from '../src/config.ts';
import { signingSecret } from '../src/auth/signing-secret.ts';
import { signToken } from '../src/auth/sign-token.ts';
import { isUserId, USER_ID_RULE } from '../src/auth/user-id.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { ttl: { type: 'string', default: '3600' } },
});
const userId = positionals[0];
const ttl = Number(values.ttl);
if (!userId || !isUserId(userId) || !Number.isInteger(ttl) || ttl < 1) {
  console.error(`usage: npm run token -- <user_id> [--ttl <seconds>]   (user_id: ${USER_ID_RULE})`);
  process.exit(2);
}

function refuse(message: string): never {
  console.error(message);
  process.exit(1);
}

const config = loadOrExit(() => loadConfig());
const found = await signingSecret(config);
if (!found) refuse('Only JWKS_URL is configured: tokens come from your Better Auth server, not from here.');
if (found.source === 'development' && !found.file) {
  refuse(
    'PGLITE_DATA_DIR=memory:// keeps the development secret inside the server process; set BETTER_AUTH_SECRET instead.',
  );
}
console.log(
  await signToken({
    secret: found.secret,
    userId,
    expiresInSeconds: ttl,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  }),
);
