/**
 * Fault injection for a simulator route. Rates are probabilities in [0, 1], drawn from a seeded
 * generator so a test run with a given seed injects the same faults in the same order.
 */
export interface FaultSettings {
  /** Added before the route runs. */
  latencyMs?: number;
  /** Answer 500 without doing anything. */
  errorRate?: number;
  /** Destroy the connection without doing anything (the client sees ECONNRESET). */
  resetRate?: number;
  /** Never answer; the connection is closed after `hangMs` (the client's timeout fires first). */
  timeoutRate?: number;
  /** Do the work (it is in the ledger), then destroy the connection instead of answering. */
  dropResponseRate?: number;
  hangMs?: number;
  /**
   * Do the work (it is in the ledger), then answer with the same status but a body that is not
   * the documented one: `malformedBody` as is, or else the real body cut in half (broken JSON).
   */
  malformedRate?: number;
  malformedBody?: string;
  /**
   * Inject a fault this many times, then clear the route's settings: "drop the next answer" is
   * then exact, where a rate of 1 removed later would race the client's retry.
   */
  times?: number;
}

export type FaultDecision = 'none' | 'error' | 'reset' | 'timeout' | 'drop-response' | 'malformed';

/** mulberry32: small, fast, good enough to pick faults reproducibly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private readonly byRoute = new Map<string, FaultSettings>();
  private random: () => number;
  private readonly counts: Record<FaultDecision, number> = {
    none: 0,
    error: 0,
    reset: 0,
    timeout: 0,
    'drop-response': 0,
    malformed: 0,
  };

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  /** Settings for one route key ("POST /v3/cashout") or for every route ("*"). */
  set(route: string, settings: FaultSettings): void {
    if (Object.keys(settings).length === 0) this.byRoute.delete(route);
    else this.byRoute.set(route, settings);
  }

  reset(seed?: number): void {
    this.byRoute.clear();
    if (seed !== undefined) this.random = seededRandom(seed);
  }

  settingsFor(route: string): FaultSettings | undefined {
    return this.byRoute.get(route) ?? this.byRoute.get('*');
  }

  decide(route: string): { decision: FaultDecision; settings: FaultSettings | undefined } {
    const settings = this.settingsFor(route);
    let decision: FaultDecision = 'none';
    if (settings) {
      const draw = this.random();
      let edge = 0;
      for (const [rate, outcome] of [
        [settings.errorRate, 'error'],
        [settings.resetRate, 'reset'],
        [settings.timeoutRate, 'timeout'],
        [settings.dropResponseRate, 'drop-response'],
        [settings.malformedRate, 'malformed'],
      ] as const) {
        edge += rate ?? 0;
        if (draw < edge) {
          decision = outcome;
          break;
        }
      }
    }
    this.counts[decision]++;
    if (settings?.times !== undefined && decision !== 'none') {
      const key = this.byRoute.has(route) ? route : '*';
      if (settings.times <= 1) this.byRoute.delete(key);
      else this.byRoute.set(key, { ...settings, times: settings.times - 1 });
    }
    return { decision, settings };
  }

  snapshot(): { routes: Record<string, FaultSettings>; injected: Record<FaultDecision, number> } {
    return { routes: Object.fromEntries(this.byRoute), injected: { ...this.counts } };
  }
}
