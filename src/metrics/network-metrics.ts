import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PeerEvent, ReasonCode } from '../peer/events.js';

/** Every metric name starts with this, so one peer's series never collide with a host's. */
export const METRIC_PREFIX = 'naive_peer_';

/**
 * The `reason` label's values: the peer's stable codes (`src/core/reasons.ts`; a Record, so a new
 * code must be added here to compile), plus `unclassified` for an event that carries none.
 * Anything else is folded into `unclassified`: the label's cardinality is fixed whatever a peer
 * reports.
 */
const CODES: Readonly<Record<ReasonCode, true>> = {
  STOPPING: true,
  GOODBYE: true,
  CLOSED_BY_PEER: true,
  SOCKET_ERROR: true,
  LOCAL_SHORTAGE: true,
  CONNECT_TIMEOUT: true,
  HANDSHAKE_TIMEOUT: true,
  HANDSHAKE_LIMIT: true,
  INVALID_MESSAGE: true,
  PROTOCOL_VIOLATION: true,
  NOT_READING: true,
  SELF: true,
  DUPLICATE: true,
  ADDRESS_TAKEN: true,
  OWN_ADDRESS: true,
  PROOF_TIMEOUT: true,
  PROOF_FAILED: true,
  PROOF_QUEUE_FULL: true,
  CLAIMANT_LEFT: true,
  PROBE_DONE: true,
  IDLE_NON_LINK: true,
  BROKEN_ON_PURPOSE: true,
  HEARTBEAT_TIMEOUT: true,
  BAD_ADDRESS: true,
  OVERLAY_ORIGINAL_PEER: true,
  OVERLAY_FULL_MESH_PEER: true,
  OVERLAY_VIEW_CHANGE: true,
  DIAL_QUEUE_FULL: true,
  INTERNAL: true,
};
export const UNCLASSIFIED = 'unclassified';

/** Codes meaning a claimed address was not proven. */
const PROOF_FAILURES: ReadonlySet<string> = new Set<ReasonCode>(['PROOF_TIMEOUT', 'PROOF_FAILED']);

/**
 * Gossip delivery latency buckets, in seconds: loopback deliveries take 0.1-10 ms (the README's
 * latency table), a loaded or overlay network up to seconds.
 */
const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** Dial-back proofs: 1-10 ms when idle, 40-200 ms while a mesh of 20-50 forms (README). */
const PROOF_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface NetworkMetricsOptions {
  /** Label every series by peer (`peer="127.0.0.1:8080"`); default: one series for all peers. */
  readonly perPeer?: boolean;
  /** Registry to register in (a test may pass its own); default: a new one. */
  readonly registry?: Registry;
  /**
   * Whether the host sees both ends of a delivery, so the gossip latency histogram means something
   * (the emulator); a lone peer sees only receipts, and exports no empty histogram.
   */
  readonly latency?: boolean;
}

export function reasonLabel(code: string | undefined): string {
  return code !== undefined && Object.hasOwn(CODES, code) ? code : UNCLASSIFIED;
}

/**
 * The Prometheus metrics of one or many peers, derived from their `PeerEvent` streams (and, for
 * bytes, from whatever meters the host's sockets). Peers are told apart by a name the host gives
 * (their advertised address); without `perPeer` every series sums over them.
 */
export class NetworkMetrics {
  readonly registry: Registry;
  readonly #perPeer: boolean;
  /** Per peer: linked address -> connections carrying it (a peer may briefly hold two). */
  readonly #links = new Map<string, Map<string, number>>();
  readonly #linksGauge: Gauge;
  readonly #peersGauge: Gauge;
  readonly #sent: Counter;
  readonly #framesSent: Counter;
  readonly #received: Counter;
  readonly #bytesIn: Counter;
  readonly #bytesOut: Counter;
  readonly #dials: Counter;
  readonly #dialsFailed: Counter;
  readonly #reconnects: Counter;
  readonly #proofsPassed: Counter;
  readonly #proofsFailed: Counter;
  readonly #proofSeconds: Histogram;
  readonly #refused: Counter;
  readonly #disconnects: Counter;
  readonly #latency: Histogram | undefined;

