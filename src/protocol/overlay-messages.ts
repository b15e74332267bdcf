/**
 * The frames of the HyParView + Plumtree overlay (`--overlay hyparview`), on the original's framing
 * (`{"type", "data"}`). They go only to peers that announced `Feature.hyparview`; the original
 * closes a connection on an unknown type, so it never sees one. `messages.ts` calls `decodeOverlay`
 * for every type it does not know itself: this is still the one validation point for remote input.
 */
import { normalizeAddress } from './address.js';
import { type DecodeErrorCode, type DecodeResult, refused } from './errors.js';
import {
  MAX_GOSSIP_TEXT_LENGTH,
  MAX_HOPS,
  MAX_IHAVE_IDS,
  MAX_MESSAGE_ID_LENGTH,
  MAX_SHUFFLE_NODES,
  MAX_WALK_TTL,
} from './limits.js';
import { NODE_ID, PRINTABLE } from './patterns.js';

/** A peer as the overlay passes it on: node id and `host:port`. */
export interface WireNodeRef {
  readonly id: string;
  readonly address: string;
}

/** One announced message in a lazy push: its id and the hops it would have on arrival. */
export interface IHaveEntry {
  readonly id: string;
  readonly hops: number;
}

export type NeighborPriority = 'high' | 'low';

/** HyParView membership frames (Leitao, Pereira, Rodrigues, DSN 2007). */
export type MembershipMessage =
  /** Sent by a newcomer to its contact: add me to your active view and announce me. */
  | { readonly type: 'hv_join' }
  /** A newcomer's random walk through active views; `ttl` counts down hops. */
  | { readonly type: 'hv_forward_join'; readonly peer: WireNodeRef; readonly ttl: number }
  /** Asks to become neighbors; `high` (sent by a peer with no neighbor) may not be refused. */
  | { readonly type: 'hv_neighbor'; readonly priority: NeighborPriority }
  /** The sender holds the receiver in its active view now (answers a join or a request). */
  | { readonly type: 'hv_neighbor_accept' }
  /**
   * Drops the receiver from the sender's active view, or refuses its request; `alive` (the sender
   * is not leaving) keeps the sender a passive candidate.
   */
  | { readonly type: 'hv_disconnect'; readonly alive: boolean }
  /** A random walk that ends in an exchange of view samples with `origin`. */
  | {
      readonly type: 'hv_shuffle';
      readonly origin: WireNodeRef;
      readonly nodes: readonly WireNodeRef[];
      readonly ttl: number;
    }
  | { readonly type: 'hv_shuffle_reply'; readonly nodes: readonly WireNodeRef[] };

/** Plumtree dissemination frames (Leitao, Pereira, Rodrigues, SRDS 2007). */
export type BroadcastMessage =
  /** The payload, eagerly pushed along the tree; `hops` counts the links it crossed so far. */
  | {
      readonly type: 'pt_gossip';
      readonly id: string;
      readonly payload: string;
      readonly hops: number;
    }
  /** Ids the sender holds, pushed lazily to neighbors off the tree. */
  | { readonly type: 'pt_ihave'; readonly ids: readonly IHaveEntry[] }
  /** Puts the sender on the receiver's tree; with `id`, also asks for that message. */
  | { readonly type: 'pt_graft'; readonly id?: string }
  /** Takes the sender off the receiver's tree (a duplicate arrived). */
  | { readonly type: 'pt_prune' };

export type OverlayMessage = MembershipMessage | BroadcastMessage;
export type OverlayMessageType = OverlayMessage['type'];

const OVERLAY_TYPES: ReadonlySet<string> = new Set<OverlayMessageType>([
  'hv_join',
  'hv_forward_join',
  'hv_neighbor',
  'hv_neighbor_accept',
  'hv_disconnect',
  'hv_shuffle',
  'hv_shuffle_reply',
  'pt_gossip',
  'pt_ihave',
  'pt_graft',
  'pt_prune',
]);

/** Whether a decoded message belongs to the overlay (and so goes to the overlay core). */
export function isOverlayMessage(message: { readonly type: string }): message is OverlayMessage {
  return OVERLAY_TYPES.has(message.type);
}

/** Whether an overlay message is for the membership layer (else it is for dissemination). */
export function isMembershipMessage(message: OverlayMessage): message is MembershipMessage {
  return message.type.startsWith('hv_');
}

type Json = Record<string, unknown>;

const MESSAGE_ID = /^[0-9A-Za-z._:-]+$/;

