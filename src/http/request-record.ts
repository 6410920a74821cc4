import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { contextSlot } from '../context-slot.js';

/** What one HTTP request did, for its log line and metrics. */
export interface RequestRecord {
  readonly id: string;
  readonly ip: string | undefined;
  readonly startedAt: bigint;
  /** One entry per GraphQL operation answered (several in a batch). */
  readonly operations: { name: string | undefined; outcome: 'success' | 'error' }[];
  readonly errorCodes: string[];
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The gateway's address is the peer; the client is the last X-Forwarded-For entry it added. */
export function clientAddress(request: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = request.headers['x-forwarded-for'];
    const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)?.split(',').pop()?.trim();
    if (last !== undefined && last !== '' && last.length <= 64) return last;
  }
  return request.socket.remoteAddress;
}

export function startRequestRecord(request: IncomingMessage, trustProxy: boolean): RequestRecord {
  const given = request.headers['x-request-id'];
  return {
    id: typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID(),
    ip: clientAddress(request, trustProxy),
    startedAt: process.hrtime.bigint(),
    operations: [],
    errorCodes: [],
  };
}

const recordSlot = contextSlot<RequestRecord>('requestRecord');

/** Carries the HTTP request's record on its context, for plugins (they see only the context). */
export const attachRequestRecord = recordSlot.attach;
export const requestRecordOf = recordSlot.of;

/** A record for one operation that arrived on a WebSocket from `ip`. */
export function startOperationRecord(ip: string | undefined): RequestRecord {
  return { id: randomUUID(), ip, startedAt: process.hrtime.bigint(), operations: [], errorCodes: [] };
}
