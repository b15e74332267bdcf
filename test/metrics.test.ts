import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { runEmulation } from '../src/emulator/emulate.js';
import { GossipDeliveries } from '../src/metrics/deliveries.js';
import { NetworkMetrics } from '../src/metrics/network-metrics.js';
import { BYTES_REPORT_MS } from '../src/metrics/thread-bytes.js';
import type { PeerEvent, PeerEventInit } from '../src/peer/events.js';
import { LiveSession } from '../src/ui/live-session.js';
import { WAIT_TIMEOUT_MS } from './support/wait.js';

const A = '127.0.0.1:8080';
/** Some peer has reported sending bytes. */
const BYTES_SENT = /^naive_peer_bytes_sent_total\{.*\} [1-9]/m;
const B = '127.0.0.1:8081';

function event(e: PeerEventInit, at = 0): PeerEvent {
  return { ...e, at } as PeerEvent;
}

/** The value of one series in a Prometheus text exposition, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('metrics count links, gossip, dials, proofs and refusals from the peer events', async () => {
  const metrics = new NetworkMetrics();
  const seen: PeerEventInit[] = [
    { type: 'listening', bound: '0.0.0.0:8080', advertised: A, nodeId: 'a' },
    { type: 'connected', peer: B, direction: 'outbound' },
    // A second connection to the same peer is no second link.
    { type: 'connected', peer: B, direction: 'inbound' },
    { type: 'address-proven', peer: B, ms: 4 },
    { type: 'message-sent', text: 'x', peers: 1 },
    { type: 'message-received', peer: B, text: 'y' },
    { type: 'dial-failed', peer: '127.0.0.1:9', reason: 'ECONNREFUSED', code: 'SOCKET_ERROR' },
    { type: 'rejected', remote: '10.0.0.1', reason: 'refused 3', code: 'HANDSHAKE_LIMIT' },
    { type: 'rejected', remote: '10.0.0.1', reason: 'refused 1', code: 'HANDSHAKE_LIMIT' },
    { type: 'rejected', remote: '10.0.0.1', reason: 'something new' },
  ];
  for (const e of seen) metrics.observe(A, event(e));
  const text = await metrics.expose();
  assert.equal(sample(text, 'naive_peer_links'), 1);
  assert.equal(sample(text, 'naive_peer_peers'), 1);
  assert.equal(sample(text, 'naive_peer_messages_sent_total'), 1);
  assert.equal(sample(text, 'naive_peer_messages_received_total'), 1);
  assert.equal(sample(text, 'naive_peer_dials_total'), 2);
  assert.equal(sample(text, 'naive_peer_dials_failed_total{reason="SOCKET_ERROR"}'), 1);
  assert.equal(sample(text, 'naive_peer_proofs_passed_total{by="probe"}'), 1);
  assert.equal(sample(text, 'naive_peer_connections_refused_total{reason="HANDSHAKE_LIMIT"}'), 2);
  assert.equal(sample(text, 'naive_peer_connections_refused_total{reason="unclassified"}'), 1);
  // A lone peer never sees both ends of a delivery: no empty latency histogram.
  assert.doesNotMatch(text, /gossip_latency/);

  metrics.observe(A, event({ type: 'disconnected', peer: B, reason: 'x', reconnecting: true }));
  metrics.observe(
    A,
    event({
      type: 'disconnected',
      peer: B,
      reason: 'y',
      reconnecting: false,
      code: 'PROOF_FAILED',
    }),
  );
  const after = await metrics.expose();
  assert.equal(sample(after, 'naive_peer_links'), 0);
  assert.equal(sample(after, 'naive_peer_reconnects_total'), 1);
  assert.equal(sample(after, 'naive_peer_proofs_failed_total'), 1);
});

test('per-peer metrics label each series by peer; the default sums over peers', async () => {
  const perPeer = new NetworkMetrics({ perPeer: true });
  const summed = new NetworkMetrics();
  for (const metrics of [perPeer, summed]) {
    metrics.observe(A, event({ type: 'connected', peer: B, direction: 'outbound' }));
    metrics.observe(B, event({ type: 'connected', peer: A, direction: 'inbound' }));
    metrics.addBytes(A, 10, 20);
    metrics.addBytes(B, 20, 10);
  }
  const labelled = await perPeer.expose();
  assert.equal(sample(labelled, `naive_peer_links{peer="${A}"}`), 1);
  assert.equal(sample(labelled, `naive_peer_links{peer="${B}"}`), 1);
  assert.equal(sample(labelled, `naive_peer_bytes_sent_total{peer="${A}"}`), 20);
  const total = await summed.expose();
  assert.equal(sample(total, 'naive_peer_links'), 2);
  assert.equal(sample(total, 'naive_peer_bytes_received_total'), 30);
});

test('deliveries match receipts to sends, also a receipt that arrives before its send, and keep its hops', () => {
  const deliveries = new GossipDeliveries(1_000);
  assert.equal(deliveries.onReceived(1, 'early', 105, 3), undefined);
  assert.deepEqual(deliveries.onSent(0, 'early', 100), [
    { origin: 0, receiver: 1, sentAt: 100, latencyMs: 5, hops: 3 },
  ]);
  assert.deepEqual(deliveries.onReceived(2, 'early', 110), {
    origin: 0,
    receiver: 2,
    sentAt: 100,
    latencyMs: 10,
    hops: 1,
  });
  // Forgotten once older than the time to live.
  deliveries.onSent(3, 'later', 2_000);
  assert.equal(deliveries.onReceived(4, 'early', 2_001), undefined);
});

test('emulate metrics: per-peer links of a formed mesh, bytes from the threads, gossip latency', async () => {
  const stderr = new PassThrough();
  let printed = '';
  stderr.setEncoding('utf8').on('data', (chunk: string) => {
    printed += chunk;
  });
  const live = new LiveSession({ stderr, metrics: { port: 0, perPeer: true } });
  const controller = new AbortController();
  let scraped = '';
  const result = await runEmulation(
    {
      peers: 4,
      basePort: 0,
      threads: 2,
      periodMs: 200,
      hold: true,
      signal: controller.signal,
      observe: live.observe,
      observeBytes: live.addBytes,
      onLaunch: live.onLaunch,
    },
    (progress) => {
      if (progress.phase !== 'running' || progress.deliveries < 12 || scraped !== '') return;
      scraped = 'pending';
      // Formed, and gossip flowing: scrape once, then end the held run as Ctrl-C would.
      void (async () => {
        await live.ready;
        const url = /^metrics: (\S+)$/m.exec(printed)?.[1] ?? '';
        // Threads report bytes once a second (BYTES_REPORT_MS): scrape until they have.
        const deadline = Date.now() + WAIT_TIMEOUT_MS;
        do {
          scraped = await (await fetch(url)).text();
          if (BYTES_SENT.test(scraped)) break;
          await delay(BYTES_REPORT_MS / 4);
        } while (Date.now() < deadline);
        controller.abort();
      })();
    },
  );
  await live.close();
  assert.equal(result.status, 'mesh');
  const links = scraped.split('\n').filter((l) => l.startsWith('naive_peer_links{'));
  assert.equal(links.length, 4, scraped);
  for (const line of links) assert.match(line, / 3$/);
  const count = sample(scraped, 'naive_peer_gossip_latency_seconds_count');
  assert.ok(count !== undefined && count >= 12, scraped);
  assert.match(scraped, BYTES_SENT);
});
