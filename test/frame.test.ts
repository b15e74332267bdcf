import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeFrame, FrameDecoder, FrameTooLargeError } from '../src/protocol/frame.js';
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from '../src/protocol/limits.js';

const bodies = [
  '{"a":1}',
  '',
  'x'.repeat(300),
  '{"type":"random_message","data":{"data":"é"}}',
].map((text) => Buffer.from(text, 'utf8'));

function header(length: number): Buffer {
  const h = Buffer.alloc(FRAME_HEADER_BYTES);
  h.writeUInt32BE(length, 0);
  return h;
}

describe('encodeFrame', () => {
  test('prefixes the body with its length as a 4-byte big-endian integer', () => {
    const frame = encodeFrame(Buffer.from('hello'));
    assert.deepEqual([...frame.subarray(0, 4)], [0, 0, 0, 5]);
    assert.equal(frame.subarray(4).toString(), 'hello');
    assert.deepEqual([...encodeFrame(Buffer.alloc(0))], [0, 0, 0, 0]);
    assert.equal(encodeFrame(Buffer.alloc(0x1_02_03)).readUInt32BE(0), 0x1_02_03);
  });

  test('round-trips through the decoder', () => {
    for (const body of bodies) {
      const decoder = new FrameDecoder();
      assert.deepEqual(decoder.push(encodeFrame(body)), [body]);
      assert.equal(decoder.buffered, 0);
    }
  });
});

describe('FrameDecoder', () => {
  test('decodes frames split byte by byte', () => {
    const stream = Buffer.concat(bodies.map((b) => encodeFrame(b)));
    const decoder = new FrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      const frames = decoder.push(stream.subarray(i, i + 1));
      out.push(...frames);
      // a frame comes out on the very byte that completes it, never earlier
      assert.ok(frames.length <= 1);
    }
    assert.deepEqual(out, bodies);
    assert.equal(decoder.buffered, 0);
  });

  test('decodes several frames glued in one chunk', () => {
    const decoder = new FrameDecoder();
    const out = decoder.push(Buffer.concat(bodies.map((b) => encodeFrame(b))));
    assert.deepEqual(out, bodies);
    assert.equal(decoder.buffered, 0);
  });

  test('decodes a mix: a chunk ending mid-header, a chunk ending mid-body, glued tails', () => {
    const stream = Buffer.concat([...bodies, ...bodies].map((b) => encodeFrame(b)));
    // every split of the stream into three pieces gives the same frames
    for (let i = 0; i <= stream.length; i += 7) {
      for (let j = i; j <= stream.length; j += 13) {
        const decoder = new FrameDecoder();
        const out = [
          ...decoder.push(stream.subarray(0, i)),
          ...decoder.push(stream.subarray(i, j)),
          ...decoder.push(stream.subarray(j)),
        ];
        assert.deepEqual(out, [...bodies, ...bodies], `split at ${i} and ${j}`);
        assert.equal(decoder.buffered, 0);
      }
    }
  });

  test('keeps a partial frame for the next chunk', () => {
    const decoder = new FrameDecoder();
    const frame = encodeFrame(Buffer.from('partial'));
    assert.deepEqual(decoder.push(frame.subarray(0, 6)), []);
    assert.equal(decoder.buffered, 6);
    assert.deepEqual(decoder.push(frame.subarray(6)), [Buffer.from('partial')]);
  });

  test('accepts a frame of exactly MAX_FRAME_BYTES', () => {
    const body = Buffer.alloc(MAX_FRAME_BYTES, 0x61);
    const [decoded, ...rest] = new FrameDecoder().push(encodeFrame(body));
    assert.equal(rest.length, 0);
    assert.equal(decoded?.length, MAX_FRAME_BYTES);
  });

  for (const announced of [MAX_FRAME_BYTES + 1, 8 * 1024 * 1024, 0xff_ff_ff_ff]) {
    test(`refuses a header announcing ${announced} bytes before any of the body arrives`, () => {
      const decoder = new FrameDecoder();
      assert.throws(
        () => decoder.push(header(announced)),
        (error: unknown) =>
          error instanceof FrameTooLargeError &&
          error.code === 'FRAME_TOO_LARGE' &&
          error.announced === announced,
      );
    });
  }

  test('refuses an oversized header arriving byte by byte, on its fourth byte', () => {
    const decoder = new FrameDecoder();
    const h = header(0xff_ff_ff_ff);
    for (let i = 0; i < 3; i++) assert.deepEqual(decoder.push(h.subarray(i, i + 1)), []);
    assert.throws(() => decoder.push(h.subarray(3)), FrameTooLargeError);
  });

  test('refuses an oversized frame that follows a good one in the same chunk', () => {
    const decoder = new FrameDecoder();
    assert.throws(
      () =>
        decoder.push(Buffer.concat([encodeFrame(Buffer.from('ok')), header(MAX_FRAME_BYTES + 1)])),
      FrameTooLargeError,
    );
  });

  test('honours a smaller limit given to the constructor', () => {
    const decoder = new FrameDecoder(10);
    assert.deepEqual(decoder.push(encodeFrame(Buffer.alloc(10))), [Buffer.alloc(10)]);
    assert.throws(() => decoder.push(header(11)), FrameTooLargeError);
  });

  test('stays linear when a large frame arrives one byte at a time', () => {
    // 1 MiB fed byte by byte: a decoder that re-joins every pending byte on each chunk copies
    // about 1 TB (half a minute and more); a linear one takes well under a second.
    const size = 1024 * 1024;
    const body = Buffer.alloc(size, 0x62);
    const frame = encodeFrame(body);
    const decoder = new FrameDecoder(size);
    const started = performance.now();
    const out: Buffer[] = [];
    for (let i = 0; i < frame.length; i++) out.push(...decoder.push(frame.subarray(i, i + 1)));
    const elapsed = performance.now() - started;
    assert.equal(out.length, 1);
    assert.ok(out[0]?.equals(body));
    assert.equal(decoder.buffered, 0);
    assert.ok(elapsed < 5_000, `took ${elapsed.toFixed(0)} ms`);
  });
});
