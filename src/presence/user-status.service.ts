import type { Viewer } from '../auth/viewer.js';
import { accountDeleted } from '../user/user.service.js';
import type { PresenceRepository } from './presence.repository.js';
import {
  checkCustomStatus,
  checkStatusIDs,
  presentStatus,
  STATUS_LIMITS,
  type UserStatusView,
} from './presence.rules.js';

/** IDs per statement when a hub re-reads many statuses. */
const CHUNK = 1000;

/** userStatuses and setMyStatus: the rules (presence.rules.ts) over the presence rows. */
export class UserStatusService {
  constructor(
    private readonly repository: PresenceRepository,
    /** Sessions on an instance whose heartbeat is older than this do not count (see presenceTimings). */
    private readonly deadAfterMs: number,
    /** Announces a committed change on the bus, for userStatusUpdated everywhere; never rejects. */
    private readonly announce: (userIDs: readonly string[]) => Promise<void>,
  ) {}

  /** The statuses of 1 to 500 distinct IDs, in the order given; anyone signed in may read them. */
  async getStatuses(_viewer: Viewer, ids: readonly string[]): Promise<UserStatusView[]> {
    return this.readStatuses(checkStatusIDs('ids', ids, STATUS_LIMITS.userIDsPerRead));
  }

  /** Statuses of checked IDs, in their order: one statement per thousand. */
  async readStatuses(userIDs: readonly string[]): Promise<UserStatusView[]> {
    const statuses: UserStatusView[] = [];
    for (let start = 0; start < userIDs.length; start += CHUNK) {
      const chunk = userIDs.slice(start, start + CHUNK);
      const rows = new Map(
        (await this.repository.statuses(chunk, this.deadAfterMs)).map((row) => [row.user_id, row] as const),
      );
      for (const userID of chunk) statuses.push(presentStatus(userID, rows.get(userID)));
    }
    return statuses;
  }

  /** Sets the caller's custom status ("" clears it); their account is created on first use. */
  async setMyStatus(viewer: Viewer, customStatus: string): Promise<UserStatusView> {
    const { account, changed } = await this.repository.setCustomStatus(
      viewer.userID,
      checkCustomStatus(customStatus),
      viewer.issuedAt ?? 0,
    );
    if (!account) throw accountDeleted();
    if (changed) await this.announce([viewer.userID]);
    const [status] = await this.readStatuses([viewer.userID]);
    return status;
  }
}
