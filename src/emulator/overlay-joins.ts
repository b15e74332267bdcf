import { now } from '../peer/clock.js';

/**
 * Growth of the joined overlay from one wave of joins to the next: wave k holds the peers with
 * `floor(log_1.5(i + 1)) = k`, so each wave joins through (at most) half again as many peers as
 * are in already. All 1,000 joins at one instant found their contacts without neighbors: the
 * forward-join walks had no graph to walk, and the overlay was the bootstrap's random recursive
 * tree with a few shortcuts (simulator, 1,000 simultaneous joins: diameter 24; emulator over TCP:
 * 20-26). Waves of growth 2 gave diameter 10, of 1.5 gave 8 (simulator, same seed), as slow
 * one-by-one joins do (7), in 17 waves at N = 1,000.
 */
export const JOIN_WAVE_GROWTH = 1.5;

/**
 * A wave goes once every peer of the earlier ones has a link (its join was answered), and not
 * sooner than this after the previous wave, so that the walks its joins started have ended: six
 * hops and a dial take a few milliseconds on loopback, tens while a thousand peers start.
 */
export const JOIN_WAVE_MIN_MS = 30;

/** ...nor later than this: a peer whose join is lost must not hold up the rest. */
export const JOIN_WAVE_MAX_MS = 300;

type Wait = (check: () => boolean, deadline: number) => Promise<unknown>;

/** The wave of peer `i` (peer 0, who joins nobody, is alone in wave 0). */
export function joinWave(i: number): number {
  return Math.floor(Math.log(i + 1) / Math.log(JOIN_WAVE_GROWTH) + 1e-9);
}

/**
 * Sends every peer's joins (`joins[i]`, through `send`), wave by wave (see JOIN_WAVE_GROWTH).
 * `linked(i)` says whether peer i has a link; `wait` resolves when its check holds or at the
 * deadline (re-checked on every event of the run); `stopped()` ends the waves early.
 */
export async function sendJoinsInWaves(
  joins: ReadonlyArray<readonly string[]>,
  send: (i: number, address: string) => void,
  linked: (i: number) => boolean,
  wait: Wait,
  stopped: () => boolean,
): Promise<void> {
  let next = 0;
  let waitingFor = 0;
  while (next < joins.length && !stopped()) {
    const wave = joinWave(next);
    const sentAt = now();
    for (; next < joins.length && joinWave(next) === wave; next++) {
      for (const address of joins[next] ?? []) send(next, address);
    }
    if (next >= joins.length) break;
    await wait(() => false, sentAt + JOIN_WAVE_MIN_MS);
    await wait(() => {
      while (waitingFor < next && linked(waitingFor)) waitingFor++;
      return waitingFor >= next || stopped();
    }, sentAt + JOIN_WAVE_MAX_MS);
  }
}

/**
 * Longest wait for the warm-up message (`OverlayEmulation.warmUp`) to reach every peer before the
 * measured window opens anyway.
 */
export const WARM_UP_MS = 5_000;

/**
 * Once connected, an overlay still fills its active views for seconds (refills back off from 1 s,
 * lonely peers retry every 2 s): at N = 1,000 the links grew from 2,090 to 2,370 during a 5 s
 * window, and every new link is eager until a duplicate prunes it. The window opens once the
 * link count moved by at most SETTLED_CHANGE of itself over SETTLED_SPAN_MS, or after
 * SETTLE_MAX_MS.
 */
export const SETTLED_CHANGE = 0.01;
export const SETTLED_SPAN_MS = 1_000;
export const SETTLE_MAX_MS = 10_000;

/** Waits until `links()` has settled (see SETTLED_CHANGE), `stopped()`, or SETTLE_MAX_MS. */
export async function settle(
  links: () => number,
  wait: Wait,
  stopped: () => boolean,
): Promise<void> {
  const end = now() + SETTLE_MAX_MS;
  let before = links();
  while (now() < end && !stopped()) {
    await wait(() => stopped(), Math.min(end, now() + SETTLED_SPAN_MS));
    const after = links();
    if (Math.abs(after - before) <= Math.max(2, SETTLED_CHANGE * after)) return;
    before = after;
  }
}
