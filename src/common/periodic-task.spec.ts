import { AsyncLocalStorage } from 'node:async_hooks';
import { PeriodicTask } from './periodic-task';

describe('PeriodicTask wake-ups', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  /** A task whose passes are counted (woken or not) and end when the test says so. */
  function countedTask() {
    const passes: Array<() => void> = [];
    const woken: boolean[] = [];
    const task = new PeriodicTask(
      (pass) =>
        new Promise<void>((resolve) => {
          passes.push(resolve);
          woken.push(pass.woken);
        }),
      (error) => {
        throw error;
      },
    );
    return { task, passes, woken };
  }

  it('runs a pass at the time asked for, not before, besides the interval', async () => {
    const { task, passes } = countedTask();
    task.start(60_000);
    task.runAt(Date.now() + 1_000);
    await jest.advanceTimersByTimeAsync(999);
    expect(passes).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(passes).toHaveLength(1);
    passes[0]();
    await task.stop();
  });

  it('wake-ups within one span share a pass, and one during a pass makes one more after it', async () => {
    const { task, passes } = countedTask();
    task.start(60_000);
    for (let ms = 1; ms <= 50; ms++) task.runAt(Date.now() + 1_000 + ms); // all in the span ending at 1,100 ms
    await jest.advanceTimersByTimeAsync(1_100);
    expect(passes).toHaveLength(1);
    task.runAt(Date.now() + 200);
    task.runAt(Date.now() + 400);
    await jest.advanceTimersByTimeAsync(400);
    expect(passes).toHaveLength(1); // still in the first pass
    passes[0]();
    await jest.advanceTimersByTimeAsync(0);
    expect(passes).toHaveLength(2); // the two wake-ups made one more pass, not two
    passes[1]();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(passes).toHaveLength(2);
    await task.stop();
  });

  it('stopping cancels the wake-ups not yet due', async () => {
    const { task, passes } = countedTask();
    task.start(60_000);
    task.runAt(Date.now() + 500);
    await task.stop();
    await jest.advanceTimersByTimeAsync(120_000);
    expect(passes).toHaveLength(0);
  });

  it("an interval tick during a woken pass is owed, not skipped: wake-ups cannot starve the interval's passes", async () => {
    const { task, passes, woken } = countedTask();
    task.start(1_000);
    task.runAt(Date.now() + 900);
    await jest.advanceTimersByTimeAsync(1_000); // the woken pass is still running when the interval ticks
    expect(woken).toEqual([true]);
    passes[0]();
    await jest.advanceTimersByTimeAsync(0);
    expect(woken).toEqual([true, false]);
    passes[1]();
    await task.stop();
  });

  it("a pass woken from inside a request runs in the context the task was made in, not the request's", async () => {
    // Real timers: a fake timer's callback runs in the context of whoever advances the clock, so
    // it could not show what a real one carries.
    jest.useRealTimers();
    const requestScope = new AsyncLocalStorage<{ requestId: string }>();
    let seen: (requestId: string | undefined) => void = () => undefined;
    const firstPass = new Promise<string | undefined>((resolve) => (seen = resolve));
    const task = new PeriodicTask(
      () => {
        seen(requestScope.getStore()?.requestId);
        return Promise.resolve();
      },
      (error) => {
        throw error;
      },
    );
    requestScope.run({ requestId: 'a notification' }, () => {
      task.start(60_000);
      task.runAt(Date.now() + 10);
    });
    expect(await firstPass).toBeUndefined();
    await task.stop();
  });
});
