import type { Rng } from '../core/rng.js';
import type { LinkShape } from './model.js';

/**
 * How long one message takes over a link, one way, as TCP shows it: the propagation delay with
 * jitter, plus, for every lost transmission, a retransmission timeout that doubles each time
 * (RFC 6298; Linux's minimum RTO is 200 ms), plus the time to put its bytes on the wire when the
 * link has a bandwidth. Messages are never lost: the caller keeps them in order.
 */

/** Linux's TCP_RTO_MIN: no retransmission comes sooner after a loss. */
export const RTO_MIN_MS = 200;
/** Linux's TCP_RTO_MAX: the doubling stops there. */
export const RTO_MAX_MS = 120_000;

/** Propagation plus retransmission delay of one message. */
export function oneWayDelay(shape: LinkShape, rng: Rng | null): number {
  let delay = shape.latencyMs;
  if (rng === null) return delay;
  if (shape.jitterMs > 0) delay = Math.max(0, delay + (rng.next() * 2 - 1) * shape.jitterMs);
  if (shape.loss > 0) {
    // RTO from a smoothed RTT of two one-way delays and a variance of the jitter (RFC 6298).
    let rto = Math.max(RTO_MIN_MS, 2 * shape.latencyMs + 4 * shape.jitterMs);
    while (rng.next() < shape.loss) {
      delay += rto;
      rto = Math.min(2 * rto, RTO_MAX_MS);
    }
  }
  return delay;
}

/** True when the delay of a message depends on chance (so a link needs a generator). */
export function isRandom(shape: LinkShape): boolean {
  return shape.jitterMs > 0 || shape.loss > 0;
}

/** Milliseconds to serialize `bytes` at the shape's bandwidth (0 without one). */
export function transmitMs(shape: LinkShape, bytes: number): number {
  return shape.bandwidthBps === null ? 0 : (bytes * 8_000) / shape.bandwidthBps;
}

/**
 * When a retransmission first goes out at or after `healAt`, for a segment first sent at `sentAt`
 * into a partition: TCP retries at sentAt + rto·(1 + 2 + 4 + ...), so a long outage costs up to
 * one more backed-off timeout after it heals.
 */
export function retransmitAfter(sentAt: number, healAt: number, rtoMs: number): number {
  let t = sentAt;
  let rto = Math.max(RTO_MIN_MS, rtoMs);
  while (t < healAt) {
    t += rto;
    rto = Math.min(2 * rto, RTO_MAX_MS);
  }
  return t;
}
