/** Moved to src/scenario/delay.ts: emulate's link shaping (src/peer/shaping.ts) uses the same model. */
export * from '../scenario/delay.js';
