import type { Provider, ProviderPayoutState } from '../../providers/provider.port';
import { currencyDecimals, formatAmount, isCurrency, normaliseAmount } from './money';
import type { PayoutStatus, TransitionVerdict } from './payout';
import { fromProviderState, judgeTransition, mayStillChange, OPEN, PAYOUT_STATUSES, TERMINAL } from './payout';

/**
 * Every from → to pair of the payout state machine, written out by hand (not derived from the
 * implementation's tables, so a changed rule shows up here as a changed cell).
 *
 *   A  apply    the report moves the payout
 *   S  same     nothing to do
 *   T  stale    a late or reordered report that would move the payout backwards: recorded, not applied
 *   I  illegal  a report that contradicts the machine
 *   R  the reversal after completion: apply for D24 (its documented bank reversal), illegal for the others
 */
const COLUMNS = [
  'pending_approval',
  'requested',
  'submitted',
  'pending',
  'processing',
  'on_hold',
  'completed',
  'failed',
  'rejected',
  'cancelled',
  'unknown',
] as const;
const MATRIX: Record<PayoutStatus, string> = {
  //                  apr req sub pen pro hol com fai rej can unk
  pending_approval: ' S   I   I   I   I   I   I   I   I   I   I',
  requested: ' I   S   A   A   A   A   A   A   A   A   A',
  submitted: ' T   T   S   A   A   A   A   A   A   A   T',
  pending: ' T   T   T   S   A   A   A   A   A   A   T',
  processing: ' T   T   T   T   S   T   A   A   A   I   T',
  on_hold: ' T   T   T   A   A   S   A   A   A   A   T',
  completed: ' T   T   T   T   T   T   S   T   R   T   T',
  failed: ' T   T   T   T   T   T   T   S   T   T   T',
  rejected: ' T   T   T   T   T   T   T   T   S   T   T',
  cancelled: ' T   T   T   T   T   T   T   T   T   S   T',
  unknown: ' I   I   A   A   A   A   A   A   A   A   S',
};
const PROVIDERS: Provider[] = ['d24', 'connectpay', 'verestro'];

function expected(cell: string, provider: Provider): TransitionVerdict {
  switch (cell) {
    case 'A':
      return 'apply';
    case 'S':
      return 'same';
    case 'T':
      return 'stale';
    case 'I':
      return 'illegal';
    case 'R':
      return provider === 'd24' ? 'apply' : 'illegal';
    default:
      throw new Error(`unknown cell ${cell}`);
  }
}

const pairs = PROVIDERS.flatMap((provider) =>
  COLUMNS.flatMap((from) => {
    const cells = MATRIX[from].trim().split(/\s+/);
    return COLUMNS.map((to, index) => ({ provider, from, to, verdict: expected(cells[index], provider) }));
  }),
);

describe('the payout state machine', () => {
  it('covers every status, in both the rows and the columns of the table', () => {
    expect([...COLUMNS].sort()).toEqual([...PAYOUT_STATUSES].sort());
    expect(Object.keys(MATRIX).sort()).toEqual([...PAYOUT_STATUSES].sort());
    for (const row of Object.values(MATRIX)) expect(row.trim().split(/\s+/)).toHaveLength(COLUMNS.length);
    expect(pairs).toHaveLength(PROVIDERS.length * PAYOUT_STATUSES.length ** 2);
  });

  it.each(pairs)('$provider: $from → $to is $verdict', ({ provider, from, to, verdict }) => {
    expect(judgeTransition(provider, from, to)).toBe(verdict);
  });

  it('never applies a move out of a final state, except the reversal of a completed D24 payout to rejected', () => {
    const applied = pairs.filter(({ from, verdict }) => TERMINAL.has(from) && verdict === 'apply');
    expect(applied.map(({ provider, from, to }) => `${provider}:${from}→${to}`)).toEqual(['d24:completed→rejected']);
  });

  it('splits the statuses into open (polled by the reconciler), final ones, and pending_approval (never sent, never polled)', () => {
    expect([...TERMINAL].sort()).toEqual(['cancelled', 'completed', 'failed', 'rejected']);
    expect(OPEN).not.toContain('pending_approval');
    expect([...OPEN, ...TERMINAL, 'pending_approval'].sort()).toEqual([...PAYOUT_STATUSES].sort());
    expect(OPEN.filter((status) => TERMINAL.has(status))).toEqual([]);
  });

  it.each(PROVIDERS.flatMap((provider) => PAYOUT_STATUSES.map((status) => ({ provider, status }))))(
    '$provider: a $status payout may still change: open ones that were sent always, final ones only by a reversal',
    ({ provider, status }) => {
      const reversible = provider === 'd24' && status === 'completed';
      const neverSent = status === 'pending_approval';
      expect(mayStillChange(provider, status)).toBe(!neverSent && (!TERMINAL.has(status) || reversible));
    },
  );

  it('takes every provider state as the status of the same name', () => {
    const states: ProviderPayoutState[] = [
      'pending',
      'processing',
      'completed',
      'rejected',
      'cancelled',
      'on_hold',
      'failed',
    ];
    for (const state of states) expect(fromProviderState(state)).toBe(state);
  });
});