class Invalid extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function check(condition: boolean, code: DecodeErrorCode, error: string): asserts condition {
  if (!condition) throw new Invalid(code, error);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nodeRef(value: unknown, field: string): WireNodeRef {
  check(isObject(value), 'BAD_FIELD', `${field} is not an object {id, address}`);
  const { id } = value;
  check(typeof id === 'string' && NODE_ID.test(id), 'BAD_NODE_ID', `${field}.id is not a node id`);
  const address = typeof value.address === 'string' ? normalizeAddress(value.address) : undefined;
  check(address !== undefined, 'BAD_ADDRESS', `${field}.address is not a host:port`);
  return { id, address };
}

function nodeRefs(value: unknown, field: string): WireNodeRef[] {
  check(Array.isArray(value), 'NOT_A_LIST', `${field} is not a list`);
  check(
    value.length <= MAX_SHUFFLE_NODES,
    'TOO_MANY_NODES',
    `${field} lists ${value.length} nodes, over the limit of ${MAX_SHUFFLE_NODES}`,
  );
  return value.map((entry, i) => nodeRef(entry, `${field}[${i}]`));
}

function integer(value: unknown, max: number, field: string): number {
  check(
    typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max,
    'BAD_INTEGER',
    `${field} is not an integer from 0 to ${max}`,
  );
  return value;
}

function messageId(value: unknown, field: string): string {
  check(
    typeof value === 'string' &&
      value.length > 0 &&
      value.length <= MAX_MESSAGE_ID_LENGTH &&
      MESSAGE_ID.test(value),
    'BAD_MESSAGE_ID',
    `${field} is not a message id of 1 to ${MAX_MESSAGE_ID_LENGTH} characters [0-9A-Za-z._:-]`,
  );
  return value;
}

function decode(type: OverlayMessageType, data: Json): OverlayMessage {
  switch (type) {
    case 'hv_join':
    case 'hv_neighbor_accept':
    case 'pt_prune':
      return { type };
    case 'hv_forward_join':
      return {
        type,
        peer: nodeRef(data.peer, 'hv_forward_join.peer'),
        ttl: integer(data.ttl, MAX_WALK_TTL, 'hv_forward_join.ttl'),
      };
    case 'hv_neighbor':
      check(
        data.priority === 'high' || data.priority === 'low',
        'BAD_FIELD',
        'hv_neighbor.priority is not "high" or "low"',
      );
      return { type, priority: data.priority };
    case 'hv_disconnect':
      check(typeof data.alive === 'boolean', 'BAD_FIELD', 'hv_disconnect.alive is not a boolean');
      return { type, alive: data.alive };
    case 'hv_shuffle':
      return {
        type,
        origin: nodeRef(data.origin, 'hv_shuffle.origin'),
        nodes: nodeRefs(data.nodes, 'hv_shuffle.nodes'),
        ttl: integer(data.ttl, MAX_WALK_TTL, 'hv_shuffle.ttl'),
      };
    case 'hv_shuffle_reply':
      return { type, nodes: nodeRefs(data.nodes, 'hv_shuffle_reply.nodes') };
    case 'pt_gossip': {
      const text = data.data;
      check(
        typeof text === 'string' && text.length <= MAX_GOSSIP_TEXT_LENGTH && PRINTABLE.test(text),
        'BAD_TEXT',
        `pt_gossip.data is not 1 to ${MAX_GOSSIP_TEXT_LENGTH} printable characters`,
      );
      return {
        type,
        id: messageId(data.id, 'pt_gossip.id'),
        payload: text,
        hops: integer(data.hops, MAX_HOPS, 'pt_gossip.hops'),
      };
    }
    case 'pt_ihave': {
      const list = data.ids;
      check(Array.isArray(list), 'NOT_A_LIST', 'pt_ihave.ids is not a list');
      check(
        list.length <= MAX_IHAVE_IDS,
        'TOO_MANY_IDS',
        `pt_ihave lists ${list.length} ids, over the limit of ${MAX_IHAVE_IDS}`,
      );
      const ids = list.map((entry, i) => {
        check(isObject(entry), 'BAD_FIELD', `pt_ihave.ids[${i}] is not an object {id, hops}`);
        return {
          id: messageId(entry.id, `pt_ihave.ids[${i}].id`),
          hops: integer(entry.hops, MAX_HOPS, `pt_ihave.ids[${i}].hops`),
        };
      });
      return { type, ids };
    }
    case 'pt_graft':
      return data.id === undefined ? { type } : { type, id: messageId(data.id, 'pt_graft.id') };
  }
}

/**
 * Validates the `data` of an overlay frame. Returns undefined when `type` is not an overlay type,
 * so that the caller reports it as unknown.
 */
export function decodeOverlay(type: unknown, data: Json): DecodeResult<OverlayMessage> | undefined {
  if (typeof type !== 'string' || !OVERLAY_TYPES.has(type)) return undefined;
  try {
    return { ok: true, value: decode(type as OverlayMessageType, data) };
  } catch (error) {
    if (error instanceof Invalid) return refused(error.code, error.message);
    throw error;
  }
}

/** Only the two wire fields, whatever else the caller's object holds. */
const ref = ({ id, address }: WireNodeRef): WireNodeRef => ({ id, address });

/** The `{type, data}` object of an overlay frame. */
export function overlayToWire(message: OverlayMessage): { type: OverlayMessageType; data: Json } {
  const { type } = message;
  switch (message.type) {
    case 'hv_join':
    case 'hv_neighbor_accept':
    case 'pt_prune':
      return { type, data: {} };
    case 'hv_forward_join':
      return { type, data: { peer: ref(message.peer), ttl: message.ttl } };
    case 'hv_neighbor':
      return { type, data: { priority: message.priority } };
    case 'hv_disconnect':
      return { type, data: { alive: message.alive } };
    case 'hv_shuffle':
      return {
        type,
        data: { origin: ref(message.origin), nodes: message.nodes.map(ref), ttl: message.ttl },
      };
    case 'hv_shuffle_reply':
      return { type, data: { nodes: message.nodes.map(ref) } };
    case 'pt_gossip':
      return { type, data: { id: message.id, data: message.payload, hops: message.hops } };
    case 'pt_ihave':
      return { type, data: { ids: message.ids.map(({ id, hops }) => ({ id, hops })) } };
    case 'pt_graft':
      return { type, data: message.id === undefined ? {} : { id: message.id } };
  }
}
