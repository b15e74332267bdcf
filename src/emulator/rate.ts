import type { Rng } from '../core/rng.js';

/** The rate sender's tick: messages due since the last tick are sent together. */
const RATE_TICK_MS = 10;

/**
 * Sends `rate` messages a second across the network (`--rate`), each from a peer drawn with `rng`
 * among those `alive`: a load that does not grow with N, unlike every peer gossiping each period.
 * Returns the function that stops it.
 */
export function startRate(
  rate: number,
  rng: Rng,
  peers: number,
  alive: (i: number) => boolean,
  broadcast: (i: number) => void,
): () => void {
  const started = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1_000) * rate);
    for (; sent < due; sent++) {
      let i = rng.int(peers);
      for (let tries = 0; !alive(i) && tries < peers; tries++) i = (i + 1) % peers;
      broadcast(i);
    }
  }, RATE_TICK_MS);
  return () => clearInterval(timer);
}