  constructor(options: NetworkMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    this.#perPeer = options.perPeer === true;
    const peer = this.#perPeer ? ['peer'] : [];
    const registers = [this.registry];
    const counter = (name: string, help: string, extra: string[] = []): Counter =>
      new Counter({ name: METRIC_PREFIX + name, help, labelNames: [...peer, ...extra], registers });
    this.#linksGauge = new Gauge({
      name: `${METRIC_PREFIX}links`,
      help: 'Links up (peers linked to; summed over peers, a link counts at both ends)',
      labelNames: peer,
      registers,
    });
    this.#peersGauge = new Gauge({
      name: `${METRIC_PREFIX}peers`,
      help: 'Peers running (listening) in this process',
      labelNames: peer,
      registers,
    });
    this.#sent = counter('messages_sent_total', 'Gossip messages sent (each to every linked peer)');
    this.#framesSent = counter(
      'message_copies_sent_total',
      'Copies of gossip messages sent: one per linked peer per message',
    );
    this.#received = counter('messages_received_total', 'Gossip messages received');
    this.#bytesIn = counter('bytes_received_total', "Bytes read from the peer's TCP sockets");
    this.#bytesOut = counter('bytes_sent_total', "Bytes written to the peer's TCP sockets");
    this.#dials = counter('dials_total', 'Dials that ended: linked, or failed');
    this.#dialsFailed = counter('dials_failed_total', 'Dials that failed', ['reason']);
    this.#reconnects = counter('reconnects_total', 'Links that broke and are being dialed again');
    this.#proofsPassed = counter(
      'proofs_passed_total',
      'Advertised addresses proven, by how the nonce got there: probe (a dial-back connection), dialed-link (a connection dialed anyway), relay (through a peer linked to both)',
      ['by'],
    );
    this.#proofsFailed = counter(
      'proofs_failed_total',
      'Links closed because their advertised address could not be proven',
    );
    this.#proofSeconds = new Histogram({
      name: `${METRIC_PREFIX}proof_duration_seconds`,
      help: 'From the start of a dial-back to the proof of the address',
      labelNames: peer,
      buckets: PROOF_BUCKETS,
      registers,
    });
    this.#refused = counter(
      'connections_refused_total',
      'Incoming connections refused or closed by a limit or a protocol rule, by reason code',
      ['reason'],
    );
    this.#disconnects = counter('disconnects_total', 'Links that went down, by reason code', [
      'reason',
    ]);
    this.#latency =
      options.latency === true
        ? new Histogram({
            name: `${METRIC_PREFIX}gossip_latency_seconds`,
            help: 'From a gossip message sent to its delivery at another peer',
            buckets: LATENCY_BUCKETS,
            registers,
          })
        : undefined;
  }

  #labels(peer: string, extra: Record<string, string> = {}): Record<string, string> {
    return this.#perPeer ? { peer, ...extra } : extra;
  }

  /** Counts one event reported by the peer named `peer`. */
  observe(peer: string, event: PeerEvent): void {
    const labels = this.#labels(peer);
    switch (event.type) {
      case 'listening':
        this.#peersGauge.inc(labels);
        this.#linksGauge.inc(labels, 0);
        return;
      case 'stopped':
        this.#peersGauge.dec(labels);
        return;
      case 'connected': {
        if (event.direction === 'outbound') this.#dials.inc(labels);
        const view = this.#view(peer);
        const count = view.get(event.peer) ?? 0;
        view.set(event.peer, count + 1);
        if (count === 0) this.#linksGauge.inc(labels);
        return;
      }
      case 'disconnected': {
        const reason = reasonLabel(event.code);
        this.#disconnects.inc(this.#labels(peer, { reason }));
        if (event.reconnecting) this.#reconnects.inc(labels);
        if (PROOF_FAILURES.has(event.code ?? '')) this.#proofsFailed.inc(labels);
        const view = this.#view(peer);
        const count = view.get(event.peer);
        if (count === undefined) return;
        if (count > 1) view.set(event.peer, count - 1);
        else {
          view.delete(event.peer);
          this.#linksGauge.dec(labels);
        }
        return;
      }
      case 'address-proven':
        this.#proofsPassed.inc(this.#labels(peer, { by: event.by ?? 'probe' }));
        this.#proofSeconds.observe(labels, event.ms / 1_000);
        return;
      case 'message-sent':
        this.#sent.inc(labels);
        this.#framesSent.inc(labels, event.peers);
        return;
      case 'message-received':
        this.#received.inc(labels);
        return;
      case 'dial-failed':
        this.#dials.inc(labels);
        this.#dialsFailed.inc(this.#labels(peer, { reason: reasonLabel(event.code) }));
        return;
      case 'rejected':
        this.#refused.inc(this.#labels(peer, { reason: reasonLabel(event.code) }));
        if (PROOF_FAILURES.has(event.code ?? '')) this.#proofsFailed.inc(labels);
        return;
      case 'error':
        return;
    }
  }

  /** Adds bytes moved by the sockets of the peer named `peer`. */
  addBytes(peer: string, bytesIn: number, bytesOut: number): void {
    const labels = this.#labels(peer);
    if (bytesIn > 0) this.#bytesIn.inc(labels, bytesIn);
    if (bytesOut > 0) this.#bytesOut.inc(labels, bytesOut);
  }

  /** One gossip delivery's latency, where the host sees both the send and the receipt. */
  observeLatency(ms: number): void {
    this.#latency?.observe(Math.max(0, ms) / 1_000);
  }

  /** The Prometheus text exposition of every metric. */
  expose(): Promise<string> {
    return this.registry.metrics();
  }

  #view(peer: string): Map<string, number> {
    let view = this.#links.get(peer);
    if (view === undefined) {
      view = new Map();
      this.#links.set(peer, view);
    }
    return view;
  }
}
