import { TurnBudget } from '../../src/shared/turn-budget';

/** Lets one turn of the event loop pass (the budget renews in the check phase, as this does). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves `promise` into a flag, to see whether it has been granted yet. */
function granted(promise: Promise<void> | undefined): { done: boolean } {
  const flag = { done: promise === undefined };
  void promise?.then(() => (flag.done = true));
  return flag;
}

describe('TurnBudget', () => {
  it('lets takes that fit the turn go on at once and holds the rest until a later turn', async () => {
    const budget = new TurnBudget(3);
    expect([budget.take(), budget.take(), budget.take()]).toEqual([undefined, undefined, undefined]);
    const fourth = granted(budget.take());
    for (let i = 0; i < 10; i += 1) await Promise.resolve();
    expect(fourth.done).toBe(false);
    await nextTurn();
    expect(fourth.done).toBe(true);
  });

  it('grants waiting takes in order of asking, as many per turn as the budget has', async () => {
    const budget = new TurnBudget(3);
    expect(budget.take(3)).toBeUndefined();
    const first = granted(budget.take(2));
    const second = granted(budget.take(2));
    // Even a take that would fit what is left waits behind those already waiting.
    const third = granted(budget.take(1));
    await nextTurn();
    expect([first.done, second.done, third.done]).toEqual([true, false, false]);
    await nextTurn();
    expect([second.done, third.done]).toEqual([true, true]);
  });

  it('grants a take larger than a whole turn alone at the start of a turn', async () => {
    const budget = new TurnBudget(3);
    expect(budget.take(10)).toBeUndefined();
    const after = granted(budget.take());
    await nextTurn();
    expect(after.done).toBe(true);

    expect(budget.take()).toBeUndefined();
    const large = granted(budget.take(10));
    await nextTurn();
    expect(large.done).toBe(true);
  });

  it('spreads many callers over turns with at most the budget each', async () => {
    const budget = new TurnBudget(100);
    let turn = 0;
    const perTurn = new Map<number, number>();
    const counting = (async () => {
      while (turn < 1000) {
        await nextTurn();
        turn += 1;
      }
    })();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        for (let i = 0; i < 40; i += 1) {
          const wait = budget.take();
          if (wait !== undefined) await wait;
          perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
        }
      }),
    );
    turn = 1000;
    await counting;
    expect([...perTurn.values()].reduce((sum, n) => sum + n, 0)).toBe(2000);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(100);
    expect(perTurn.size).toBeGreaterThanOrEqual(20);
  });
});
