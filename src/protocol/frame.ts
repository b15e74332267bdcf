import type { DecodeErrorCode } from './errors.js';
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './limits.js';

/** Wraps a frame body in the 4-byte big-endian length prefix of the original's wire format. */
export function encodeFrame(body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/** A frame header announced more than the limit; `code` is its DecodeErrorCode. */
export class FrameTooLargeError extends Error {
  readonly code = 'FRAME_TOO_LARGE' satisfies DecodeErrorCode;

  constructor(readonly announced: number) {
    super(`frame of ${announced} bytes is over the limit of ${MAX_FRAME_BYTES}`);
  }
}

/**
 * Turns a byte stream into frame bodies. Bytes are kept across calls, so a frame split over many
 * reads and many frames in one read are all decoded. A frame over the limit is refused as soon as
 * its header is read, before any of its body is buffered.
 */
export class FrameDecoder {
  // Chunks are only collected until the frame at their head is complete, then joined once: joining
  // every chunk into one buffer per read made a frame sent one byte at a time cost its size
  // squared in copying (about 2 GB for a 64 KiB frame).
  #chunks: Buffer[] = [];
  #size = 0;
  /** Whole size (header included) of the frame at the head, once its header has been read. */
  #expected: number | undefined;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.#size;
  }

  /** Feeds a chunk; returns every complete frame body in it, in order. Throws FrameTooLargeError. */
  push(chunk: Uint8Array): Buffer[] {
    if (chunk.length === 0) return [];
    this.#chunks.push(Buffer.from(chunk));
    this.#size += chunk.length;
    if (this.#size < (this.#expected ?? FRAME_HEADER_BYTES)) return [];
    let data =
      this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    const frames: Buffer[] = [];
    this.#expected = undefined;
    while (data.length >= FRAME_HEADER_BYTES) {
      const length = data.readUInt32BE(0);
      if (length > this.maxFrameBytes) throw new FrameTooLargeError(length);
      const end = FRAME_HEADER_BYTES + length;
      if (data.length < end) {
        this.#expected = end;
        break;
      }
      frames.push(Buffer.from(data.subarray(FRAME_HEADER_BYTES, end)));
      data = data.subarray(end);
    }
    this.#chunks = data.length === 0 ? [] : [Buffer.from(data)];
    this.#size = data.length;
    return frames;
  }
}
