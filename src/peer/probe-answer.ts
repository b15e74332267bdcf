import { reason } from '../core/reasons.js';
import type { Identity } from '../protocol/messages.js';
import type { Connection } from './connection.js';

/** What a dial-back probe carried: its nonce, and who sent it. */
export interface Probe {
  readonly nonce: string;
  readonly proberId: string | undefined;
  readonly proberAddress: string;
}

/**
 * Answers a dial-back probe (someone we claimed an address to checks it), for both kinds of peer:
 * reply with our identity and close the probe's connection, and send the nonce back over every
 * connection we have to the prober, so that it arrives on the one that carried our claim.
 */
export function answerProbe(
  connection: Connection,
  probe: Probe,
  identity: Identity,
  connections: Iterable<Connection>,
): void {
  connection.send({ type: 'known_peers', peers: [], ...identity });
  connection.close(reason('PROBE_DONE', 'probe answered'));
  echoNonce(probe, connections);
}

/**
 * Sends a probe's nonce back over every connection we have to the prober (`except` the one it came
 * on), so that it arrives on the one that carried our claim. The prober may have sent it over a
 * link it dialed to us (`Feature.inlineProof`) instead of a probe connection: same echo.
 */
export function echoNonce(
  probe: Probe,
  connections: Iterable<Connection>,
  except?: Connection,
): void {
  for (const c of connections) {
    if (c === except) continue;
    const toProber =
      (probe.proberId !== undefined && c.identity?.key === probe.proberId) ||
      (c.identity === undefined && c.direction === 'outbound' && c.remote === probe.proberAddress);
    if (toProber && !c.socket.connecting) c.send({ type: 'address_proof', nonce: probe.nonce });
  }
}
