import { randomInt } from 'node:crypto';
import { isLegacyKey } from '../core/links.js';
import type { CoreOutput, TimerKey } from '../core/machine.js';
import { GOSSIP_TIMER, type MeshEvent, MeshExchange } from '../core/mesh-exchange.js';
import type { PeerTable } from '../core/peer-table.js';
import { type Reason, reason } from '../core/reasons.js';
import { createRng } from '../core/rng.js';
import { encodeMessage, Feature, type Message } from '../protocol/messages.js';
import { now } from './clock.js';
import type { Connection } from './connection.js';
import type { PeerEventInit } from './events.js';
import type { ResolvedPeerOptions } from './options.js';

export interface MeshDriverHost {
  readonly table: PeerTable<Connection>;
  running(): boolean;
  emit(event: PeerEventInit): void;
  /** Dials an address the core heard of (self-checks, dedup and backoff are the dialer's). */
  learn(address: string, via?: string): void;
  /** Our advertised address (known once listening). */
  advertised(): string;
}

/**
 * Runs the full-mesh core (`core/mesh-exchange.ts`) on the links of the peer table: feeds it
 * trusted links and their messages, and carries out what it returns (frames on sockets, dials,
 * Node timers, events).
 */
export class MeshDriver {
  readonly core: MeshExchange;
  readonly #timers = new Map<TimerKey, NodeJS.Timeout>();

  constructor(
    options: ResolvedPeerOptions,
    private readonly host: MeshDriverHost,
  ) {
    this.core = new MeshExchange(
      {
        periodMs: options.periodMs,
        firstGossipMs: options.firstGossipMs,
        addressBudget: options.limits.addressBudget,
        self: () => host.advertised(),
        introductionWaitMs: options.limits.introductionWaitMs,
        introductionBudget: options.limits.introductionBudget,
      },
      // The core's chance (gossip texts) comes from a generator seeded here, its time from now().
      { now, rng: createRng(randomInt(2 ** 32)) },
    );
  }

  start(): void {
    this.#run(this.core.start());
  }

  stop(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  /** Cancels the periodic gossip (see `Peer.pauseGossip`); everything else goes on. */
  pauseGossip(): void {
    clearTimeout(this.#timers.get(GOSSIP_TIMER));
    this.#timers.delete(GOSSIP_TIMER);
  }

  broadcast(text: string): void {
    this.#run(this.core.handle({ kind: 'broadcast', id: text, payload: text }));
  }

  /** A message from the trusted link of `connection`'s node. */
  message(connection: Connection, message: Message): void {
    const link = this.host.table.of(connection);
    if (link === undefined) return;
    const from = { id: link.key, address: link.address };
    this.#run(this.core.handle({ kind: 'message', from, message }));
  }

  /** The link of `connection` is trusted now. */
  peerUp(connection: Connection): void {
    const link = this.host.table.of(connection);
    if (link === undefined) return;
    const peer = { id: link.key, address: link.address };
    const { direction } = connection;
    const features = link.connection.identity?.features ?? new Set<string>();
    this.#run(this.core.handle({ kind: 'peer-up', peer, direction, features }));
  }

  peerDown(key: string, why: Reason): void {
    this.#run(this.core.handle({ kind: 'peer-down', peer: key, reason: why.message }));
  }

  #run(outputs: CoreOutput<Message, MeshEvent>[]): void {
    const { host } = this;
    // One gossip text goes to every peer: encode it once.
    let last: { message: Message; frame: Buffer } | undefined;
    for (const output of outputs) {
      switch (output.kind) {
        case 'send': {
          const link = host.table.get(output.to.id);
          if (link === undefined) break;
          const { message } = output;
          if (message.type === 'known_peers') {
            // Beyond the handshake reply, lists go to peers that take them: ours with `exchange`,
            // and peers of the original, which act on a list whenever it comes. Our identity rode
            // on our `public_address` or our handshake reply already: a list does not repeat it
            // (about 110 bytes a list: 1,061 to 872 bytes of lists per link in a mesh of 20).
            const identity = link.connection.identity;
            if (identity?.nodeId === undefined || identity.features.has(Feature.exchange)) {
              link.connection.send(message);
            }
            break;
          }
          if (last?.message !== message) last = { message, frame: encodeMessage(message) };
          link.connection.write(last.frame);
          break;
        }
        case 'dial': {
          // A peer of the original cannot vouch for us: only a node id of ours is named.
          const via = output.via?.id;
          host.learn(output.address, via === undefined || isLegacyKey(via) ? undefined : via);
          break;
        }
        case 'disconnect':
          host.table.get(output.peer)?.connection.close(reason('GOODBYE', output.reason));
          break;
        case 'set-timer': {
          clearTimeout(this.#timers.get(output.key));
          const key = output.key;
          const fire = () => {
            this.#timers.delete(key);
            if (host.running()) this.#run(this.core.handle({ kind: 'timer', key }));
          };
          this.#timers.set(key, setTimeout(fire, output.afterMs));
          break;
        }
        case 'cancel-timer':
          clearTimeout(this.#timers.get(output.key));
          this.#timers.delete(output.key);
          break;
        case 'event':
          // Dropped addresses are the core's report for the simulator; the console has no line.
          if (output.event.type !== 'addresses-dropped') host.emit(output.event);
          break;
      }
    }
  }
}
