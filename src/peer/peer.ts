import { randomBytes } from 'node:crypto';
import { connect, type Server, type Socket } from 'node:net';
import { formatHostPort, type HostPort, parseHostPort } from '../protocol/address.js';
import { encodeMessage, Feature, type Identity, type Message } from '../protocol/messages.js';
import { now } from './clock.js';
import { Connection, isLocalShortage, type RemoteIdentity } from './connection.js';
import { Dialer, type DialOutcome } from './dialer.js';
import { Emitter, type PeerEvent, type PeerEventInit } from './events.js';
import { randomGossipText } from './gossip.js';
import { HandshakeGate } from './handshake-gate.js';
import { DEFAULT_LIMITS, type PeerLimits } from './limits.js';
import { ListenError, listen } from './listen.js';
import {
  closesDuplicate,
  type Link,
  type LinkView,
  PeerTable,
  preferredConnection,
} from './peer-table.js';
import { AddressProver } from './prover.js';
import { isSelfAddress } from './self.js';

export interface PeerOptions {
  /** TCP port to listen on; 0 lets the system pick one. Default 8080, as the original. */
  readonly port?: number;
  /** Interface to bind; the original binds every IPv4 interface. */
  readonly bindHost?: string;
  /** Host sent to peers as ours (`--address`). */
  readonly advertisedHost?: string;
  /** `host:port` of the peer to join through (`--connect`). */
  readonly connect?: string;
  /** Gossip period in milliseconds. */
  readonly periodMs?: number;
  /**
   * Delay before the first gossip, then every period. Default: one period, as the original. Hosts
   * that start many peers at one instant spread them over the period, as peers started
   * independently would be.
   */
  readonly firstGossipMs?: number;
  /** Our node id: 32 random hex characters unless given. */
  readonly nodeId?: string;
  readonly limits?: Partial<PeerLimits>;
  /**
   * Prove the address each inbound peer claims before passing it on (default true). False trusts
   * every claim, as the original does: a knob for measuring what the proofs cost.
   */
  readonly proveAddresses?: boolean;
}

export type { LinkView };
export { ListenError };

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

const FEATURES = [Feature.exchange, Feature.goodbye, Feature.proof];

/**
 * One gossip peer. It listens, joins through its `--connect` peer, exchanges peer lists until it
 * has a link to every peer it has heard of (one link per remote peer, whoever dialed), gossips a
 * random text to all of them every period, and reports everything through `events`.
 *
 * It knows nothing of consoles, processes or worker threads: hosts subscribe to `events`.
 */
