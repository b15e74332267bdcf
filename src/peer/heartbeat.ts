import { CHECKS_PER_PERIOD, livenessOf } from '../core/liveness.js';
import { reason } from '../core/reasons.js';
import { Feature } from '../protocol/messages.js';
import { now } from './clock.js';
import type { Connection } from './connection.js';

/**
 * The timer of the `heartbeat` extension: twice a period it asks `core/liveness.ts` about every
 * link whose remote announced `heartbeat`, pings the ones we said nothing on for a period, and
 * fails the silent ones as broken links (code HEARTBEAT_TIMEOUT), which the arbiter redials as it
 * does any broken link. Links of peers without the extension (the original) are never judged.
 */
export class Heartbeat {
  #timer: NodeJS.Timeout | undefined;
  #lastCheckAt = 0;

  constructor(
    private readonly periodMs: number,
    private readonly links: () => Iterable<Connection>,
    private readonly deadAfterPeriods: number,
  ) {}

  start(): void {
    this.stop();
    this.#lastCheckAt = now();
    this.#timer = setInterval(() => this.check(), this.periodMs / CHECKS_PER_PERIOD);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  check(): void {
    const at = now();
    const interval = this.periodMs / CHECKS_PER_PERIOD;
    const late = at - this.#lastCheckAt > 2 * interval;
    this.#lastCheckAt = at;
    // Our own loop stalled (a busy thread): timers run before pending reads, so what arrived
    // meanwhile is not read yet. Judge nobody this round.
    if (late) return;
    for (const connection of this.links()) {
      if (connection.closed || !connection.identity?.features.has(Feature.heartbeat)) continue;
      const state = livenessOf({
        now: at,
        lastHeardAt: connection.lastHeardAt,
        lastSentAt: connection.lastSentAt,
        periodMs: this.periodMs,
        deadAfterPeriods: this.deadAfterPeriods,
      });
      if (state === 'ping') connection.send({ type: 'heartbeat' });
      else if (state === 'dead')
        connection.fail(
          reason(
            'HEARTBEAT_TIMEOUT',
            `nothing heard for ${Math.round(at - connection.lastHeardAt)} ms`,
          ),
        );
    }
  }
}
