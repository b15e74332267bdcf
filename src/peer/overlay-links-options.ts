import type { CoreInput, NodeRef } from '../core/machine.js';
import type { Message } from '../protocol/messages.js';
import type { PeerEventInit } from './events.js';
import type { PeerLimits } from './limits.js';
import type { LinkShaping } from './shaping.js';

/** What `OverlayLinks` is given: who we are, the limits, and where frames and link changes go. */
export interface OverlayLinksOptions<M> {
  readonly self: NodeRef;
  readonly port: number;
  readonly advertisedHost: string;
  readonly limits: PeerLimits;
  readonly proveAddresses: boolean;
  /** The overlay's feature: only peers announcing it are linked. */
  readonly feature: string;
  /** Emit `connected` / `disconnected` for every link (false: the core reports its links). */
  readonly reportLinks: boolean;
  /** Link shaping between us and every socket (emulate's latency, loss, partitions), if any. */
  readonly shaping?: LinkShaping;
  encode(message: M): Message;
  decode(message: Message): M | undefined;
  emit(event: PeerEventInit): void;
  /** Where link changes and messages go: the protocol core. */
  input(input: CoreInput<M>): void;
}
