import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { type Reason, reason } from '../core/reasons.js';
import { parseHostPort } from '../protocol/address.js';
import type { Identity, Message } from '../protocol/messages.js';
import { Connection } from './connection.js';
import type { ProofRoute } from './events.js';

/** Who claimed an address, over which connection. */
export interface Claim {
  readonly address: string;
  /** The link the claim came over: a proof counts only when it arrives on this connection. */
  readonly connection: Connection;
  /** The claimant's node id; undefined for a peer of the original. */
  readonly nodeId?: string;
  /** Whether the claimant answers probes with `address_proof` (our `proof` feature). */
  readonly answersProbes: boolean;
  /**
   * Whether a relay's word may prove it: not where the claim would decide a conflict (a node id
   * or an address we already hold), which only our own dial-back settles.
   */
  readonly relayable?: boolean;
}

export type ProofOutcome = { ok: true; ms: number; by: ProofRoute } | { ok: false; reason: Reason };

export interface ProverOptions {
  /** The `public_address` we send on a probe (our address and identity); the nonce is added. */
  hello(): { address: string } & Identity;
  /** A proof not completed by then fails; the claimant's link is then closed. */
  readonly timeoutMs: number;
  /** A peer of the original says nothing when it knows nobody: silence this long counts as "it is there". */
  readonly legacyGraceMs: number;
  /** Probes dialed at once; more claims wait in line. */
  readonly maxConcurrent: number;
  /** Claims waiting in line; beyond it a claim fails at once (bounded work for a hostile flood). */
  readonly maxQueued: number;
  /** A nonce sent through a `via` channel with no echo by then gets a probe connection too. */
  readonly channelFallbackMs: number;
  /**
   * A way to get the nonce to the claimed address over a connection we hold anyway, instead of a
   * probe connection; undefined: dial a probe.
   */
  via?(claim: Claim): ProofChannel | undefined;
}

/** A way to carry a proof's nonce toward the claimed address. */
export interface ProofChannel {
  readonly route: Exclude<ProofRoute, 'probe'>;
  send(nonce: string): void;
  /**
   * The connection that carries it when it is one we dialed to the claimed address: one still
   * connecting sends the nonce once connected, and its close means "dial a probe". A relay's link
   * carries many proofs and is not watched: the fallback timer covers a relay that does not answer.
   */
  readonly dialed?: Connection;
}

interface Pending {
  readonly claim: Claim;
  readonly started: number;
  readonly settle: (outcome: ProofOutcome) => void;
  /** Passed: by the probe connection once one was dialed, else by the channel's route. */
  readonly passed: () => void;
  probe?: Connection;
  /** A re-dial waiting out a local shortage of sockets. */
  retry?: NodeJS.Timeout;
}

const STOPPING = reason('STOPPING', 'stopping');
const CLAIMANT_LEFT = reason('CLAIMANT_LEFT', 'the claimant left');
const PROBE_DONE = reason('PROBE_DONE', 'probe done');

/** Pause before a probe that failed for a local shortage of sockets is dialed again. */
const LOCAL_SHORTAGE_RETRY_MS = 250;

/**
 * Proves claimed addresses by dialing back (in the spirit of libp2p AutoNAT's dial-back): we dial
 * the claimed address and send a nonce there; the node that listens there sends the nonce back over
 * its own link to us. Only the claimant can do that over the claim's connection, so a proof shows
 * the claimant really is reachable at the address it advertises. A peer of the original cannot
 * send proofs: for it, the probe only checks that something speaking the original protocol (no
 * node id of ours) listens at the address.
 */
export class AddressProver {
  readonly #pending = new Map<string, Pending>();
  readonly #queue: Array<() => void> = [];
  #running = 0;
  #stopped = false;

  constructor(private readonly options: ProverOptions) {}

  prove(claim: Claim): Promise<ProofOutcome> {
    if (this.#stopped) return Promise.resolve({ ok: false, reason: STOPPING });
    if (this.#queue.length >= this.options.maxQueued) {
      return Promise.resolve({
        ok: false,
        reason: reason('PROOF_QUEUE_FULL', 'too many addresses waiting for a proof'),
      });
    }
    return new Promise((resolve) => {
      const start = () => {
        this.#running++;
        this.#probe(claim, (outcome) => {
          this.#running--;
          resolve(outcome);
          this.#queue.shift()?.();
        });
      };
      if (this.#running < this.options.maxConcurrent) start();
      else this.#queue.push(start);
    });
  }

  /** An `address_proof` arrived on `from`: completes the proof whose nonce it carries, if `from` made that claim. */
  confirm(nonce: string, from: Connection): void {
    const pending = this.#pending.get(nonce);
    if (pending === undefined || pending.claim.connection !== from) return;
    pending.passed();
  }

  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
    for (const pending of [...this.#pending.values()]) {
      // Destroyed, not ended: a stopping peer leaves no probe socket or timer behind.
      pending.probe?.destroy(STOPPING);
      pending.settle({ ok: false, reason: STOPPING });
    }
  }

