import type { Viewer } from '../../src/auth/viewer';
import { LatestFeed } from '../../src/shared/latest-feed';

interface Value {
  readonly userID: string;
  readonly version: number;
}

const viewer = { userID: 'watcher' } as Viewer;
const value = (userID: string, version: number): Value => ({ userID, version });

describe('LatestFeed.consume', () => {
  it('hands each value to the consumer as it comes, one batch at a time, newest per user while it is busy', () => {
    const feed = new LatestFeed<Value>(viewer, new Set(['a', 'b']), () => undefined);
    feed.push(value('a', 1)); // before consuming: waits
    const batches: Value[][] = [];
    let handled: (() => void) | undefined;
    void feed.consume((values, done) => {
      batches.push([...values]);
      handled = done;
    });
    expect(batches).toEqual([[value('a', 1)]]);

    // Busy: these wait, and only the newest of each user is kept.
    feed.push(value('b', 1));
    feed.push(value('a', 2));
    feed.push(value('b', 2));
    expect(batches).toHaveLength(1);

    handled!();
    expect(batches[1]).toEqual([value('a', 2), value('b', 2)]);

    handled!();
    feed.push(value('a', 3));
    expect(batches[2]).toEqual([value('a', 3)]);
  });

  it('ends when the feed is returned, and hands nothing after', async () => {
    let closed = 0;
    const feed = new LatestFeed<Value>(viewer, new Set(['a']), () => (closed += 1));
    const seen: Value[] = [];
    const ended = feed.consume((values, done) => {
      seen.push(...values);
      done();
    });
    feed.push(value('a', 1));
    await feed.return();
    await ended;
    feed.push(value('a', 2));
    expect(seen).toEqual([value('a', 1)]);
    expect(closed).toBe(1);
  });
});
