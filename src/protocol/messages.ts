import { normalizeAddress } from './address.js';
import { type DecodeErrorCode, type DecodeResult, refused } from './errors.js';
import { encodeFrame } from './frame.js';
import {
  MAX_FEATURE_LENGTH,
  MAX_FEATURES,
  MAX_GOSSIP_TEXT_LENGTH,
  MAX_NODE_ID_LENGTH,
  MAX_PEERS_PER_MESSAGE,
} from './limits.js';
import { decodeOverlay, type OverlayMessage, overlayToWire } from './overlay-messages.js';
import { NODE_ID, PRINTABLE } from './patterns.js';

/**
 * What a peer says about itself beyond the original protocol. It rides in extra fields of `data`,
 * which the original ignores, so a frame carrying it is still a valid original frame.
 */
export interface Identity {
  /** Random id of the sending node, chosen at start. */
  readonly nodeId?: string;
  /** Extensions the sender understands; new message types go only to peers that list them. */
  readonly features?: readonly string[];
}

export type Message =
  | ({
      readonly type: 'public_address';
      readonly address: string;
      /**
       * Set on a dial-back that checks a claimed address, not a join: the answering node replies
       * with its node id and sends `address_proof` with this nonce over its own link to us.
       */
      readonly probe?: string;
      /**
       * The node id of the peer whose list named the address we dial (Feature.relayProof): a
       * node linked to both, through which the one we dial may prove our claim (`relay_probe`).
       */
      readonly via?: string;
    } & Identity)
  | ({ readonly type: 'known_peers'; readonly peers: readonly string[] } & Identity)
  | { readonly type: 'random_message'; readonly text: string }
  | { readonly type: 'goodbye' }
  /** "Still here": sent on a link that carried nothing for a period (Feature.heartbeat). */
  | { readonly type: 'heartbeat' }
  | { readonly type: 'address_proof'; readonly nonce: string }
  /**
   * "Tell the peer at `peer` about me" (Feature.introduce): sent to the peer whose list named
   * `peer` instead of dialing it, when `peer` is the one of the two that dials (the smaller
   * address), so that a pair that learns of each other at once opens one connection, not two.
   */
  | { readonly type: 'introduce'; readonly peer: string }
  /**
   * The answer to `introduce`, to the peer it named: "the peer at `peer` asked to meet you; dial
   * it". Dialed whatever the two addresses compare (they may be spelled differently at each end).
   */
  | { readonly type: 'introduced'; readonly peer: string }
  /**
   * "Give this nonce to your peer at `address` (node id `nodeId`)": a prover asks a node linked
   * to both (Feature.relayProof) instead of dialing a probe connection to the claimant.
   */
  | ({ readonly type: 'relay_probe'; readonly nonce: string } & RelayEnd)
  /** The relay's delivery of it: the prover is at `address` with node id `nodeId`. */
  | ({ readonly type: 'relayed_probe'; readonly nonce: string } & RelayEnd)
  | OverlayMessage;

/** The other end of a relayed probe: the claimant (in `relay_probe`) or the prover (`relayed_probe`). */
export interface RelayEnd {
  readonly address: string;
  readonly nodeId: string;
}

export type MessageType = Message['type'];

