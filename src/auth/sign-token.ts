// Signs HS256 tokens the way the service verifies them: for `npm run token` and the tests. Production
// tokens come from Better Auth; this is for trying the API locally and for CI.
import { SignJWT } from 'jose';

interface TokenOptions {
  secret: string;
  userId: string;
  expiresInSeconds?: number;
  issuer?: string | undefined;
  audience?: string | undefined;
}

export function signToken({
  secret,
  userId,
  expiresInSeconds = 3600,
  issuer,
  audience,
}: TokenOptions): Promise<string> {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(`${expiresInSeconds}s`);
  if (issuer) jwt.setIssuer(issuer);
  if (audience) jwt.setAudience(audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
