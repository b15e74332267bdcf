import { createRng } from '../core/rng.js';
import { now } from '../peer/clock.js';
import { reportAll } from './census.js';
import { settle, WARM_UP_MS } from './overlay-joins.js';
import { startRate } from './rate.js';
import { RATE_STREAM } from './run-plan.js';
import type { Run } from './run-start.js';
import type { RunTracker, WaitOutcome } from './run-tracker.js';

/**
 * After --duration the run drains: it waits for the window's messages to arrive (they were all
 * sent by then) for as long as deliveries keep coming. It stops once every delivery is in, or
 * after DRAIN_QUIET_MS without a single new one (on loopback a delivery takes milliseconds even
 * at 100 peers, so 2 s of silence means nothing more is on its way), and after DRAIN_MAX_MS at
 * most. A fixed 2 s drain counted late deliveries as missing: an overlay of 2,000 peers on two
 * threads delivered its last copies 20 s after they were sent (p99), all of them in the end.
 */
const DRAIN_QUIET_MS = 2_000;
/** A saturated overlay of 2,000 peers drained in 10-20 s (see the README); a run stays bounded. */
const DRAIN_MAX_MS = 60_000;
/** How long to wait for the peers' traffic counters after the drain. */
const COUNTERS_MS = 2_000;

/**
 * Once the mesh formed (`outcome` of forming is `done`), keeps it running for --duration (or
 * until the signal, when holding) and measures its messages: the window, then the drain of its
 * deliveries. Returns how the run ended; as given when there is no window to run.
 */
export async function measureWindow(run: Run, formed: WaitOutcome): Promise<WaitOutcome> {
  const { options, tracker, deadline, faults, measured } = run;
  const { config, n, seed } = run.plan;
  const { mesh, log, overlay, waitFor, failed, running } = tracker;
  const holding = options.hold === true && config.durationMs === 0;
  if (formed !== 'done' || failed() || !(config.durationMs > 0 || holding)) return formed;
  tracker.enter('running');
  if (overlay !== undefined) {
    await settle(() => mesh.mutualLinks, waitFor, failed);
    await overlay.warmUp(faults.send, running(), waitFor, now() + WARM_UP_MS);
    const counted = deadline + config.durationMs;
    await overlay.counters('before', faults.send, running(), waitFor, counted);
  }
  const windowStart = now();
  measured.windowStart = windowStart;
  log.open(windowStart);
  options.trace?.open(windowStart, () => mesh.liveAdjacency());
  let stopRate = (): void => {};
  if (config.rate !== null) {
    stopRate = startRate(
      config.rate,
      createRng(seed ^ RATE_STREAM),
      n,
      (i) => tracker.errors[i] === undefined,
      (i) => faults.send(i, { type: 'broadcast' }),
    );
  }
  faults.runner?.start(windowStart);
  let outcome = await waitFor(
    failed,
    holding ? Number.POSITIVE_INFINITY : windowStart + config.durationMs,
  );
  faults.runner?.stop();
  const windowEnd = now();
  measured.windowEnd = windowEnd;
  log.close(windowEnd);
  stopRate();
  // Held until Ctrl-C: that is how such a run ends, not an interruption.
  if (holding && outcome === 'aborted') outcome = 'done';
  else if (outcome === 'timeout') {
    // The duration is over: stop sending, then drain. Every peer's report comes after the
    // events it emitted before it (and after its pause), so once all are in, every message of
    // the window is known and no more are coming: then wait for their deliveries.
    // Every running peer, those the faults started included.
    const current = mesh.live.flatMap((i) => faults.handle(i) ?? []);
    for (const handle of current) handle.send({ type: 'pause-gossip' });
    await reportAll(current);
    outcome = await drain(tracker, windowEnd);
    measured.drainMs = now() - windowEnd;
  }
  if (outcome === 'done' && overlay !== undefined) {
    await overlay.counters('after', faults.send, running(), waitFor, now() + COUNTERS_MS);
  }
  return outcome;
}

/**
 * Waits while the window's deliveries still arrive: until all are in, or a whole
 * DRAIN_QUIET_MS passed without a new one, or DRAIN_MAX_MS after `from`.
 */
async function drain(tracker: RunTracker, from: number): Promise<WaitOutcome> {
  const { log, waitFor, failed } = tracker;
  const limit = from + DRAIN_MAX_MS;
  for (;;) {
    const before = log.deliveries;
    const outcome = await waitFor(
      () => log.complete || failed(),
      Math.min(now() + DRAIN_QUIET_MS, limit),
    );
    if (outcome !== 'timeout') return outcome;
    if (log.deliveries === before || now() >= limit) return 'done';
  }
}
