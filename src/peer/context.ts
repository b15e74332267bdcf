import type { Socket } from 'node:net';
import type { PeerTable } from '../core/peer-table.js';
import type { Reason } from '../core/reasons.js';
import type { Identity } from '../protocol/messages.js';
import type { Arbiter } from './arbiter.js';
import type { Connection } from './connection.js';
import type { Dialer } from './dialer.js';
import type { PeerEventInit } from './events.js';
import type { Inbound } from './inbound.js';
import type { MeshDriver } from './mesh-driver.js';
import type { ResolvedPeerOptions } from './options.js';
import type { Outbound } from './outbound.js';
import type { AddressProver } from './prover.js';

/**
 * What the parts of the TCP driver share: the peer's settings and tables, and each other. `Peer`
 * builds it once; each part (inbound, outbound, arbiter) holds it and calls the others through it.
 */
export interface PeerContext {
  readonly nodeId: string;
  readonly options: ResolvedPeerOptions;
  readonly table: PeerTable<Connection>;
  readonly connections: Set<Connection>;
  readonly dialer: Dialer;
  readonly prover: AddressProver;
  readonly mesh: MeshDriver;
  readonly inbound: Inbound;
  readonly outbound: Outbound;
  readonly arbiter: Arbiter;
  running(): boolean;
  advertised(): string;
  port(): number;
  identity(): Identity;
  emit(event: PeerEventInit): void;
  /** Wraps a socket in a Connection whose frames and close reach the driver. */
  track(socket: Socket, direction: 'inbound' | 'outbound', remote?: string): Connection;
  /** Reports a refused connection and destroys it. */
  reject(connection: Connection, why: Reason): void;
}
