import { promises as dns } from 'node:dns';
import { DestinationResolver } from '../../src/events/destination-policy';

/**
 * Host-name lookups go through getaddrinfo on libuv's four worker threads, which provider
 * connections and crypto share: a subscriber's slow name servers may hold two of them at most,
 * and nobody waits on a lookup longer than its deadline.
 */
describe('DestinationResolver: bounded system lookups', () => {
  afterEach(() => {
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('runs at most two lookups at once, gives up on a caller after 5 s, and starts the next lookup only when one returns', async () => {
    jest.useFakeTimers();
    const answers: Array<(addresses: Array<{ address: string; family: number }>) => void> = [];
    const lookup = jest
      .spyOn(dns, 'lookup')
      .mockImplementation(() => new Promise((resolve) => answers.push(resolve)) as never);
    const resolver = new DestinationResolver();
    const results = ['slow-1.example', 'slow-2.example', 'queued.example'].map((name) =>
      resolver.lookup(name).then(
        (addresses) => ({ addresses }),
        (error: Error) => ({ error: error.message }),
      ),
    );
    await Promise.resolve();
    expect(lookup).toHaveBeenCalledTimes(2);

    await jest.advanceTimersByTimeAsync(5_000);
    expect(await Promise.all(results)).toEqual([
      { error: 'looking up slow-1.example took over 5 s' },
      { error: 'looking up slow-2.example took over 5 s' },
      { error: 'looking up queued.example took over 5 s' },
    ]);
    // The two still hold their threads: the queued one has not started.
    expect(lookup).toHaveBeenCalledTimes(2);
    answers[0]([{ address: '192.0.2.1', family: 4 }]);
    await jest.advanceTimersByTimeAsync(0);
    expect(lookup).toHaveBeenCalledTimes(3);

    // A lookup that answers in time is answered.
    const answered = resolver.lookup('fast.example');
    answers[1]([{ address: '192.0.2.7', family: 4 }]);
    await jest.advanceTimersByTimeAsync(0);
    answers[3]?.([{ address: '192.0.2.9', family: 4 }]);
    expect(await answered).toEqual([{ address: '192.0.2.9', family: 4 }]);
  });
});