/** Extension names, as announced in `features`. */
export const Feature = {
  /** Sends and accepts `known_peers` in both directions of a link, so every new link merges views. */
  exchange: 'exchange',
  /** Sends `goodbye` before closing on purpose, so its peers do not try to reconnect. */
  goodbye: 'goodbye',
  /** Answers dial-back probes with `address_proof`, so its advertised address can be proven. */
  proof: 'proof',
  /**
   * Sends something at least once a period (a `heartbeat` frame when nothing else), so a link
   * silent for a few periods can be declared dead (core/liveness.ts).
   */
  heartbeat: 'heartbeat',
  /**
   * Answers a probe nonce sent over a connection its prover dialed to it (a second
   * `public_address`, same address, with `probe`): a prover that holds such a connection anyway
   * proves the claim without opening a probe connection.
   */
  inlineProof: 'inline-proof',
  /**
   * Of two peers that learn of each other, only the one with the smaller address dials; the other
   * asks the peer that told it (`introduce`) to tell the smaller one about it (`introduced`).
   */
  introduce: 'introduce',
  /**
   * Relays probes (`relay_probe`, `relayed_probe`) and names in its `public_address` the peer
   * that told it of the address it dials (`via`): a claim is proven through a node linked to both,
   * with no probe connection (the prover then trusts that node's proof of the claimant).
   */
  relayProof: 'relay-proof',
  /** Speaks the HyParView + Plumtree overlay (`hv_*` and `pt_*` frames, `--overlay hyparview`). */
  hyparview: 'hyparview',
} as const;

const NONCE = /^[0-9a-f]{32}$/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isNodeId = (id: unknown): id is string =>
  typeof id === 'string' && id.length <= MAX_NODE_ID_LENGTH && NODE_ID.test(id);

const fail = (code: DecodeErrorCode, error: string): DecodeResult<never> => refused(code, error);

function decodeIdentity(data: Json): DecodeResult<Identity> {
  const identity: { nodeId?: string; features?: string[] } = {};
  if (data.node_id !== undefined) {
    const id = data.node_id;
    if (!isNodeId(id)) {
      return fail('BAD_NODE_ID', 'node_id is not a hex string of 8 to 64 characters');
    }
    identity.nodeId = id;
  }
  if (data.features !== undefined) {
    const features = data.features;
    if (
      !Array.isArray(features) ||
      features.length > MAX_FEATURES ||
      !features.every((f) => typeof f === 'string' && f.length <= MAX_FEATURE_LENGTH)
    ) {
      return fail(
        'BAD_FEATURES',
        `features is not a list of at most ${MAX_FEATURES} short strings`,
      );
    }
    identity.features = features as string[];
  }
  return { ok: true, value: identity };
}

function decodeData(type: unknown, data: Json): DecodeResult<Message> {
  switch (type) {
    case 'public_address': {
      const address = typeof data.address === 'string' ? normalizeAddress(data.address) : undefined;
      if (address === undefined)
        return fail('BAD_ADDRESS', 'public_address.address is not a host:port');
      const identity = decodeIdentity(data);
      if (!identity.ok) return identity;
      if (data.probe !== undefined && !(typeof data.probe === 'string' && NONCE.test(data.probe))) {
        return fail('BAD_NONCE', 'public_address.probe is not a nonce of 32 hex characters');
      }
      const probe = data.probe === undefined ? {} : { probe: data.probe };
      if (data.via !== undefined && !isNodeId(data.via)) {
        return fail('BAD_NODE_ID', 'public_address.via is not a hex string of 8 to 64 characters');
      }
      const via = data.via === undefined ? {} : { via: data.via };
      return { ok: true, value: { type, address, ...probe, ...via, ...identity.value } };
    }
    case 'known_peers': {
      const list = data.peers;
      if (!Array.isArray(list)) return fail('NOT_A_LIST', 'known_peers.peers is not a list');
      if (list.length > MAX_PEERS_PER_MESSAGE) {
        return fail(
          'TOO_MANY_PEERS',
          `known_peers lists ${list.length} peers, over the limit of ${MAX_PEERS_PER_MESSAGE}`,
        );
      }
      const peers: string[] = [];
      for (const entry of list) {
        const address = typeof entry === 'string' ? normalizeAddress(entry) : undefined;
        if (address === undefined)
          return fail('BAD_ADDRESS', 'known_peers.peers holds an entry that is not a host:port');
        peers.push(address);
      }
      const identity = decodeIdentity(data);
      if (!identity.ok) return identity;
      return { ok: true, value: { type, peers, ...identity.value } };
    }
    case 'random_message': {
      const text = data.data;
      if (
        typeof text !== 'string' ||
        text.length > MAX_GOSSIP_TEXT_LENGTH ||
        !PRINTABLE.test(text)
      ) {
        return fail(
          'BAD_TEXT',
          `random_message.data is not 1 to ${MAX_GOSSIP_TEXT_LENGTH} printable characters`,
        );
      }
      return { ok: true, value: { type, text } };
    }
    case 'goodbye':
    case 'heartbeat':
      return { ok: true, value: { type } };
    case 'address_proof':
      if (!(typeof data.nonce === 'string' && NONCE.test(data.nonce))) {
        return fail('BAD_NONCE', 'address_proof.nonce is not a nonce of 32 hex characters');
      }
      return { ok: true, value: { type, nonce: data.nonce } };
    case 'relay_probe':
    case 'relayed_probe': {
      if (!(typeof data.nonce === 'string' && NONCE.test(data.nonce))) {
        return fail('BAD_NONCE', `${type}.nonce is not a nonce of 32 hex characters`);
      }
      const address = typeof data.address === 'string' ? normalizeAddress(data.address) : undefined;
      if (address === undefined) return fail('BAD_ADDRESS', `${type}.address is not a host:port`);
      if (!isNodeId(data.node_id)) {
        return fail('BAD_NODE_ID', `${type}.node_id is not a hex string of 8 to 64 characters`);
      }
      return { ok: true, value: { type, nonce: data.nonce, address, nodeId: data.node_id } };
    }
    case 'introduce':
    case 'introduced': {
      const peer = typeof data.peer === 'string' ? normalizeAddress(data.peer) : undefined;
      if (peer === undefined) return fail('BAD_ADDRESS', `${type}.peer is not a host:port`);
      return { ok: true, value: { type, peer } };
    }
    default:
      return (
        decodeOverlay(type, data) ??
        fail('UNKNOWN_TYPE', `unknown message type ${JSON.stringify(type)?.slice(0, 40)}`)
      );
  }
}