describe('money', () => {
  it('knows ISO 4217 codes only, in upper case', () => {
    expect(['EUR', 'BRL', 'JPY'].map(isCurrency)).toEqual([true, true, true]);
    expect(['eur', 'EURO', 'XYZ', '', 'E1R'].map(isCurrency)).toEqual([false, false, false, false, false]);
  });

  it("uses each currency's own number of decimals", () => {
    expect(['EUR', 'BRL', 'JPY', 'BHD', 'KWD'].map(currencyDecimals)).toEqual([2, 2, 0, 3, 3]);
  });

  it.each([
    // [amount, currency, result]
    ['100.5', 'EUR', { amount: '100.50' }],
    ['100', 'EUR', { amount: '100.00' }],
    ['0001.50', 'EUR', { amount: '1.50' }],
    ['1.100000', 'EUR', { amount: '1.10' }],
    ['0.01', 'EUR', { amount: '0.01' }],
    ['9999999999999.99', 'EUR', { amount: '9999999999999.99' }],
    ['100', 'JPY', { amount: '100' }],
    ['100.00', 'JPY', { amount: '100' }],
    ['1.234', 'BHD', { amount: '1.234' }],
    ['100.001', 'EUR', { problem: 'TOO_PRECISE', decimals: 2 }],
    ['100.5', 'JPY', { problem: 'TOO_PRECISE', decimals: 0 }],
    ['1.2345', 'BHD', { problem: 'TOO_PRECISE', decimals: 3 }],
    ['0.001', 'EUR', { problem: 'TOO_PRECISE', decimals: 2 }],
    ['0', 'EUR', { problem: 'NOT_POSITIVE', decimals: 2 }],
    ['0.00', 'EUR', { problem: 'NOT_POSITIVE', decimals: 2 }],
    ['0', 'JPY', { problem: 'NOT_POSITIVE', decimals: 0 }],
    ['10000000000000', 'EUR', { problem: 'TOO_LARGE', decimals: 2 }],
    ['-1', 'EUR', { problem: 'NOT_A_DECIMAL', decimals: 2 }],
    ['1e3', 'EUR', { problem: 'NOT_A_DECIMAL', decimals: 2 }],
    ['1,50', 'EUR', { problem: 'NOT_A_DECIMAL', decimals: 2 }],
    ['1.', 'EUR', { problem: 'NOT_A_DECIMAL', decimals: 2 }],
    ['.5', 'EUR', { problem: 'NOT_A_DECIMAL', decimals: 2 }],
    [' 1', 'EUR', { problem: 'NOT_A_DECIMAL', decimals: 2 }],
    ['1.1234567', 'EUR', { problem: 'NOT_A_DECIMAL', decimals: 2 }],
    ['1234567890123456', 'EUR', { problem: 'NOT_A_DECIMAL', decimals: 2 }],
  ])('normalises %j %s to %j', (amount, currency, result) => {
    expect(normaliseAmount(amount, currency)).toEqual(result);
  });

  it("formats a stored numeric with the currency's precision, as text", () => {
    expect(formatAmount('100', 'EUR')).toBe('100.00');
    expect(formatAmount('100.5', 'EUR')).toBe('100.50');
    expect(formatAmount('100.00', 'JPY')).toBe('100');
    expect(formatAmount('1.234', 'BHD')).toBe('1.234');
    expect(formatAmount('12345678901234.5', 'EUR')).toBe('12345678901234.50');
  });
});
