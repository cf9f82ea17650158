import { LogThrottle } from './log-throttle';

describe('LogThrottle', () => {
  it('lets the first occurrence through, then one per interval with the count since the last line', () => {
    const throttle = new LogThrottle(10_000);
    expect(throttle.occurred('d24:unverified', 1_000)).toEqual({ sinceLastLine: 1, total: 1 });
    expect(throttle.occurred('d24:unverified', 2_000)).toBeNull();
    expect(throttle.occurred('d24:unverified', 10_999)).toBeNull();
    expect(throttle.occurred('d24:unverified', 11_000)).toEqual({ sinceLastLine: 3, total: 4 });
    expect(throttle.occurred('d24:unverified', 11_001)).toBeNull();
  });

  it('keeps keys apart', () => {
    const throttle = new LogThrottle(10_000);
    expect(throttle.occurred('a', 0)).not.toBeNull();
    expect(throttle.occurred('b', 1)).not.toBeNull();
    expect(throttle.occurred('a', 2)).toBeNull();
  });

  it('forgets every key past its bound rather than growing with them, so a forgotten key logs once more', () => {
    const throttle = new LogThrottle(60_000, 3);
    for (const key of ['a', 'b', 'c']) expect(throttle.occurred(key, 0)).not.toBeNull();
    expect(throttle.occurred('a', 1)).toBeNull();
    expect(throttle.occurred('d', 2)).not.toBeNull(); // the fourth key: the map starts again
    expect(throttle.occurred('a', 3)).toEqual({ sinceLastLine: 1, total: 1 });
  });
});
