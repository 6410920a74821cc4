/** A refusal answered before GraphQL runs; sent as `{ errors: [...] }` with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extensions: Readonly<Record<string, unknown>> = { code: 'BAD_REQUEST' },
  ) {
    super(message);
  }
}

/** `extensions.reason` of requests refused at the HTTP layer. */
export enum HttpRefusalReason {
  BODY_TOO_LARGE = 'BODY_TOO_LARGE',
  INVALID_JSON = 'INVALID_JSON',
  BATCH_LIMIT = 'BATCH_LIMIT',
  /** A subscription sent over HTTP: subscriptions need the graphql-ws protocol on the same path. */
  SUBSCRIPTION_NEEDS_WEBSOCKET = 'SUBSCRIPTION_NEEDS_WEBSOCKET',
}
