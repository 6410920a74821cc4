/** The authenticated caller of a request. */
export interface Viewer {
  readonly userID: string;
  readonly isAdmin: boolean;
  /** When the token stops being accepted (its `exp` plus the allowed clock skew), in ms since the epoch. */
  readonly expiresAt?: number;
  /** When the token was issued (its `iat`), in seconds since the epoch; absent when it names none. */
  readonly issuedAt?: number;
}
