/**
 * One overlay core driven by hand: a test feeds inputs, reads the outputs, and moves a manual clock.
 * Refs are numbered: `ref(7)` is node id 00000007 at 10.0.0.7:7000.
 */
import type { CoreInput, NodeRef } from '../../src/core/machine.js';
import { OverlayCore, type OverlayOptions, type OverlayOutput } from '../../src/core/overlay.js';
import { createRng } from '../../src/core/rng.js';
import type { OverlayMessage, OverlayMessageType } from '../../src/protocol/overlay-messages.js';

export function ref(n: number): NodeRef {
  return { id: n.toString(16).padStart(8, '0'), address: `10.0.${n >> 8}.${n & 255}:7000` };
}

export type Sent<T extends OverlayMessageType = OverlayMessageType> = {
  readonly to: NodeRef;
  readonly message: Extract<OverlayMessage, { type: T }>;
};

export class Probe {
  now = 0;
  readonly core: OverlayCore;
  /** Timers armed and not cancelled or fired, with when they come due. */
  readonly timers = new Map<string, number>();

  constructor(
    readonly self: NodeRef = ref(0),
    options: Partial<OverlayOptions> = {},
    seed = 1,
  ) {
    this.core = new OverlayCore(self, { now: () => this.now, rng: createRng(seed) }, options);
  }

  feed(input: CoreInput<OverlayMessage>): OverlayOutput[] {
    const outputs = this.core.handle(input);
    for (const output of outputs) {
      if (output.kind === 'set-timer') this.timers.set(output.key, this.now + output.afterMs);
      if (output.kind === 'cancel-timer') this.timers.delete(output.key);
    }
    return outputs;
  }

  up(peer: NodeRef, direction: 'inbound' | 'outbound' = 'inbound'): OverlayOutput[] {
    return this.feed({ kind: 'peer-up', peer, direction });
  }

  down(peer: NodeRef): OverlayOutput[] {
    return this.feed({ kind: 'peer-down', peer: peer.id, reason: 'closed' });
  }

  from(peer: NodeRef, message: OverlayMessage): OverlayOutput[] {
    return this.feed({ kind: 'message', from: peer, message });
  }

  /** Fires the timer `key` (which must be armed) after moving the clock to its due time. */
  fire(key: string): OverlayOutput[] {
    const due = this.timers.get(key);
    if (due === undefined) throw new Error(`timer ${key} is not armed`);
    this.now = Math.max(this.now, due);
    this.timers.delete(key);
    return this.feed({ kind: 'timer', key });
  }

  /** Makes `peer` a neighbor the way a newcomer becomes one: connection up, then `hv_join`. */
  neighbor(peer: NodeRef): OverlayOutput[] {
    return [...this.up(peer), ...this.from(peer, { type: 'hv_join' })];
  }

  activeIds(): string[] {
    return this.core.activeView.map((r) => r.id).sort();
  }

  passiveIds(): string[] {
    return this.core.passiveView.map((r) => r.id).sort();
  }
}

/** The `send` outputs, optionally of one message type. */
export function sends<T extends OverlayMessageType>(
  outputs: readonly OverlayOutput[],
  type?: T,
): Sent<T>[] {
  const found: Sent<T>[] = [];
  for (const output of outputs) {
    if (output.kind !== 'send') continue;
    if (type !== undefined && output.message.type !== type) continue;
    found.push({ to: output.to, message: output.message as Extract<OverlayMessage, { type: T }> });
  }
  return found;
}

export function events(outputs: readonly OverlayOutput[], type: string): OverlayOutput[] {
  return outputs.filter((o) => o.kind === 'event' && o.event.type === type);
}
