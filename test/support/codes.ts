import type { ReasonCode, ReasonDetail } from '../../src/peer/events.js';
import type { DecodeErrorCode } from '../../src/protocol/errors.js';

/** The codes of a close, refusal or failed dial, as programs match on them (never on the prose). */
export interface Codes {
  readonly code: ReasonCode | undefined;
  readonly detail?: ReasonDetail;
}

/** The codes an event carries, for `assert.deepEqual` against the expected ones. */
export function codes(event: {
  readonly code?: ReasonCode;
  readonly detail?: ReasonDetail;
}): Codes {
  return event.detail === undefined
    ? { code: event.code }
    : { code: event.code, detail: event.detail };
}

/** A frame the decoder refused, by the rule it broke. */
export const invalid = (detail: DecodeErrorCode): Codes => ({ code: 'INVALID_MESSAGE', detail });
