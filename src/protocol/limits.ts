/**
 * Every bound on what a remote peer can make us hold or do, with the reason for its value.
 * The protocol layer enforces the size limits; the peer layer enforces the time and count limits.
 */

/** Bytes in the big-endian length prefix of a frame (the original's wire format). */
export const FRAME_HEADER_BYTES = 4;

/**
 * Largest frame body we accept. A `known_peers` list of 1,000 IPv4 addresses is about 24 KiB of
 * JSON, so 64 KiB leaves room for names and extension fields while keeping what one connection can
 * make us buffer far below the original's 8 MiB.
 */
export const MAX_FRAME_BYTES = 64 * 1024;

/** Longest peer list we accept in one `known_peers` frame; the frame size caps it anyway. */
export const MAX_PEERS_PER_MESSAGE = 1_000;

/** `host:port` with a 253-character DNS name, brackets for IPv6 and a 5-digit port. */
export const MAX_ADDRESS_LENGTH = 261;

/** Node ids are 32 hex characters; anything much longer is not one of ours. */
export const MAX_NODE_ID_LENGTH = 64;

/** Feature names announced in the handshake; a few short words at most. */
export const MAX_FEATURES = 16;
export const MAX_FEATURE_LENGTH = 32;

/** Length of the gossip messages we send: the original's 10 alphanumeric characters. */
export const GOSSIP_MESSAGE_LENGTH = 10;

/**
 * Longest gossip text we accept and print. The original sends 10 characters; we accept more from
 * other implementations but never enough to flood a console line.
 */
export const MAX_GOSSIP_TEXT_LENGTH = 256;

// ---- overlay (HyParView + Plumtree) frames ------------------------------------------------------

/**
 * Node refs in one `hv_shuffle` or `hv_shuffle_reply`. A shuffle carries ka + kp + 1 refs (3 + 4
 * + 1 by default, as in the HyParView paper); 32 leaves room for larger configured views while a
 * frame of 32 refs stays under 4 KiB.
 */
export const MAX_SHUFFLE_NODES = 32;

/**
 * Largest time-to-live of a HyParView random walk (forward join, shuffle). The defaults are 6; a
 * peer clamps what it receives to its own configured walk length anyway, so this only keeps a
 * hostile value from being stored or echoed.
 */
export const MAX_WALK_TTL = 16;

/**
 * Message ids in one `pt_ihave` frame. The lazy push batches ids for one neighbor every few
 * milliseconds; 10 messages a second network-wide gives about one id a batch, so 64 is far above
 * need and keeps a frame under 5 KiB.
 */
export const MAX_IHAVE_IDS = 64;

/** Message ids are chosen by the broadcasting peer: 32 hex characters by default. */
export const MAX_MESSAGE_ID_LENGTH = 64;

/**
 * Largest hop count a gossip frame may carry. Hops only measure the path; 16 bits hold any
 * diameter a random overlay of a few million peers can have (about log N over log of the degree).
 */
export const MAX_HOPS = 65_535;
