/**
 * Times the two mechanisms of the original's "future improvements" in one process: how long an
 * inbound peer's address takes to prove (the dial-back), and how long a broken link takes to come
 * back (both ends redial; the tie-break keeps one). Run: `node --import tsx bench/recovery.ts [N]`.
 */
import { Durations } from '../src/emulator/durations.js';
import { Peer } from '../src/peer/peer.js';
import { isFullMesh, nextEvent, until } from '../src/peer/wait.js';

const n = Number(process.argv[2] ?? 20);
const CUTS = 30;
const peers: Peer[] = [];
const proofs = new Durations();
const cuts = new Durations();
const joinProofs = new Durations();
let forming = true;
let newcomerPort = -1;

const format = (d: Durations): string =>
  `p50 ${d.percentile(50).toFixed(2)} ms, p90 ${d.percentile(90).toFixed(2)} ms, max ${d.max.toFixed(2)} ms over ${d.count}`;

try {
  for (let i = 0; i < n; i++) {
    const previous = peers[i - 1];
    const peer = new Peer({
      port: 0,
      bindHost: '127.0.0.1',
      periodMs: 1_000,
      ...(previous === undefined ? {} : { connect: previous.advertised }),
    });
    peer.events.subscribe((e) => {
      // The mesh's own proofs; the newcomer's are counted apart below.
      if (e.type === 'address-proven' && forming && !e.peer.endsWith(`:${newcomerPort}`)) {
        proofs.record(e.ms);
      }
    });
    await peer.start();
    peers.push(peer);
  }
  await until(peers, () => isFullMesh(peers), `a full mesh of ${n}`, 60_000);
  // A newcomer joins the formed mesh: every peer it dials proves its address.
  const newcomer = new Peer({ port: 0, bindHost: '127.0.0.1', periodMs: 1_000 });
  const unsubscribe = peers.map((p) =>
    p.events.subscribe((e) => {
      if (e.type === 'address-proven' && e.peer === newcomer.advertised) joinProofs.record(e.ms);
    }),
  );
  await newcomer.start();
  newcomerPort = newcomer.port;
  peers.push(newcomer);
  newcomer.join(peers[0]?.advertised ?? '');
  // Peers that dialed the newcomer themselves need no proof of it.
  const dialedIt = () =>
    peers.filter((p) =>
      p.links.some((l) => l.peer === newcomer.advertised && l.direction === 'outbound'),
    ).length;
  await until(
    peers,
    () => isFullMesh(peers) && joinProofs.count + dialedIt() >= n,
    'the newcomer proven',
    60_000,
  );
  for (const u of unsubscribe) u();
  forming = false;
  for (let k = 0; k < CUTS; k++) {
    const a = peers[k % n];
    const b = peers[(k * 7 + 3) % n];
    if (a === undefined || b === undefined || a === b) continue;
    const started = performance.now();
    const back = Promise.all([
      nextEvent(a, 'connected', (e) => e.peer === b.advertised),
      nextEvent(b, 'connected', (e) => e.peer === a.advertised),
    ]);
    a.breakLink(b.advertised);
    await back;
    cuts.record(performance.now() - started);
  }
  console.log(`${n} peers joining one after another (chain), one thread`);
  console.log(`address proofs (dial-back, while the mesh formed): ${format(proofs)}`);
  console.log(`link broken -> restored at both ends: ${format(cuts)}`);
  console.log(`a newcomer's address proven by each peer of the formed mesh: ${format(joinProofs)}`);
} finally {
  await Promise.all(peers.map((p) => p.stop()));
}
