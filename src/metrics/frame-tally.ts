import { FRAME_HEADER_BYTES } from '../protocol/limits.js';

/**
 * The start of every `known_peers` frame body: both our encoder and the original's put `type`
 * first, so the kind of a frame shows in its first bytes without parsing its JSON.
 */
const KNOWN_PEERS_PREFIX = Buffer.from('{"type":"known_peers"', 'utf8');

/** What one chunk completed. */
export interface TallyDelta {
  readonly frames: number;
  readonly bytes: number;
}

/**
 * Counts the `known_peers` frames of one byte stream (and their bytes, header included) as it
 * flows, without buffering a body: it only walks the length prefixes and looks at the first bytes
 * of each body. An observer, not a validator: a stream that breaks the protocol is just miscounted
 * (the peer itself closes it).
 */
export class FrameTally {
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES);
  #headerFill = 0;
  /** Body bytes of the current frame still to come; meaningful once its header is complete. */
  #remaining = 0;
  #frameBytes = 0;
  /** Leading body bytes compared with the prefix so far, and whether all of them matched. */
  #prefixSeen = 0;
  #matches = true;

  push(chunk: Uint8Array): TallyDelta {
    let frames = 0;
    let bytes = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.#headerFill < FRAME_HEADER_BYTES) {
        const take = Math.min(FRAME_HEADER_BYTES - this.#headerFill, chunk.length - i);
        this.#header.set(chunk.subarray(i, i + take), this.#headerFill);
        this.#headerFill += take;
        i += take;
        if (this.#headerFill < FRAME_HEADER_BYTES) break;
        this.#remaining = this.#header.readUInt32BE(0);
        this.#frameBytes = FRAME_HEADER_BYTES + this.#remaining;
        this.#prefixSeen = 0;
        this.#matches = true;
      }
      const take = Math.min(this.#remaining, chunk.length - i);
      while (this.#matches && this.#prefixSeen < KNOWN_PEERS_PREFIX.length) {
        const at = this.#prefixSeen - (this.#frameBytes - FRAME_HEADER_BYTES - this.#remaining);
        if (at >= take) break;
        this.#matches = chunk[i + at] === KNOWN_PEERS_PREFIX[this.#prefixSeen];
        this.#prefixSeen++;
      }
      this.#remaining -= take;
      i += take;
      if (this.#remaining === 0) {
        if (this.#matches && this.#prefixSeen === KNOWN_PEERS_PREFIX.length) {
          frames++;
          bytes += this.#frameBytes;
        }
        this.#headerFill = 0;
      }
    }
    return { frames, bytes };
  }
}
