import type { DecodeErrorCode } from '../protocol/errors.js';

/**
 * Why a connection closed, a dial failed or a claim was refused: a stable `code` that programs
 * match on, and a `message` for people (the console prints the message alone, as the original's
 * lines do). Like undici's error codes: tests and hosts never match prose.
 */
export type ReasonCode =
  /** This peer is stopping. */
  | 'STOPPING'
  /** The remote said goodbye before closing. */
  | 'GOODBYE'
  /** The remote closed the connection (no goodbye). */
  | 'CLOSED_BY_PEER'
  /** The socket failed; the message is the error code (ECONNRESET, ECONNREFUSED, ...). */
  | 'SOCKET_ERROR'
  /** This host ran out of sockets (EMFILE, ENFILE, ENOBUFS, EADDRNOTAVAIL): not the remote's fault. */
  | 'LOCAL_SHORTAGE'
  /** A TCP connect did not complete in time. */
  | 'CONNECT_TIMEOUT'
  /** An inbound connection did not announce itself in time. */
  | 'HANDSHAKE_TIMEOUT'
  /** Too many connections handshaking at once (in all, or from one IP). */
  | 'HANDSHAKE_LIMIT'
  /** A frame or message failed validation. */
  | 'INVALID_MESSAGE'
  /** A valid message at the wrong time (known_peers before public_address, a re-claim, ...). */
  | 'PROTOCOL_VIOLATION'
  /** The remote does not read what we send. */
  | 'NOT_READING'
  /** The address or connection is this peer itself. */
  | 'SELF'
  /** A second connection to a linked peer: the tie-break kept the other one. */
  | 'DUPLICATE'
  /** A claim of an address that a live link of another node holds. */
  | 'ADDRESS_TAKEN'
  /** A claim of this peer's own address. */
  | 'OWN_ADDRESS'
  /** A claimed address was not proven in time. */
  | 'PROOF_TIMEOUT'
  /** A claimed address was disproven: nothing answers there, or another node does. */
  | 'PROOF_FAILED'
  /** Too many claims waiting for a proof. */
  | 'PROOF_QUEUE_FULL'
  /** The connection that made a claim closed before its proof ended. */
  | 'CLAIMANT_LEFT'
  /** A dial-back probe (ours or one we answered) has done its work. */
  | 'PROBE_DONE'
  /** A non-link connection outlived its bound. */
  | 'IDLE_NON_LINK'
  /** Nothing arrived on a link for a few periods (the heartbeat extension): closed as broken. */
  | 'HEARTBEAT_TIMEOUT'
  /** Broken on purpose (tests, the emulator's fault injection). */
  | 'BROKEN_ON_PURPOSE'
  /** An address that cannot be dialed (malformed). */
  | 'BAD_ADDRESS'
  /** An overlay peer and a peer of the original protocol (no node id): refused on either side. */
  | 'OVERLAY_ORIGINAL_PEER'
  /** An overlay peer and one of ours without the overlay's feature (a full-mesh peer): refused. */
  | 'OVERLAY_FULL_MESH_PEER'
  /** The overlay's core dropped the link: its active view changed (the message says why). */
  | 'OVERLAY_VIEW_CHANGE'
  /** Too many dials waiting in line: a wish past the bound is dropped. */
  | 'DIAL_QUEUE_FULL'
  /** A bug of ours, contained to one connection. */
  | 'INTERNAL';

/** Which rule a PROTOCOL_VIOLATION broke: a valid message at the wrong time or place. */
export type ViolationCode =
  /** A stranger sent something other than `public_address` first. */
  | 'BEFORE_HANDSHAKE'
  /** An identified peer claimed an address other than the one it announced. */
  | 'RECLAIM'
  /** The peer we dialed sent `public_address` (only the dialing side announces itself). */
  | 'ADDRESS_TO_DIALER'
  /** A message of the full mesh (gossip, peer lists) on a link of the overlay. */
  | 'NOT_OVERLAY';

/** Why a name (the host of a `name:port`) gave no address; SOCKET_ERROR carries it. */
export type NameErrorCode =
  /** The resolver says the name does not exist (ENOTFOUND). */
  | 'NAME_NOT_FOUND'
  /** The resolver could not answer now (EAI_AGAIN): the name may resolve later. */
  | 'NAME_NOT_RESOLVED_NOW';

/**
 * The finer code of a reason whose `code` covers several rules: a DecodeErrorCode with
 * INVALID_MESSAGE (which rule of the decoder, and so which limit for the "over the limit" ones),
 * a ViolationCode with PROTOCOL_VIOLATION, a NameErrorCode with SOCKET_ERROR.
 */
export type ReasonDetail = DecodeErrorCode | ViolationCode | NameErrorCode;

export interface Reason {
  readonly code: ReasonCode;
  readonly message: string;
  readonly detail?: ReasonDetail;
}

export function reason(code: ReasonCode, message: string, detail?: ReasonDetail): Reason {
  return detail === undefined ? { code, message } : { code, message, detail };
}
