import { createSecretKey } from 'node:crypto';
import { SignJWT } from 'jose';

export interface IssueTokenOptions {
  readonly admin?: boolean;
  /** Lifetime, in the forms jose accepts (`'1h'`, `'30d'`) or seconds. */
  readonly expiresIn?: string | number;
}

/** Signs an HS256 token as the server expects: `sub` is the user ID, `role: admin` makes an administrator. */
export async function issueToken(secret: string, userID: string, options: IssueTokenOptions = {}): Promise<string> {
  const expiresIn = options.expiresIn ?? '12h';
  return new SignJWT(options.admin === true ? { role: 'admin' } : {})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userID)
    .setIssuedAt()
    .setExpirationTime(typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn)
    .sign(createSecretKey(Buffer.from(secret, 'utf8')));
}