  #probe(claim: Claim, done: (outcome: ProofOutcome) => void): void {
    const target = parseHostPort(claim.address);
    if (!target.ok || this.#stopped) {
      done({ ok: false, reason: target.ok ? STOPPING : reason('BAD_ADDRESS', target.error) });
      return;
    }
    // A claim that waited in line while its claimant left needs no dial.
    if (claim.connection.closed) {
      done({ ok: false, reason: CLAIMANT_LEFT });
      return;
    }
    const nonce = randomBytes(16).toString('hex');
    let settled = false;
    const timer = setTimeout(
      () =>
        settle({
          ok: false,
          reason: reason('PROOF_TIMEOUT', `no proof within ${this.options.timeoutMs} ms`),
        }),
      this.options.timeoutMs,
    );
    const settle = (outcome: ProofOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      claim.connection.socket.off('close', onClaimantGone);
      this.#pending.delete(nonce);
      clearTimeout(pending.retry);
      pending.probe?.close(PROBE_DONE);
      channel?.dialed?.socket.off('connect', sendInline);
      channel?.dialed?.socket.off('close', onChannelGone);
      done(outcome);
    };
    const proven = () => {
      const by = dialed || channel === undefined ? 'probe' : channel.route;
      settle({ ok: true, ms: performance.now() - pending.started, by });
    };
    const pending: Pending = { claim, started: performance.now(), settle, passed: proven };
    this.#pending.set(nonce, pending);
    // A claim whose connection closes needs no proof any more.
    const onClaimantGone = () => settle({ ok: false, reason: CLAIMANT_LEFT });
    claim.connection.socket.once('close', onClaimantGone);

    const dial = (): void => {
      let connected = false;
      const legacy = claim.nodeId === undefined || !claim.answersProbes;
      const probe = new Connection(
        connect({ host: target.value.host, port: target.value.port }),
        'outbound',
        {
          message: (_c, message) => this.#onProbeReply(claim, message, proven, settle),
          invalid: (c, why) => c.destroy(why),
          close: (_c, why) => {
            if (settled) return;
            if (connected) {
              // The original closes a probe that claims an address it already has a peer for
              // (ours: it dialed us), about 20 ms after our frame, without a word: something
              // speaking the original protocol listens there, which is all a legacy claim can
              // show. One of ours closes the probe too, but proves over the claim's link.
              if (legacy) proven();
              return;
            }
            // Out of sockets here says nothing about the claimant: try again shortly.
            if (why.code === 'LOCAL_SHORTAGE') this.#later(pending, dial);
            // Otherwise a closed probe fails the proof, since nothing answered there.
            else
              settle({
                ok: false,
                reason: reason(
                  'PROOF_FAILED',
                  `nothing answers at ${claim.address}: ${why.message}`,
                ),
              });
          },
        },
        claim.address,
      );
      pending.probe = probe;
      probe.setDeadline(this.options.timeoutMs, reason('PROOF_TIMEOUT', 'probe timed out'));
      probe.socket.once('connect', () => {
        connected = true;
        probe.send({ type: 'public_address', ...this.options.hello(), probe: nonce });
        if (legacy) {
          // A peer of the original answers only when it knows others: silence means it is there.
          probe.setDeadline(this.options.legacyGraceMs, undefined, proven);
        }
      });
    };
    // The node listening at the address gets the nonce over a link we dialed there, if we hold
    // one, or through a relay linked to both: it sends it back over its own links to us just as it
    // would answer a probe. A probe connection follows only when a dialed link goes, or no echo
    // came within `channelFallbackMs`.
    const channel = this.options.via?.(claim);
    let dialed = false;
    const dialOnce = (): void => {
      if (settled || dialed) return;
      dialed = true;
      dial();
    };
    const sendInline = () => channel?.send(nonce);
    const onChannelGone = () => dialOnce();
    if (channel === undefined) {
      dialOnce();
      return;
    }
    // A connection still connecting sends its hello on connect; the nonce must come after it.
    const socket = channel.dialed?.socket;
    if (socket?.connecting) socket.once('connect', sendInline);
    else sendInline();
    socket?.once('close', onChannelGone);
    pending.retry = setTimeout(() => {
      pending.retry = undefined;
      dialOnce();
    }, this.options.channelFallbackMs);
  }

  /** Runs `dial` again after a pause, unless the proof settles first. */
  #later(pending: Pending, dial: () => void): void {
    const retry = setTimeout(() => {
      pending.retry = undefined;
      if (!this.#stopped) dial();
    }, LOCAL_SHORTAGE_RETRY_MS);
    pending.retry = retry;
  }

  #onProbeReply(
    claim: Claim,
    message: Message,
    proven: () => void,
    settle: (outcome: ProofOutcome) => void,
  ): void {
    if (message.type !== 'known_peers' && message.type !== 'random_message') return;
    const answeredId = message.type === 'known_peers' ? message.nodeId : undefined;
    if (claim.nodeId === undefined || !claim.answersProbes) {
      // Original protocol: any reply without a node id of ours means a peer of the original is there.
      if (answeredId === undefined) proven();
      else
        settle({
          ok: false,
          reason: reason(
            'PROOF_FAILED',
            `another node (${answeredId.slice(0, 8)}) answers at ${claim.address}`,
          ),
        });
      return;
    }
    if (answeredId !== claim.nodeId) {
      settle({
        ok: false,
        reason: reason('PROOF_FAILED', `another node answers at ${claim.address}`),
      });
    }
    // Otherwise the right node answers there; the proof itself comes over the claim's link.
  }
}
