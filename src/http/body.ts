import type { IncomingMessage } from 'node:http';
import { ErrorCode, ErrorReason } from '../errors.js';
import { HttpError, HttpRefusalReason } from './http-error.js';

const tooLarge = (limit: number) =>
  new HttpError(413, `Request body is larger than ${limit} bytes`, {
    code: 'BAD_REQUEST',
    reason: HttpRefusalReason.BODY_TOO_LARGE,
    limit,
  });

// Node's default decoding silently replaces malformed bytes with U+FFFD; refuse them instead.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Reads a body up to `limit` bytes, refusing larger ones before buffering them, and decodes strict UTF-8. */
export function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(tooLarge(limit));
      request.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(tooLarge(limit));
        // Stop buffering; what is left is read and dropped so the 413 can still be sent.
        chunks.length = 0;
        request.removeAllListeners('data');
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > limit) return;
      try {
        resolve(utf8.decode(Buffer.concat(chunks)));
      } catch {
        reject(
          new HttpError(400, 'The request body is not valid UTF-8', {
            code: ErrorCode.BAD_USER_INPUT,
            field: 'body',
            reason: ErrorReason.INVALID_CHARACTERS,
          }),
        );
      }
    });
    request.on('error', reject);
  });
}
