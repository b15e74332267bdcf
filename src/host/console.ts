import type { PeerEvent } from '../peer/events.js';

/**
 * How a CLI peer shows its events: the original's console lines (`# HH:MM:SS - TEXT`, the time
 * elapsed since start) for people, and one JSON object per event for programs.
 */

/** `HH:MM:SS` of the time elapsed since `startedAt`; hours keep growing past 99. */
export function formatElapsed(elapsedMs: number): string {
  const total = Math.max(0, Math.floor(elapsedMs / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor(total / 60) % 60;
  const seconds = total % 60;
  return [hours, minutes, seconds].map((n) => String(n).padStart(2, '0')).join(':');
}

/** `1.2s`, `30s`: a delay in seconds with at most one decimal. */
function formatDelay(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))}s`;
}

/** The text after the timestamp, or undefined for events the console does not show. */
export function consoleText(event: PeerEvent): string | undefined {
  switch (event.type) {
    case 'listening':
      return `My address is: ${event.bound}`;
    case 'connected':
      return `Connected to the peer at: ${event.peer}`;
    case 'message-received':
      return `Received message [${event.text}] from: ${event.peer}`;
    case 'disconnected':
      return `Disconnected from the peer at: ${event.peer} (${event.reason})${
        event.reconnecting ? '; reconnecting' : ''
      }`;
    case 'dial-failed':
      return `Could not connect to ${event.peer}: ${event.reason}; ${
        event.retryInMs === undefined ? 'giving up' : `retrying in ${formatDelay(event.retryInMs)}`
      }`;
    case 'rejected':
      return `Closed the connection from ${event.remote}: ${event.reason}`;
    case 'error':
      return `Error: ${event.message}`;
    case 'address-proven':
    case 'message-sent':
    case 'counters':
    case 'stopped':
      return undefined;
    default:
      return unreachable(event);
  }
}

/** The whole console line of an event (without a newline), or undefined when it has none. */
export function consoleLine(event: PeerEvent, startedAt: number): string | undefined {
  const text = consoleText(event);
  return text === undefined ? undefined : `# ${formatElapsed(event.at - startedAt)} - ${text}`;
}

/** One JSON line (without a newline): the event as it is, plus `elapsedMs` since start. */
export function jsonLine(event: PeerEvent, startedAt: number): string {
  return JSON.stringify({ ...event, elapsedMs: Math.max(0, Math.round(event.at - startedAt)) });
}

function unreachable(event: never): never {
  throw new Error(`unknown peer event ${JSON.stringify(event)}`);
}
