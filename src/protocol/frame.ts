import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './limits.js';

/** Wraps a frame body in the 4-byte big-endian length prefix of the original's wire format. */
export function encodeFrame(body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

export class FrameTooLargeError extends Error {
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
  #pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.#pending.length;
  }

  /** Feeds a chunk; returns every complete frame body in it, in order. Throws FrameTooLargeError. */
  push(chunk: Uint8Array): Buffer[] {
    let data =
      this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    const frames: Buffer[] = [];
    while (data.length >= FRAME_HEADER_BYTES) {
      const length = data.readUInt32BE(0);
      if (length > this.maxFrameBytes) throw new FrameTooLargeError(length);
      const end = FRAME_HEADER_BYTES + length;
      if (data.length < end) break;
      frames.push(Buffer.from(data.subarray(FRAME_HEADER_BYTES, end)));
      data = data.subarray(end);
    }
    this.#pending = Buffer.from(data);
    return frames;
  }
}