export class Peer {
  readonly events = new Emitter<PeerEvent>();
  readonly nodeId: string;
  readonly #limits: PeerLimits;
  readonly #options: PeerOptions;
  readonly #table = new PeerTable();
  readonly #connections = new Set<Connection>();
  /** Inbound connections that have not announced themselves yet. */
  readonly #handshaking = new Set<Connection>();
  readonly #gate: HandshakeGate;
  /** Outbound dials waiting for their connection to be identified. */
  readonly #pendingDials = new Map<Connection, (outcome: DialOutcome) => void>();
  /** Addresses that turned out to be this peer under another name. */
  readonly #selfAliases = new Set<string>();
  readonly #dialer: Dialer;
  readonly #prover: AddressProver;
  /** Inbound connections waiting for their proof before they may replace a link, by link key. */
  readonly #candidates = new Map<string, Connection>();
  /** For an inbound connection: the step of the proof sequence its known_peers reply covered. */
  readonly #repliedSeq = new WeakMap<Connection, number>();
  #server: Server | undefined;
  #gossipTimer: NodeJS.Timeout | undefined;
  #advertised = '';
  #port = 0;
  #state: State = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: PeerOptions = {}) {
    this.#options = options;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.nodeId = options.nodeId ?? randomBytes(16).toString('hex');
    this.#dialer = new Dialer({
      attempt: (address) => this.#dial(address),
      failed: (peer, reason, retryInMs) =>
        this.#emit({
          type: 'dial-failed',
          peer,
          reason,
          ...(retryInMs === undefined ? {} : { retryInMs }),
        }),
      maxConcurrent: this.#limits.maxConcurrentDials,
      maxQueued: this.#limits.maxQueuedDials,
    });
    this.#gate = new HandshakeGate(
      this.#limits.maxPendingHandshakes,
      this.#limits.maxPendingHandshakesPerIp,
    );
    this.#prover = new AddressProver({
      hello: () => ({ address: this.#advertised, ...this.#identity() }),
      timeoutMs: this.#limits.proofTimeoutMs,
      legacyGraceMs: this.#limits.legacyReplyGraceMs,
      maxConcurrent: this.#limits.maxConcurrentProofs,
      maxQueued: this.#limits.maxQueuedProofs,
    });
  }

  /** The address we announce to peers (`--address` and the listening port). */
  get advertised(): string {
    return this.#advertised;
  }

  get port(): number {
    return this.#port;
  }

  /** This peer's view: the address of every peer it has a link to, sorted. */
  get peers(): string[] {
    return this.#table.addresses();
  }

  get links(): LinkView[] {
    return this.#table.views();
  }

  /** Binds the port, then starts joining and gossiping. Rejects with ListenError. */
  start(): Promise<void> {
    if (this.#state !== 'new') return Promise.reject(new Error(`peer already ${this.#state}`));
    this.#state = 'starting';
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const bindHost = this.#options.bindHost ?? '0.0.0.0';
    const port = this.#options.port ?? 8080;
    let server: Server;
    try {
      server = await listen(bindHost, port, (socket) => this.#accept(socket));
    } catch (error) {
      this.#state = 'stopped';
      throw error;
    }
    this.#server = server;
    // After listening, a server error (rare: e.g. EMFILE on accept) must not crash the host.
    server.on('error', (error) =>
      this.#emit({ type: 'error', message: `listening socket: ${error.message}` }),
    );
    const address = server.address();
    this.#port = typeof address === 'object' && address !== null ? address.port : 0;
    this.#advertised = formatHostPort({
      host: this.#options.advertisedHost ?? '127.0.0.1',
      port: this.#port,
    });
    this.#state = 'running';
    this.#emit({
      type: 'listening',
      bound: formatHostPort({ host: bindHost, port: this.#port }),
      advertised: this.#advertised,
      nodeId: this.nodeId,
    });
    const period = this.#options.periodMs ?? 2_000;
    const first = this.#options.firstGossipMs ?? period;
    this.#gossipTimer = setTimeout(() => {
      this.#gossipTimer = setInterval(() => this.gossip(), period);
      this.gossip();
    }, first);
    if (this.#options.connect !== undefined) this.#learn(this.#options.connect, true);
  }

  /** Sends one gossip text to every linked peer now (the timer calls this every period). */
  gossip(text = randomGossipText()): void {
    if (this.#state !== 'running') return;
    const frame = encodeMessage({ type: 'random_message', text });
    for (const link of this.#table.values()) link.connection.write(frame);
    this.#emit({ type: 'message-sent', text, peers: this.#table.size });
  }

  /** Joins the network through `address`, as `--connect` does at start (retried until it answers). */
  join(address: string): void {
    this.#learn(address, true);
  }

  /**
   * Breaks the link to `peer` as a network failure would: the socket is destroyed with no goodbye,
   * so both ends see a broken link and reconnect. For tests and for the emulator's fault injection.
   * Returns false when there is no such link.
   */
  breakLink(peer: string): boolean {
    const link = this.#table.at(peer);
    if (link === undefined) return false;
    link.connection.socket.destroy(new Error('link broken on purpose'));
    return true;
  }

  /** Says goodbye to the peers that understand it, closes every socket and timer. Idempotent. */
  async stop(): Promise<void> {
    // A stop that arrives while the port is being bound waits for the bind, then undoes it.
    if (this.#state === 'starting') await this.#starting?.catch(() => undefined);
    if (this.#stopping !== undefined) return this.#stopping;
    if (this.#state === 'stopped') return;
    this.#stopping = this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const wasRunning = this.#state === 'running';
    this.#state = 'stopping';
    // One handle: the first-gossip timeout, then the interval (clearTimeout clears either).
    clearTimeout(this.#gossipTimer);
    this.#dialer.stop();
    this.#prover.stop();
    const closed = [...this.#connections].map(
      (c) =>
        new Promise<void>((resolve) =>
          c.socket.destroyed ? resolve() : c.socket.once('close', () => resolve()),
        ),
    );
    for (const connection of this.#connections) {
      if (connection.identity?.features.has(Feature.goodbye)) connection.send({ type: 'goodbye' });
      connection.close('this peer is stopping');
    }
    const grace = setTimeout(() => {
      for (const connection of this.#connections) connection.destroy('this peer is stopping');
    }, this.#limits.stopGraceMs);
    await Promise.all(closed);
    clearTimeout(grace);
    await new Promise<void>((resolve) =>
      this.#server?.listening ? this.#server.close(() => resolve()) : resolve(),
    );
    this.#state = 'stopped';
    if (wasRunning) this.#emit({ type: 'stopped' });
  }

  #emit(event: PeerEventInit): void {
    this.events.emit({ ...event, at: now() } as PeerEvent);
  }

  #identity(): Identity {
    return { nodeId: this.nodeId, features: FEATURES };
  }

  #track(socket: Socket, direction: 'inbound' | 'outbound', remote?: string): Connection {
    const connection = new Connection(
      socket,
      direction,
      {
        message: (c, m) => this.#onMessage(c, m),
        // A linked peer's violation is reported by its 'disconnected' event (with this reason), a
        // dial's by its 'dial-failed'; an inbound stranger's would go unreported without this.
        invalid: (c, reason) =>
          c.direction === 'inbound' && c.identity === undefined
            ? this.#reject(c, reason)
            : c.destroy(reason),
        close: (c, reason) => this.#onClose(c, reason),
      },
      remote,
    );
    this.#connections.add(connection);
    return connection;
  }

  // ---- joining: which addresses to dial -------------------------------------------------------

  /** Dials an address heard of (from `--connect` or a peer list) unless it is us or linked. */
  #learn(address: string, bootstrap = false): void {
    if (this.#state !== 'running') return;
    // Fast path: peer lists arrive normalized and mostly name peers we already have or are dialing.
    if (this.#table.at(address) !== undefined || this.#dialer.busy(address)) return;
    const parsed = parseHostPort(address);
    if (!parsed.ok) return;
    const normalized = formatHostPort(parsed.value);
    if (this.#isSelf(parsed.value, normalized)) {
      // A `--connect` that names this peer is a user mistake: say so (once) instead of ignoring it.
      if (bootstrap) {
        this.#emit({ type: 'dial-failed', peer: address, reason: 'that address is this peer' });
      }
      return;
    }
    if (this.#table.at(normalized) !== undefined) return;
    this.#dialer.want(
      normalized,
      bootstrap ? this.#limits.bootstrapBackoff : this.#limits.dialBackoff,
    );
  }

  #isSelf(hostPort: HostPort, normalized: string): boolean {
    return (
      normalized === this.#advertised ||
      this.#selfAliases.has(normalized) ||
      isSelfAddress(hostPort, this.#port, this.#options.advertisedHost ?? '127.0.0.1')
    );
  }

  /** One dial attempt; settles when the remote is identified or the attempt fails. */
  #dial(address: string): Promise<DialOutcome> {
    if (this.#state !== 'running')
      return Promise.resolve({ ok: false, reason: 'stopping', retry: false });
    if (this.#table.at(address) !== undefined) return Promise.resolve({ ok: true });
    const parsed = parseHostPort(address);
    if (!parsed.ok) return Promise.resolve({ ok: false, reason: parsed.error, retry: false });
    return new Promise((resolve) => {
      const { host, port } = parsed.value;
      const socket = connect({ host, port });
      const connection = this.#track(socket, 'outbound', address);
      this.#pendingDials.set(connection, resolve);
      connection.setDeadline(
        this.#limits.connectTimeoutMs,
        `no answer within ${this.#limits.connectTimeoutMs} ms`,
      );
      socket.once('connect', () => {
        connection.send({ type: 'public_address', address: this.#advertised, ...this.#identity() });
        // A peer of the original replies only when it knows other peers: silence means "connected".
        connection.setDeadline(this.#limits.legacyReplyGraceMs, '', () =>
          this.#identify(connection, { address, features: new Set() }, true),
        );
      });
    });
  }

  #settleDial(connection: Connection, outcome: DialOutcome): void {
    const resolve = this.#pendingDials.get(connection);
    this.#pendingDials.delete(connection);
    resolve?.(outcome);
  }

  // ---- accepting -------------------------------------------------------------------------------

  #accept(socket: Socket): void {
    if (this.#state !== 'running') {
      socket.destroy();
      return;
    }
    const ip = socket.remoteAddress ?? '';
    if (!this.#gate.admit(ip)) {
      socket.destroy();
      const refused = this.#gate.refusalsToReport(now());
      if (refused > 0) {
        this.#emit({
          type: 'rejected',
          remote: ip,
          reason: `refused ${refused} connection${refused === 1 ? '' : 's'}: too many still handshaking`,
        });
      }
      return;
    }
    const connection = this.#track(socket, 'inbound');
    this.#handshaking.add(connection);
    const reason = `no public_address within ${this.#limits.handshakeTimeoutMs} ms`;
    // Reported like any other refused connection (a silent timeout left no trace).
    connection.setDeadline(this.#limits.handshakeTimeoutMs, reason, () =>
      this.#reject(connection, reason),
    );
  }

  /** The connection announced itself, or left: it no longer counts against the handshake limits. */
  #endHandshake(connection: Connection): void {
    if (this.#handshaking.delete(connection))
      this.#gate.release(connection.socket.remoteAddress ?? '');
  }

  // ---- messages --------------------------------------------------------------------------------

  #onMessage(connection: Connection, message: Message): void {
    if (this.#state !== 'running') return;
    const identity = connection.identity;
    switch (message.type) {
      case 'public_address':
        if (connection.direction === 'outbound') {
          this.#reject(connection, 'sent public_address to its dialer');
          return;
        }
        if (identity !== undefined) {
          if (message.address === identity.address) return;
          this.#reject(connection, `re-claimed another address (${message.address})`);
          return;
        }
        this.#onPublicAddress(connection, message);
        return;
      case 'known_peers':
        if (identity === undefined) {
          if (connection.direction === 'inbound') {
            this.#reject(connection, 'sent known_peers before public_address');
            return;
          }
          this.#identify(connection, {
            address: connection.remote,
            ...(message.nodeId === undefined ? {} : { nodeId: message.nodeId }),
            features: new Set(message.features),
          });
        } else if (message.nodeId !== undefined && identity.nodeId === undefined) {
          this.#upgrade(identity.key, message.nodeId, new Set(message.features));
        }
        for (const address of message.peers) this.#learn(address);
        return;
      case 'random_message':
        if (identity === undefined) {
          if (connection.direction === 'inbound') {
            this.#reject(connection, 'sent random_message before public_address');
            return;
          }
          // Only a peer of the original sends gossip before replying.
          this.#identify(connection, {
            address: connection.remote,
            features: new Set(),
          });
        }
        if (connection.identity !== undefined && this.#table.get(connection.identity.key)) {
          this.#emit({
            type: 'message-received',
            peer: this.#linkAddress(connection.identity),
            text: message.text,
          });
        }
        return;
      case 'address_proof':
        this.#prover.confirm(message.nonce, connection);
        return;
      case 'goodbye':
        if (identity !== undefined) {
          const link = this.#table.get(identity.key);
          if (link) for (const alias of link.aliases) this.#dialer.forget(alias);
        }
        connection.close('the peer said goodbye');
        return;
    }
  }

  #onPublicAddress(
    connection: Connection,
    message: Extract<Message, { type: 'public_address' }>,
  ): void {
    this.#endHandshake(connection);
    connection.clearDeadline();
    if (message.probe !== undefined) {
      this.#answerProbe(connection, message.probe, message.nodeId, message.address);
      return;
    }
    const parsed = parseHostPort(message.address);
    if (message.nodeId === undefined && parsed.ok && this.#isSelf(parsed.value, message.address)) {
      this.#reject(connection, `claimed this peer's own address (${message.address})`);
      return;
    }
    let holder = this.#table.keyOf(message.address);
    if (
      holder !== undefined &&
      message.nodeId !== undefined &&
      this.#table.get(holder)?.presumedLegacy
    ) {
      this.#upgrade(holder, message.nodeId, new Set(message.features));
      holder = this.#table.keyOf(message.address);
    }
    if (holder !== undefined && holder !== (message.nodeId ?? `addr:${message.address}`)) {
      this.#reject(connection, `claimed the address of a linked peer (${message.address})`);
      return;
    }
    const isOurs = message.nodeId !== undefined;
    // The original replies with the peers it knows except the newcomer, and only when there are
    // some; peers of ours always get a reply, since it carries our node id.
    const key = message.nodeId ?? `addr:${message.address}`;
    const peers = this.#table.provenAddresses(
      (l) => l.key !== key && !l.aliases.has(message.address),
    );
    if (isOurs || peers.length > 0)
      connection.send({ type: 'known_peers', peers, ...this.#identity() });
    this.#repliedSeq.set(connection, this.#table.provenSeq);
    this.#identify(connection, {
      address: message.address,
      ...(message.nodeId === undefined ? {} : { nodeId: message.nodeId }),
      features: new Set(message.features),
    });
  }

  /**
   * A dial-back probe: someone we claimed an address to checks it. Reply with our node id, and
   * send the nonce back over every connection we have to the prober, so that it arrives on the
   * one that carried our claim.
   */
  #answerProbe(
    connection: Connection,
    nonce: string,
    proberId: string | undefined,
    proberAddress: string,
  ): void {
    connection.send({ type: 'known_peers', peers: [], ...this.#identity() });
    connection.close('probe answered');
    for (const c of this.#connections) {
      const toProber =
        (proberId !== undefined && c.identity?.key === proberId) ||
        (c.identity === undefined && c.direction === 'outbound' && c.remote === proberAddress);
      if (toProber && !c.socket.connecting) c.send({ type: 'address_proof', nonce });
    }
  }

  #linkAddress(identity: RemoteIdentity): string {
    return this.#table.get(identity.key)?.address ?? identity.address;
  }

  #reject(connection: Connection, reason: string): void {
    this.#emit({ type: 'rejected', remote: connection.remote, reason });
    connection.destroy(reason);
  }

  // ---- the peer table --------------------------------------------------------------------------

  /** The remote of `connection` is now known: link it, or settle a duplicate or a self-dial. */
  #identify(
    connection: Connection,
    remote: { address: string; nodeId?: string; features: ReadonlySet<string> },
    presumedLegacy = false,
    silent = false,
  ): void {
    connection.clearDeadline();
    const key = remote.nodeId ?? `addr:${remote.address}`;
    const identity: RemoteIdentity = { key, ...remote };
    connection.identity = identity;
    if (remote.nodeId === this.nodeId) {
      // We reached ourselves under another name: remember it, never dial it again.
      if (connection.direction === 'outbound') {
        this.#selfAliases.add(remote.address);
        this.#settleDial(connection, {
          ok: false,
          reason: 'that address is this peer',
          retry: false,
        });
        connection.close('connected to itself');
      } else {
        // Our own dialing side closes it; bound its life in case the claim was not really ours.
        connection.setDeadline(this.#limits.handshakeTimeoutMs, 'connected to itself');
      }
      return;
    }
    this.#settleDial(connection, { ok: true });
    const existing = this.#table.get(key);
    if (existing === undefined) {
      this.#link(connection, identity, presumedLegacy, silent);
      return;
    }
    this.#table.alias(existing, remote.address);
    this.#dialer.forget(remote.address);
    if (existing.connection === connection) return;
    const keep = preferredConnection(existing.connection, connection, this.nodeId);
    // A node id is public: an inbound claim never displaces a live, proven link before it has
    // proven its own address (two peers dialing each other at once, a reconnect racing the old
    // link's close, or an impostor copying a linked peer). One candidate per link at a time.
    if (
      keep === connection &&
      connection.direction === 'inbound' &&
      existing.provenSeq !== undefined &&
      !existing.connection.closed
    ) {
      if (this.#candidates.has(key)) {
        connection.close('already linked to that node');
      } else {
        this.#proveThenSwitch(existing, connection);
      }
      return;
    }
    this.#switch(existing, keep);
  }

  /** Makes `keep` the link's connection and retires the one it replaces. */
  #switch(link: Link, keep: Connection): void {
    const drop = link.connection;
    if (drop === keep) return;
    link.connection = keep;
    if (closesDuplicate(drop, keep, this.nodeId)) drop.close('duplicate link');
    else drop.setDeadline(this.#limits.supersededGraceMs, 'duplicate link');
    // A connection we dialed proves the address by itself.
    if (keep.direction === 'outbound' && link.provenSeq === undefined) this.#proven(link);
  }

  /**
   * Two connections to one node, ours and one claimed inbound that the tie-break prefers: the
   * claim is proven (by the dial-back) before the link moves to it. If the remote closes our
   * connection meanwhile, as the node with the smaller id does once it holds its own, the
   * candidate takes over at once (`#onClose`), still subject to its proof.
   */
  #proveThenSwitch(link: Link, candidate: Connection): void {
    this.#candidates.set(link.key, candidate);
    const identity = candidate.identity;
    void this.#prover
      .prove({
        address: link.address,
        connection: candidate,
        ...(identity?.nodeId === undefined ? {} : { nodeId: identity.nodeId }),
        answersProbes: identity?.features.has(Feature.proof) ?? false,
      })
      .then((outcome) => {
        if (this.#candidates.get(link.key) === candidate) this.#candidates.delete(link.key);
        if (!outcome.ok) {
          candidate.close(`could not prove it is reachable at ${link.address}: ${outcome.reason}`);
          return;
        }
        const current = this.#table.get(link.key);
        if (this.#state !== 'running' || current === undefined || candidate.closed) return;
        this.#switch(current, candidate);
      });
  }

  #link(
    connection: Connection,
    identity: RemoteIdentity,
    presumedLegacy: boolean,
    silent: boolean,
  ): void {
    const link = this.#table.add(
      connection,
      identity,
      presumedLegacy,
      this.#repliedSeq.get(connection) ?? 0,
    );
    this.#dialer.forget(link.address);
    if (!silent) {
      this.#emit({
        type: 'connected',
        peer: link.address,
        direction: connection.direction,
        ...(identity.nodeId === undefined ? {} : { nodeId: identity.nodeId }),
      });
    }
    if (connection.direction === 'outbound' || this.#options.proveAddresses === false) {
      this.#proven(link);
    } else {
      this.#prove(link);
    }
  }

  /** Dials back the address an inbound peer claimed; closes its link if the proof fails. */
  #prove(link: Link): void {
    const { connection } = link;
    const identity = connection.identity;
    if (identity === undefined) return;
    void this.#prover
      .prove({
        address: link.address,
        connection,
        ...(identity.nodeId === undefined ? {} : { nodeId: identity.nodeId }),
        answersProbes: identity.features.has(Feature.proof),
      })
      .then((outcome) => {
        if (this.#state !== 'running' || this.#table.get(link.key) !== link) return;
        if (link.provenSeq !== undefined) return;
        if (outcome.ok) {
          this.#proven(link);
          this.#emit({ type: 'address-proven', peer: link.address, ms: outcome.ms });
        } else if (link.connection === connection) {
          connection.close(`could not prove it is reachable at ${link.address}: ${outcome.reason}`);
        }
      });
  }

  /**
   * The link's address is proven: from now on we pass it on. Both ends of every link tell each
   * other the proven peers they know (the acceptor's half is the original's known_peers reply), and
   * a proof tells the peer whatever was proven since: so any two peers with a common neighbour end
   * up linked, whatever order the links formed and were proven in.
   */
  #proven(link: Link): void {
    const news = this.#table.prove(link);
    if (news.length > 0 && link.connection.identity?.features.has(Feature.exchange)) {
      link.connection.send({ type: 'known_peers', peers: news, ...this.#identity() });
    }
  }

  /**
   * A link taken for a peer of the original turned out to be one of ours (its reply came after the
   * grace period): file it under its node id, merging it with a link already there, without
   * telling observers anything, since the same peer stays connected at the same address.
   */
  #upgrade(key: string, nodeId: string, features: ReadonlySet<string>): void {
    const link = this.#table.get(key);
    if (link === undefined || !link.presumedLegacy) return;
    this.#table.remove(link);
    this.#identify(link.connection, { address: link.address, nodeId, features }, false, true);
  }

  #onClose(connection: Connection, reason: string): void {
    this.#connections.delete(connection);
    this.#endHandshake(connection);
    if (this.#pendingDials.has(connection)) {
      this.#settleDial(connection, {
        ok: false,
        reason,
        retry: true,
        local: isLocalShortage(reason),
      });
      return;
    }
    const key = connection.identity?.key;
    const link = key === undefined ? undefined : this.#table.get(key);
    if (link === undefined || link.connection !== connection) return;
    const candidate = key === undefined ? undefined : this.#candidates.get(key);
    if (candidate !== undefined && !candidate.closed && this.#state === 'running') {
      // The other end kept its own connection (our candidate): carry on over it, silently.
      link.connection = candidate;
      return;
    }
    this.#table.remove(link);
    if (this.#state !== 'running') return;
    // A link closed on purpose (by either side's goodbye, a violation, a duplicate) stays closed;
    // one that broke is dialed again, and whichever end gets through first keeps the link.
    const reconnecting = !connection.closedLocally && link.provenSeq !== undefined;
    this.#emit({ type: 'disconnected', peer: link.address, reason, reconnecting });
    if (reconnecting) this.#dialer.want(link.address, this.#limits.reconnectBackoff);
  }
}
