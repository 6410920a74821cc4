import type { Logger } from 'pino';
import { contextSlot } from '../context-slot.js';
import { formatWalPosition, parseWalPosition, type ReadReplicas, type WalPosition } from './replicas.js';

/**
 * The HTTP header that carries a write's position both ways: a mutation's response sets it (and
 * `extensions.readAfter`), and a request that sends it back is read where that write is visible.
 */
export const READ_AFTER_HEADER = 'x-read-after';

/** What a request's `x-read-after` said: a position, or something unreadable (read on the primary). */
export type ReadAfter = WalPosition | 'unreadable';

const readAfterSlot = contextSlot<ReadAfter>('readAfter');

/** Keeps a request's `x-read-after` on its record (any object the request's context can reach). */
export function attachReadAfter<T extends object>(holder: T, header: string | string[] | undefined): T {
  if (header === undefined) return holder;
  const position = typeof header === 'string' ? parseWalPosition(header.trim()) : undefined;
  return readAfterSlot.attach(holder, position ?? 'unreadable');
}

export const readAfterOf = (holder: object | undefined): ReadAfter | undefined =>
  holder === undefined ? undefined : readAfterSlot.of(holder);

/** Past any position a real primary reaches: reads that need it go to the primary. */
const PRIMARY_ONLY: WalPosition = (1n << 64n) - 1n;

/**
 * Read-your-writes with replicas. After a mutation the primary's WAL position is read (every
 * commit of the mutation is at or before it) and
 * - handed to the client (`x-read-after`, `extensions.readAfter`), which sends it with its next
 *   requests to any instance: their reads go to a replica that has replayed it, else the primary;
 * - remembered on this instance for the writer, so their next requests here need no header.
 *
 * A remembered position is forgotten after `keepMs`: by then every replica within the lag limit
 * has replayed it (the caller sets it from DATABASE_READ_MAX_LAG_MS and the check interval).
 * Other users read from replicas as stale as the lag limit lets them be.
 */
export class ReadYourWrites {
  private readonly recent = new Map<string, { readonly position: WalPosition; readonly at: number }>();
  private pruned = Date.now();

  constructor(
    private readonly replicas: ReadReplicas,
    private readonly keepMs: number,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /**
   * After a mutation by `userID`: the position to hand back, or undefined when the primary cannot
   * say (it just went away; the mutation's own answer says so). Without a caller no mutation can
   * have written (each needs one), so nothing is asked.
   */
  async afterWrite(userID: string | undefined): Promise<string | undefined> {
    if (userID === undefined) return undefined;
    let position: WalPosition;
    try {
      position = await this.replicas.primaryPosition();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read the primary position after a mutation');
      return undefined;
    }
    const now = Date.now();
    const known = this.recent.get(userID);
    if (known === undefined || known.position <= position) this.recent.set(userID, { position, at: now });
    this.prune(now);
    return formatWalPosition(position);
  }

  /** The position a request's reads must see: the newer of its header's and its caller's last write here. */
  requirement(userID: string | undefined, readAfter: ReadAfter | undefined): WalPosition | undefined {
    let after = readAfter === 'unreadable' ? PRIMARY_ONLY : readAfter;
    if (userID !== undefined) {
      const known = this.recent.get(userID);
      if (known !== undefined) {
        if (Date.now() - known.at > this.keepMs) this.recent.delete(userID);
        else if (after === undefined || known.position > after) after = known.position;
      }
    }
    return after;
  }

  private prune(now: number): void {
    if (now - this.pruned < this.keepMs) return;
    this.pruned = now;
    for (const [userID, known] of this.recent) if (now - known.at > this.keepMs) this.recent.delete(userID);
  }
}
