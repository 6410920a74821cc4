import { createHash } from 'node:crypto';
import { ErrorReason } from '../errors.js';
import { UINT32_MAX } from '../scalars/uint32.scalar.js';
import { badInput, textProblem, validateUserID } from '../shared/input-rules.js';
import { Gender } from '../user/profile-fields.js';
import { KeywordMatch, SearchTier } from './search.enums.js';
import type { SearchPosition, SearchQuery } from './search.repository.js';

/** The limits of searchUsers, Tencent Cloud Chat's for searchCloudUsers. */
export const SEARCH_LIMITS = {
  keywords: 5,
  /** UTF-8 bytes of a keyword, after trimming. */
  keywordBytes: 100,
  pageSize: 100,
  defaultPageSize: 20,
} as const;

/** searchUsers' input as it arrives: every optional field may be absent or null. */
export interface SearchUsersRequest {
  readonly keywords: readonly string[];
  readonly match?: KeywordMatch | null;
  readonly genders?: readonly Gender[] | null;
  readonly minBirthday?: number | null;
  readonly maxBirthday?: number | null;
  readonly first?: number | null;
  readonly after?: string | null;
}

/** A validated search: the query for the repository (one match more than the page, to know if another follows). */
export interface SearchPlan {
  readonly query: SearchQuery;
  readonly pageSize: number;
  /** What a cursor of this search is bound to (see encodeCursor). */
  readonly fingerprint: string;
}

const CURSOR_VERSION = 1;
const DIGEST_LENGTH = 16;

/** Names the search a cursor belongs to: the same keywords in any order, match and filters. */
function fingerprintOf(query: Omit<SearchQuery, 'limit' | 'after'>): string {
  return JSON.stringify([
    [...query.keywords].sort(),
    query.match,
    query.genders === undefined ? null : [...query.genders].sort(),
    query.birthday === undefined ? null : [query.birthday.min, query.birthday.max],
  ]);
}

function digestOf(fingerprint: string, tier: SearchTier, userID: string): string {
  return createHash('sha256')
    .update(`${fingerprint}\u0000${tier}\u0000${userID}`)
    .digest()
    .subarray(0, DIGEST_LENGTH)
    .toString('base64url');
}

/**
 * The cursor after `position` in the search `fingerprint` names: base64url of a version, the
 * position and a digest of both with the search. It is not a secret (a cursor made by hand shows
 * nothing a search would not), but a cursor altered, truncated or taken from another search no
 * longer matches its digest, and is refused rather than read.
 */
export function encodeCursor(fingerprint: string, position: SearchPosition): string {
  const payload = [
    CURSOR_VERSION,
    position.tier,
    position.userID,
    digestOf(fingerprint, position.tier, position.userID),
  ];
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

function decodeCursor(fingerprint: string, cursor: string): SearchPosition {
  const refused = () => badInput('input.after', ErrorReason.INVALID_VALUE, 'is not a cursor of this search');
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw refused();
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refused();
  }
  if (!Array.isArray(payload) || payload.length !== 4) throw refused();
  const [version, tier, userID, digest] = payload as unknown[];
  if (version !== CURSOR_VERSION || typeof userID !== 'string' || typeof digest !== 'string') throw refused();
  if (tier !== SearchTier.USER_ID && tier !== SearchTier.PREFIX && tier !== SearchTier.CONTAINS) throw refused();
  if (validateUserID(userID) !== undefined || digest !== digestOf(fingerprint, tier, userID)) throw refused();
  return { tier, userID };
}

function checkKeywords(keywords: readonly string[]): string[] {
  if (keywords.length === 0) {
    throw badInput(
      'input.keywords',
      ErrorReason.INVALID_VALUE,
      `names no keyword; give 1 to ${SEARCH_LIMITS.keywords}`,
    );
  }
  if (keywords.length > SEARCH_LIMITS.keywords) {
    throw badInput(
      'input.keywords',
      ErrorReason.TOO_MANY,
      `names ${keywords.length} keywords; at most ${SEARCH_LIMITS.keywords} are accepted`,
    );
  }
  const trimmed = keywords.map((keyword, index) => {
    const field = `input.keywords[${index}]`;
    const value = keyword.trim();
    if (value === '') throw badInput(field, ErrorReason.INVALID_VALUE, 'is empty (after trimming)');
    const problem = textProblem(value, SEARCH_LIMITS.keywordBytes);
    if (problem === ErrorReason.TOO_LONG) {
      throw badInput(field, problem, `is longer than ${SEARCH_LIMITS.keywordBytes} UTF-8 bytes (after trimming)`);
    }
    if (problem !== undefined) throw badInput(field, problem);
    return value;
  });
  return [...new Set(trimmed)];
}

function checkPageSize(first: number | null | undefined): number {
  if (first === undefined || first === null) return SEARCH_LIMITS.defaultPageSize;
  if (first < 1 || first > SEARCH_LIMITS.pageSize) {
    throw badInput('input.first', ErrorReason.INVALID_VALUE, `must be from 1 to ${SEARCH_LIMITS.pageSize}`);
  }
  return first;
}

function checkBirthdays(min: number | null | undefined, max: number | null | undefined): SearchQuery['birthday'] {
  if ((min === undefined || min === null) && (max === undefined || max === null)) return undefined;
  // As Tencent's: one bound alone leaves the other open.
  const bounds = { min: min ?? 0, max: max ?? UINT32_MAX };
  if (bounds.min > bounds.max) throw badInput('input.maxBirthday', ErrorReason.INVALID_VALUE, 'is before minBirthday');
  return bounds;
}

function checkGenders(genders: readonly Gender[] | null | undefined): readonly Gender[] | undefined {
  if (genders === undefined || genders === null) return undefined;
  if (genders.length === 0) {
    throw badInput('input.genders', ErrorReason.INVALID_VALUE, 'is empty; leave it out to match every gender');
  }
  const known = new Set<string>(Object.values(Gender));
  genders.forEach((gender, index) => {
    if (!known.has(gender)) throw badInput(`input.genders[${index}]`, ErrorReason.INVALID_VALUE);
  });
  return [...new Set(genders)];
}

/** Checks a search as it arrives and turns it into the repository's query, or throws the first problem. */
export function planSearch(request: SearchUsersRequest): SearchPlan {
  const pageSize = checkPageSize(request.first);
  const criteria = {
    keywords: checkKeywords(request.keywords),
    match: request.match ?? KeywordMatch.ANY,
    genders: checkGenders(request.genders),
    birthday: checkBirthdays(request.minBirthday, request.maxBirthday),
  };
  const fingerprint = fingerprintOf(criteria);
  const after =
    request.after === undefined || request.after === null ? undefined : decodeCursor(fingerprint, request.after);
  return { query: { ...criteria, limit: pageSize + 1, after }, pageSize, fingerprint };
}
