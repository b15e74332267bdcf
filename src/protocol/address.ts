import { isIP } from 'node:net';
import { type ParseResult, refused } from './errors.js';
import { MAX_ADDRESS_LENGTH } from './limits.js';

export type { ParseResult };

/** A peer's network address: an IPv4 or IPv6 literal or a DNS name, and a TCP port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
const PORT = /^[0-9]{1,5}$/;

/** Parses a TCP port number, 1..65535 (or 0..65535 with `allowZero`, for "pick a free port"). */
export function parsePort(text: string, allowZero = false): ParseResult<number> {
  if (!PORT.test(text)) return refused('NOT_A_PORT', `'${text}' is not a port number`);
  const port = Number(text);
  if (port > 65_535 || (port === 0 && !allowZero)) {
    return refused(
      'PORT_OUT_OF_RANGE',
      `port ${port} is out of range (${allowZero ? 0 : 1}-65535)`,
    );
  }
  return { ok: true, value: port };
}

function isHostName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => DNS_LABEL.test(l));
}

/** Parses a host alone: an IPv4 literal, an IPv6 literal (with or without brackets) or a DNS name. */
export function parseHost(text: string): ParseResult<string> {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  // A zone id (fe80::1%eth0) names an interface of the sender's host: meaningless to anyone else.
  if (bare.includes('%'))
    return refused('ZONE_ID', `'${text}': addresses with a zone id are not accepted`);
  if (isIP(bare) !== 0) return { ok: true, value: canonicalHost(bare) };
  // `2130706433`, `127.1`, `0x7f.0.0.1`, `0177.0.0.1`: spellings of an IPv4 address that the
  // resolver (inet_aton) accepts. Taken as names they would slip past every comparison (a peer
  // told to dial `2130706433:ITS_PORT` would dial itself): canonicalise them, or refuse.
  if (bare === text && NUMERIC_LAST_LABEL.test(text.replace(/\.$/, '').split('.').pop() ?? '')) {
    const ipv4 = numericIPv4(text);
    return ipv4 === undefined
      ? refused('NOT_IPV4', `'${text}' is neither an IPv4 address nor a host name`)
      : { ok: true, value: ipv4 };
  }
  // A trailing dot names the same host: drop it, so both spellings compare equal.
  if (bare === text && isHostName(text))
    return { ok: true, value: text.toLowerCase().replace(/\.$/, '') };
  return refused('BAD_HOST_NAME', `'${text}' is not an IP address or a host name`);
}

/** Parses `host:port`, `[v6]:port` or `name:port`. */
export function parseHostPort(text: string): ParseResult<HostPort> {
  if (text.length > MAX_ADDRESS_LENGTH) {
    return refused('ADDRESS_TOO_LONG', `address longer than ${MAX_ADDRESS_LENGTH} characters`);
  }
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return refused('NOT_HOST_PORT', `'${text}' is not of the form host:port`);
  const hostText = text.slice(0, colon);
  if (hostText.includes(':') && !(hostText.startsWith('[') && hostText.endsWith(']'))) {
    return refused(
      'IPV6_WITHOUT_BRACKETS',
      `'${text}': an IPv6 address needs brackets, as in [::1]:8080`,
    );
  }
  const host = parseHost(hostText);
  if (!host.ok) return host;
  const port = parsePort(text.slice(colon + 1));
  if (!port.ok) return port;
  return { ok: true, value: { host: host.value, port: port.value } };
}

/** A last label in decimal, octal or hex: the host is meant as a number, not a name. */
const NUMERIC_LAST_LABEL = /^(0x[0-9a-f]*|[0-9]+)$/i;

/**
 * The dotted-quad form of a numeric IPv4 spelling (1 to 4 parts, each decimal, octal with a
 * leading 0, or hex with 0x), by the WHATWG URL host parser, which follows inet_aton; undefined
 * when a part is out of range or the text is not such a spelling.
 */
function numericIPv4(text: string): string | undefined {
  try {
    const host = new URL(`http://${text}/`).hostname;
    return isIP(host) === 4 ? host : undefined;
  } catch {
    return undefined;
  }
}

/** One spelling per IP literal, so that equal addresses compare equal as strings. */
function canonicalHost(ip: string): string {
  if (isIP(ip) === 6) return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  return ip;
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The canonical spelling of a `host:port` text, or undefined when it is not one. */
export function normalizeAddress(text: string): string | undefined {
  const parsed = parseHostPort(text);
  return parsed.ok ? formatHostPort(parsed.value) : undefined;
}
