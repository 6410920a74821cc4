import type { Logger } from 'pino';
import type { PresenceRepository } from './presence.repository.js';

/** Connections opened and closed within this long write nothing: a quick reconnect costs no statement. */
const FLUSH_DELAY_MS = 50;
const RETRY_MS = 1000;

export interface PresenceTrackerOptions {
  /** This instance's ID, as the bus and the outbox know it. */
  readonly instanceID: string;
  /** PRESENCE_TIMEOUT_MS: the bound on how long a dead instance's users still read ONLINE. */
  readonly timeoutMs: number;
  /** Announces, after commit, users whose status changed (the bus's publishStatus); never rejects. */
  readonly announce: (userIDs: readonly string[]) => Promise<void>;
  readonly logger: Logger;
}

/** The heartbeat's period and the age after which an instance counts as dead, from the timeout. */
export function presenceTimings(timeoutMs: number): { beatMs: number; deadAfterMs: number } {
  // Dead after two beats missed; the sweep runs every beat, so a dead instance's rows go within
  // deadAfter + beat = the timeout, and its users read OFFLINE from deadAfter on.
  return { beatMs: Math.floor(timeoutMs / 3), deadAfterMs: Math.floor((timeoutMs * 2) / 3) };
}

/**
 * This instance's side of who is online. The WebSocket server reports each authenticated
 * connection opened and closed; a user's first connection here writes their session, their last
 * one's close removes it (and records when they were last seen), gathered into one statement per
 * batch. The instance's liveness is one heartbeat row, written once per beat whatever the number of
 * users; each beat also sweeps instances that stopped beating (killed, cut off), so their users turn
 * OFFLINE within the timeout. Every change is announced on the bus for userStatusUpdated.
 */
export class PresenceTracker {
  /** Open connections per user, and the newest token's issue time (a connection is a first use). */
  private readonly connections = new Map<string, { count: number; issuedAt: number }>();
  /** Users whose session row this instance wrote. */
  private readonly recorded = new Set<string>();
  private readonly pending = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private stopped = false;
  private readonly beatMs: number;
  readonly deadAfterMs: number;

  constructor(
    private readonly repository: PresenceRepository,
    private readonly options: PresenceTrackerOptions,
  ) {
    ({ beatMs: this.beatMs, deadAfterMs: this.deadAfterMs } = presenceTimings(options.timeoutMs));
  }

  /** Statements run so far (heartbeats, sweeps, sessions, reads), for /metrics. */
  get statements(): number {
    return this.repository.statements;
  }

  /** Users with an open connection on this instance. */
  get onlineHere(): number {
    return this.connections.size;
  }

  async start(): Promise<void> {
    await this.repository.register(this.options.instanceID);
    this.beatTimer = setInterval(() => {
      this.beating ??= this.beat().finally(() => (this.beating = undefined));
    }, this.beatMs);
    this.beatTimer.unref();
  }

  connected(userID: string, issuedAt = 0): void {
    if (this.stopped) return;
    const held = this.connections.get(userID);
    if (held !== undefined) {
      held.count += 1;
      held.issuedAt = Math.max(held.issuedAt, issuedAt);
      return;
    }
    this.connections.set(userID, { count: 1, issuedAt });
    this.changed(userID);
  }

  disconnected(userID: string): void {
    if (this.stopped) return;
    const held = this.connections.get(userID);
    if (held === undefined) return;
    held.count -= 1;
    if (held.count > 0) return;
    this.connections.delete(userID);
    this.changed(userID);
  }

  /** Removes this instance's rows (its users turn OFFLINE now, not after the timeout) and stops. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.beatTimer);
    clearTimeout(this.flushTimer);
    await Promise.all([this.flushing, this.beating]);
    try {
      const users = await this.repository.retire(this.options.instanceID);
      await this.announce(users);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not retire this instance’s presence; it expires by itself');
    }
  }

  private changed(userID: string): void {
    this.pending.add(userID);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined || this.flushing !== undefined || this.stopped) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.pending.size > 0) this.scheduleFlush();
      });
    }, FLUSH_DELAY_MS);
  }

  private async flush(): Promise<void> {
    const users = [...this.pending];
    this.pending.clear();
    const arrivals = users
      .filter((userID) => this.connections.has(userID) && !this.recorded.has(userID))
      .map((userID) => ({ userID, issuedAt: this.connections.get(userID)!.issuedAt }));
    const leaving = users.filter((userID) => !this.connections.has(userID) && this.recorded.has(userID));
    const { instanceID } = this.options;
    try {
      for (const userID of await this.repository.arrive(instanceID, arrivals)) this.recorded.add(userID);
      await this.repository.leave(instanceID, leaving);
      for (const userID of leaving) this.recorded.delete(userID);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not record who is online; retrying');
      for (const userID of users) this.pending.add(userID);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
      return;
    }
    await this.announce([...arrivals.map((arrival) => arrival.userID), ...leaving]);
  }

  private async beat(): Promise<void> {
    const { instanceID } = this.options;
    try {
      if (!(await this.repository.beat(instanceID))) {
        // Taken for dead (a pause longer than the timeout) and swept: every user here again.
        this.options.logger.warn('this instance’s presence had expired; recording its users again');
        this.recorded.clear();
        for (const userID of this.connections.keys()) this.changed(userID);
        await this.repository.register(instanceID);
      }
      await this.announce(await this.repository.sweepDead(this.deadAfterMs));
    } catch (error) {
      this.options.logger.warn({ err: error }, 'presence heartbeat failed; retrying at the next beat');
    }
  }

  private async announce(userIDs: readonly string[]): Promise<void> {
    if (userIDs.length > 0) await this.options.announce(userIDs);
  }
}