/** Validates a frame body. Nothing a remote peer sends reaches peer state without passing here. */
export function decodeMessage(body: Uint8Array): DecodeResult<Message> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    return error instanceof TypeError
      ? fail('NOT_UTF8', 'frame is not valid UTF-8')
      : fail('NOT_JSON', 'frame is not valid JSON');
  }
  if (!isObject(json) || !isObject(json.data))
    return fail('NOT_ENVELOPE', 'frame is not an object {"type", "data"}');
  return decodeData(json.type, json.data);
}

function identityFields({ nodeId, features }: Identity): Json {
  return {
    ...(nodeId === undefined ? {} : { node_id: nodeId }),
    ...(features === undefined ? {} : { features }),
  };
}

/** The JSON object of the original's wire format, with our extensions as extra `data` fields. */
export function toWire(message: Message): { type: MessageType; data: Json } {
  switch (message.type) {
    case 'public_address':
      return {
        type: message.type,
        data: {
          address: message.address,
          ...(message.probe === undefined ? {} : { probe: message.probe }),
          ...(message.via === undefined ? {} : { via: message.via }),
          ...identityFields(message),
        },
      };
    case 'known_peers':
      return { type: message.type, data: { peers: message.peers, ...identityFields(message) } };
    case 'random_message':
      return { type: message.type, data: { data: message.text } };
    case 'goodbye':
    case 'heartbeat':
      return { type: message.type, data: {} };
    case 'address_proof':
      return { type: message.type, data: { nonce: message.nonce } };
    case 'introduce':
    case 'introduced':
      return { type: message.type, data: { peer: message.peer } };
    case 'relay_probe':
    case 'relayed_probe':
      return {
        type: message.type,
        data: { nonce: message.nonce, address: message.address, node_id: message.nodeId },
      };
    default:
      return overlayToWire(message);
  }
}

/** A whole frame, ready for the socket. */
export function encodeMessage(message: Message): Buffer {
  return encodeFrame(Buffer.from(JSON.stringify(toWire(message)), 'utf8'));
}
