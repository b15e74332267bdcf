/** Connections refused over the handshake limits are reported at most this often. */
export const REFUSAL_REPORT_INTERVAL_MS = 1_000;

/**
 * Admits inbound connections to the handshake while fewer than `maxTotal` are handshaking, and
 * fewer than `maxPerIp` from the same remote IP; counts the refused ones, so that a flood can be
 * reported without flooding the log in turn.
 */
export class HandshakeGate {
  readonly #byIp = new Map<string, number>();
  #total = 0;
  #refused = 0;
  #reportedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerIp: number,
  ) {}

  /** Takes a handshake slot for `ip`; false when a limit is reached (the connection is refused). */
  admit(ip: string): boolean {
    const fromIp = this.#byIp.get(ip) ?? 0;
    if (this.#total >= this.maxTotal || fromIp >= this.maxPerIp) {
      this.#refused++;
      return false;
    }
    this.#byIp.set(ip, fromIp + 1);
    this.#total++;
    return true;
  }

  /** Gives back the slot of a connection that announced itself or left. */
  release(ip: string): void {
    const left = (this.#byIp.get(ip) ?? 0) - 1;
    if (left < 0) return;
    if (left > 0) this.#byIp.set(ip, left);
    else this.#byIp.delete(ip);
    this.#total--;
  }

  /** Refusals since the last report, when one is due at `now` (at most one a second); else 0. */
  refusalsToReport(now: number): number {
    if (this.#refused === 0 || now - this.#reportedAt < REFUSAL_REPORT_INTERVAL_MS) return 0;
    this.#reportedAt = now;
    const count = this.#refused;
    this.#refused = 0;
    return count;
  }
}
