/**
 * Why the protocol layer refused some text or bytes: a stable `code` that programs (tests, hosts,
 * metrics) match on, and an `error` message for people. The message may change wording; the code
 * may not. Like `ReasonCode` (core/reasons.ts), which carries a `DecodeErrorCode` as the `detail`
 * of an INVALID_MESSAGE close.
 */

/** Why a `host:port` (or a host, or a port) was refused by `address.ts`. */
export type AddressErrorCode =
  /** Longer than MAX_ADDRESS_LENGTH. */
  | 'ADDRESS_TOO_LONG'
  /** No `:` with something before it. */
  | 'NOT_HOST_PORT'
  /** An IPv6 host without its brackets (`::1:8080`), or with only one of them. */
  | 'IPV6_WITHOUT_BRACKETS'
  /** An IPv6 host with a zone id (`fe80::1%eth0`): it names an interface of the sender's host. */
  | 'ZONE_ID'
  /** A host in the resolver's numeric form (`2130706433`, `0x7f.1`) that is no IPv4 address. */
  | 'NOT_IPV4'
  /** Neither an IP literal nor a valid DNS name. */
  | 'BAD_HOST_NAME'
  /** The port is not 1 to 5 decimal digits. */
  | 'NOT_A_PORT'
  /** The port is above 65535, or 0 where 0 is not allowed. */
  | 'PORT_OUT_OF_RANGE';

/**
 * Why a frame from a remote peer was refused by the decoder (frame.ts, messages.ts,
 * overlay-messages.ts). Each names one rule; the limits are the named constants of limits.ts.
 */
export type DecodeErrorCode =
  /** A frame header announced more than MAX_FRAME_BYTES (refused before the body is read). */
  | 'FRAME_TOO_LARGE'
  /** The frame body is not valid UTF-8. */
  | 'NOT_UTF8'
  /** The frame body is not valid JSON. */
  | 'NOT_JSON'
  /** The JSON is not an object `{"type", "data": {...}}`. */
  | 'NOT_ENVELOPE'
  /** A `type` neither the original's protocol, our extensions nor the overlay knows. */
  | 'UNKNOWN_TYPE'
  /** A field that must be a `host:port` is not one (any AddressErrorCode). */
  | 'BAD_ADDRESS'
  /** A node id (`node_id`, a node ref's `id`) that is not 8 to 64 hex characters. */
  | 'BAD_NODE_ID'
  /** `features` is not a list of at most MAX_FEATURES names of MAX_FEATURE_LENGTH characters. */
  | 'BAD_FEATURES'
  /** A probe nonce (`probe`, `address_proof.nonce`) that is not 32 hex characters. */
  | 'BAD_NONCE'
  /** Gossip text that is not 1 to MAX_GOSSIP_TEXT_LENGTH printable characters. */
  | 'BAD_TEXT'
  /** An overlay message id that is not 1 to MAX_MESSAGE_ID_LENGTH characters [0-9A-Za-z._:-]. */
  | 'BAD_MESSAGE_ID'
  /** A count (`ttl`, `hops`) that is not an integer from 0 to its limit (MAX_WALK_TTL, MAX_HOPS). */
  | 'BAD_INTEGER'
  /** A field that must be a list is not one. */
  | 'NOT_A_LIST'
  /** Any other field of the wrong kind or value (a node ref that is no object, a priority, ...). */
  | 'BAD_FIELD'
  /** A `known_peers` list longer than MAX_PEERS_PER_MESSAGE. */
  | 'TOO_MANY_PEERS'
  /** An `hv_shuffle` or `hv_shuffle_reply` with more than MAX_SHUFFLE_NODES node refs. */
  | 'TOO_MANY_NODES'
  /** A `pt_ihave` with more than MAX_IHAVE_IDS ids. */
  | 'TOO_MANY_IDS';

/** A parsed value, or why it was refused: a stable code and a message for people. */
export type ParseResult<T, C extends string = AddressErrorCode> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: C; readonly error: string };

/** What the decoder makes of a frame body. */
export type DecodeResult<T> = ParseResult<T, DecodeErrorCode>;

/** A refusal with its code. */
export function refused<C extends string>(
  code: C,
  error: string,
): { ok: false; code: C; error: string } {
  return { ok: false, code, error };
}
