import { randomBytes } from 'node:crypto';
import { GOSSIP_MESSAGE_LENGTH } from '../protocol/limits.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
// Bytes at or above this would make `byte % 62` favour the first letters.
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length);

/** A gossip text like the original's: `length` characters of [A-Za-z0-9], uniformly random. */
export function randomGossipText(length = GOSSIP_MESSAGE_LENGTH): string {
  let text = '';
  while (text.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < UNBIASED_LIMIT && text.length < length) text += ALPHABET[byte % ALPHABET.length];
    }
  }
  return text;
}
