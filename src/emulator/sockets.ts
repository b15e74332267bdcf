import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * TCP connections as the kernel sees them (`/proc/net/tcp` and `/proc/net/tcp6`, what `ss` reads),
 * not as the peers believe them to be. The emulator reports this count beside its links, and the
 * tests assert "one connection per pair" and "nothing leaked" with it.
 */
export interface TcpEntry {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The kernel's state name, e.g. `ESTABLISHED`. */
  readonly state: string;
  /** The socket's inode, to match it with a process's `/proc/PID/fd` links. */
  readonly inode: number;
}

const STATES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
};

/** `0100007F` (IPv4) or 32 hex digits (IPv6), each 32-bit word in host (little-endian) order. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)]);
  if (bytes.length === 4) return bytes.map((b) => Number.parseInt(b, 16)).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(`${bytes[i]}${bytes[i + 1]}`.replace(/^0{1,3}/, ''));
  const text = groups.join(':');
  const v4 = text.match(/^0:0:0:0:0:ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/);
  if (v4?.[1] !== undefined && v4[2] !== undefined) {
    const hi = Number.parseInt(v4[1], 16);
    const lo = Number.parseInt(v4[2], 16);
    return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return text;
}

function parseTable(path: string): TcpEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return []; // No IPv6 on this machine, or not Linux.
  }
  const entries: TcpEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [local = '', remote = ''] = [f[1], f[2]];
    const [lAddr = '', lPort = ''] = local.split(':');
    const [rAddr = '', rPort = ''] = remote.split(':');
    entries.push({
      localAddress: decodeAddress(lAddr),
      localPort: Number.parseInt(lPort, 16),
      remoteAddress: decodeAddress(rAddr),
      remotePort: Number.parseInt(rPort, 16),
      state: STATES[f[3] ?? ''] ?? f[3] ?? '',
      inode: Number(f[9]),
    });
  }
  return entries;
}

/** Every TCP socket of this network namespace, IPv4 and IPv6. */
export function readTcpTable(): TcpEntry[] {
  return [...parseTable('/proc/net/tcp'), ...parseTable('/proc/net/tcp6')];
}

/** Whether the kernel's table can be read here (Linux); elsewhere the counts are not reported. */
export function canReadTcpTable(): boolean {
  try {
    readFileSync('/proc/net/tcp', 'utf8');
    return true;
  } catch {
    return false;
  }
}

/**
 * Established connections accepted on a port in `[low, high]`: one per TCP connection to a peer
 * listening there (the dialing end has an ephemeral local port, so it is not counted twice), as
 * `ss -Htn state established '( sport >= :low and sport <= :high )'` counts them.
 */
export function countAcceptedConnections(
  low: number,
  high: number,
  table = readTcpTable(),
): number {
  return table.filter((e) => e.state === 'ESTABLISHED' && e.localPort >= low && e.localPort <= high)
    .length;
}

/** The socket inodes a process holds open (`/proc/PID/fd`), to tell whose a connection is. */
export function socketInodesOf(pid: number): Set<number> {
  const inodes = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
      if (m?.[1] !== undefined) inodes.add(Number(m[1]));
    } catch {
      // The descriptor closed while we read the folder.
    }
  }
  return inodes;
}
