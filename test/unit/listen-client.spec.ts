import { LISTEN_RECONNECT, reconnectDelay } from '../../src/db/listen-client';

describe('reconnectDelay', () => {
  it('doubles from the minimum up to the cap, waiting 50-100% of each step', () => {
    for (let attempt = 1; attempt <= 40; attempt += 1) {
      const ceiling = Math.min(LISTEN_RECONNECT.maxMs, LISTEN_RECONNECT.minMs * 2 ** (attempt - 1));
      for (let sample = 0; sample < 50; sample += 1) {
        const delay = reconnectDelay(attempt);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
    expect(reconnectDelay(1)).toBeLessThanOrEqual(LISTEN_RECONNECT.minMs);
    expect(reconnectDelay(100)).toBeGreaterThanOrEqual(LISTEN_RECONNECT.maxMs / 2);
  });

  it('spreads the instances that lost one server over the window', () => {
    const delays = new Set(Array.from({ length: 50 }, () => reconnectDelay(10)));
    expect(delays.size).toBeGreaterThan(10);
  });
});
