/** Text shapes checked by more than one decoder of remote frames. */

/** A node id: random hex chosen by the node at start (32 characters for ours). */
export const NODE_ID = /^[0-9a-f]{8,64}$/;

// Control characters would let a remote peer rewrite the console it is printed on.
export const PRINTABLE = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u;
