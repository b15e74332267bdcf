/**
 * Dead-link detection (the `heartbeat` extension), as a pure decision: a peer that announces
 * `heartbeat` promises to send something at least once a period (its gossip usually, a
 * `heartbeat` frame when it had nothing else to say), so a link we heard nothing on for a few
 * periods is dead: its remote is gone without a reset (killed behind a partition, a host down).
 * The driver owns the timer and the sockets; this only says what to do with one link.
 */

/**
 * Silent periods before a link is declared dead. Gossip from one sender comes every period, and
 * the emulator's shaped links add at most a few retransmission timeouts (200 ms, 400 ms, ... at
 * a few percent loss), so 3 periods (6 s at the default 2 s) never fire on a live link yet catch
 * a partition within 3 to 3.5 periods (the check runs twice a period).
 */
export const DEAD_AFTER_PERIODS = 3;

/** How often the driver asks, in periods: twice a period bounds a ping's lateness to half one. */
export const CHECKS_PER_PERIOD = 2;

export type Liveness = 'alive' | 'ping' | 'dead';

export interface LivenessInput {
  readonly now: number;
  /** When the last byte arrived on the link (or it came up). */
  readonly lastHeardAt: number;
  /** When we last wrote to it (or it came up). */
  readonly lastSentAt: number;
  readonly periodMs: number;
  readonly deadAfterPeriods?: number;
}

/** `dead`: close it as broken; `ping`: send a heartbeat (we said nothing for a period). */
export function livenessOf(input: LivenessInput): Liveness {
  const periods = input.deadAfterPeriods ?? DEAD_AFTER_PERIODS;
  if (input.now - input.lastHeardAt >= periods * input.periodMs) return 'dead';
  if (input.now - input.lastSentAt >= input.periodMs) return 'ping';
  return 'alive';
}
