import { createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import type { JwtConfig } from '../config.js';
import { ErrorReason, ServiceUnavailableError, UnauthenticatedError } from '../errors.js';
import { validateUserID } from '../shared/input-rules.js';
import type { Viewer } from './viewer.js';

export interface TokenVerifier {
  /** Resolves the viewer for an `Authorization` header value, or throws `UNAUTHENTICATED`. */
  verifyAuthorization(header: string | undefined): Promise<Viewer>;
}

const BEARER = /^Bearer +([A-Za-z0-9\-_.]+) *$/i;
/** Longer than any token we issue or a provider would; refused before any decoding. */
const MAX_TOKEN_LENGTH = 8192;

type VerifierOptions = Pick<JwtConfig, 'secret' | 'issuer' | 'audience' | 'requireExp' | 'clockToleranceSeconds'> &
  Partial<Pick<JwtConfig, 'jwksUrl' | 'jwksCooldownSeconds' | 'publicKey'>>;

const invalid = (message = 'The token is not valid') => new UnauthenticatedError(ErrorReason.INVALID_TOKEN, message);

/**
 * Every key is made once, here: importing a secret or a PEM on each call costs far more than
 * verifying. Each algorithm is bound to one kind of key (HS256 to the secret, RS256/ES256 to the
 * public keys), so `alg: none` and HS/RS confusion (an HMAC made with a public key) are refused.
 */
export function createTokenVerifier(options: VerifierOptions | string): TokenVerifier {
  const config: VerifierOptions =
    typeof options === 'string'
      ? { secret: options, issuer: undefined, audience: [], requireExp: true, clockToleranceSeconds: 0 }
      : options;
  // jose runs on WebCrypto and would convert a node:crypto KeyObject on every call (about 70 us
  // against about 22 us per verification with a CryptoKey made once, measured here).
  const secretKey: Promise<webcrypto.CryptoKey> | undefined =
    config.secret === undefined
      ? undefined
      : webcrypto.subtle.importKey(
          'raw',
          Buffer.from(config.secret, 'utf8'),
          { name: 'HMAC', hash: 'SHA-256' },
          false,
          ['verify'],
        );
  const publicKey: KeyObject | undefined =
    config.publicKey === undefined ? undefined : createPublicKey(config.publicKey);
  const publicAlgorithm =
    publicKey === undefined ? undefined : publicKey.asymmetricKeyType === 'rsa' ? 'RS256' : 'ES256';
  const jwks =
    config.jwksUrl === undefined
      ? undefined
      : createRemoteJWKSet(new URL(config.jwksUrl), {
          cooldownDuration: (config.jwksCooldownSeconds ?? 30) * 1000,
          timeoutDuration: 5000,
        });

  const algorithms = [
    ...(secretKey ? ['HS256'] : []),
    ...(publicAlgorithm ? [publicAlgorithm] : []),
    ...(jwks ? ['RS256', 'ES256'] : []),
  ];
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (header.alg === 'HS256' && secretKey)
      return (await secretKey) as unknown as Awaited<ReturnType<JWTVerifyGetKey>>;
    if (header.alg === publicAlgorithm && publicKey && (header.kid === undefined || !jwks)) return publicKey;
    if ((header.alg === 'RS256' || header.alg === 'ES256') && jwks) return jwks(header, token);
    throw invalid();
  };
  // With only the HMAC secret configured (the usual case) the key is passed as is: resolving it
  // through a function on every call costs more than the check itself.
  const onlySecret = secretKey !== undefined && publicKey === undefined && jwks === undefined;
  const verifyOptions: JWTVerifyOptions = {
    algorithms: [...new Set(algorithms)],
    requiredClaims: config.requireExp ? ['exp', 'sub'] : ['sub'],
    clockTolerance: config.clockToleranceSeconds,
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience.length === 0 ? {} : { audience: [...config.audience] }),
  };

  return {
    async verifyAuthorization(header) {
      if (header === undefined || header === '') {
        throw new UnauthenticatedError(ErrorReason.MISSING_TOKEN, 'Send Authorization: Bearer <token>');
      }
      const token = header.length > MAX_TOKEN_LENGTH + 16 ? undefined : BEARER.exec(header)?.[1];
      if (token === undefined) {
        throw new UnauthenticatedError(ErrorReason.INVALID_TOKEN, 'The Authorization header is not a bearer token');
      }
      let payload: JWTPayload;
      try {
        ({ payload } = onlySecret
          ? await jwtVerify(token, await secretKey, verifyOptions)
          : await jwtVerify(token, getKey, verifyOptions));
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) {
          throw new UnauthenticatedError(ErrorReason.TOKEN_EXPIRED, 'The token has expired');
        }
        if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) {
          throw new ServiceUnavailableError('The signing keys could not be fetched');
        }
        if (error instanceof joseErrors.JOSEError || error instanceof UnauthenticatedError) throw invalid();
        // A JWKS endpoint that is down or answers garbage: not the caller's fault.
        throw new ServiceUnavailableError('The signing keys could not be fetched');
      }
      // jose checks `iat` only against a maximum age; a token issued in the future is forged or mis-clocked.
      if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + config.clockToleranceSeconds) {
        throw invalid();
      }
      const userID = payload.sub;
      if (typeof userID !== 'string' || validateUserID(userID) !== undefined) {
        throw invalid('The token subject is not a valid user ID');
      }
      const isAdmin = payload.role === 'admin';
      return {
        userID,
        isAdmin,
        ...(typeof payload.exp === 'number' ? { expiresAt: (payload.exp + config.clockToleranceSeconds) * 1000 } : {}),
        ...(typeof payload.iat === 'number' ? { issuedAt: payload.iat } : {}),
      };
    },
  };
}
