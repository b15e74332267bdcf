/**
 * Whether the live page (`emulate --ui`) stays fluid at 2,000 peers, apart from how fast an
 * overlay of 2,000 forms: the page's own server (`serveUi`, `LiveNetwork`) is fed a synthetic
 * overlay (a seeded graph of `DEGREE` links a peer), then, while headless Chromium shows it, a
 * stream of changes like a busy run's: links cut and made, and a message a second spreading hop
 * by hop. Measures the time until the page shows every node and link, its frames per second while
 * the changes stream, and its longest task. Run: `npm run bench:ui [-- N]` (needs chromium; the
 * figures depend on the GPU: headless Chromium draws WebGL in software, a desktop does better).
 * `CUTS=0` or `MSGS=0` in the environment stream only messages or only link changes;
 * `PROFILE=file.cpuprofile` keeps the page's CPU profile and `TRACE=file.json` a Chromium trace
 * (GPU process included) of the streaming part.
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import puppeteer from 'puppeteer-core';
import { createRng } from '../src/core/rng.js';
import type { LiveRun } from '../src/emulator/emulate.js';
import type { EmulationResult } from '../src/emulator/result.js';
import { bfsDistances } from '../src/report/graph.js';
import { LiveNetwork } from '../src/ui/live-network.js';
import { serveUi } from '../src/ui/server.js';

const N = Number(process.argv[2] ?? 2_000);
const DEGREE = 5;
/** Changes streamed while the frame rate is measured. */
const STREAM_MS = 10_000;
const CUTS_PER_SECOND = Number(process.env.CUTS ?? 20);
const MESSAGES_PER_SECOND = Number(process.env.MSGS ?? 1);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const rng = createRng(7);
const addresses = Array.from({ length: N }, (_, i) => `127.0.0.1:${20_000 + i}`);
const t0 = performance.timeOrigin + performance.now();
const clock = (): number => performance.timeOrigin + performance.now();
const network = new LiveNetwork(addresses, t0);
const address = (i: number): string => addresses[i] as string;

/** A seeded random graph of about DEGREE links a peer (pairs drawn until each has its share). */
const adjacency: Set<number>[] = addresses.map(() => new Set());
function link(a: number, b: number): void {
  adjacency[a]?.add(b);
  adjacency[b]?.add(a);
  const at = clock();
  network.observe(a, { type: 'connected', peer: address(b), direction: 'outbound', at });
  network.observe(b, { type: 'connected', peer: address(a), direction: 'inbound', at });
}
function unlink(a: number, b: number): void {
  adjacency[a]?.delete(b);
  adjacency[b]?.delete(a);
  const at = clock();
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const)
    network.observe(x, {
      type: 'disconnected',
      peer: address(y),
      reason: 'bench',
      reconnecting: false,
      at,
    });
}

for (let i = 0; i < N; i++) {
  network.observe(i, {
    type: 'listening',
    bound: address(i),
    advertised: address(i),
    nodeId: String(i),
    at: clock(),
  });
}
for (let i = 0; i < N; i++) {
  while ((adjacency[i]?.size ?? 0) < DEGREE) {
    const j = rng.int(N);
    if (j !== i && !adjacency[i]?.has(j) && (adjacency[j]?.size ?? 0) < DEGREE + 1) link(i, j);
    else if ((adjacency[i]?.size ?? 0) >= DEGREE - 1 && rng.next() < 0.01) break;
  }
}
const links = (): number => adjacency.reduce((sum, s) => sum + s.size, 0) / 2;
network.phase = 'running';

const run: LiveRun = {
  addresses,
  snapshot: () => ({ status: 'bench', links: links() }) as unknown as EmulationResult,
  end: () => {},
  restart: () => {},
  breakLink: () => {},
  partition: () => {},
  heal: () => {},
};
const server = await serveUi(network, run, 0);
const browser = await puppeteer.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--enable-unsafe-swiftshader'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  const opened = clock();
  await page.goto(server.url);
  await page.waitForFunction(
    `document.getElementById('nodes').textContent === '${N}' && document.getElementById('links').textContent === '${links()}'`,
    { timeout: 120_000 },
  );
  const shownMs = clock() - opened;

  // Frames and long tasks in the page while the changes stream.
  // (Page code as text: the project compiles without the DOM's types.)
  await page.evaluate(`
    window.frames_ = 0;
    window.longest_ = 0;
    const tick = () => { window.frames_++; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.longest_ = Math.max(window.longest_, entry.duration);
    }).observe({ type: 'longtask' });
  `);
  const idleStart = clock();
  await delay(3_000);
  const idle = (await page.evaluate('window.frames_')) as number;
  const idleFps = idle / ((clock() - idleStart) / 1_000);
  await page.evaluate('window.frames_ = 0; window.longest_ = 0;');
  const profiler = process.env.PROFILE === undefined ? undefined : await page.createCDPSession();
  if (profiler !== undefined) {
    await profiler.send('Profiler.enable');
    await profiler.send('Profiler.start');
  }
  if (process.env.TRACE !== undefined) await page.tracing.start({ path: process.env.TRACE });
  const streamStart = clock();
  let sent = 0;
  let cuts = 0;
  while (clock() - streamStart < STREAM_MS) {
    const elapsed = clock() - streamStart;
    while (cuts < (elapsed / 1_000) * CUTS_PER_SECOND) {
      const a = rng.int(N);
      const b = [...(adjacency[a] ?? [])][0];
      if (b !== undefined) {
        unlink(a, b);
        let c = rng.int(N);
        while (c === a || adjacency[a]?.has(c)) c = rng.int(N);
        link(a, c);
      }
      cuts++;
    }
    if (sent < (elapsed / 1_000) * MESSAGES_PER_SECOND) {
      const origin = rng.int(N);
      const text = `bench-${sent++}`;
      const at = clock();
      network.observe(origin, { type: 'message-sent', text, peers: DEGREE, at });
      const hops = bfsDistances(
        adjacency.map((s) => [...s]),
        origin,
      );
      hops.forEach((h, i) => {
        if (i !== origin && h > 0)
          network.observe(i, {
            type: 'message-received',
            peer: address(origin),
            text,
            hops: h,
            at: at + h,
          });
      });
    }
    await delay(20);
  }
  const { frames, longest, redraw } = (await page.evaluate(
    "({ frames: window.frames_, longest: window.longest_, redraw: document.getElementById('redraw').textContent })",
  )) as { frames: number; longest: number; redraw: string };
  const fps = frames / ((clock() - streamStart) / 1_000);
  if (process.env.TRACE !== undefined) await page.tracing.stop();
  if (profiler !== undefined && process.env.PROFILE !== undefined) {
    const { profile } = await profiler.send('Profiler.stop');
    writeFileSync(process.env.PROFILE, JSON.stringify(profile));
  }
  console.log(
    `live page, ${N} peers, ${links()} links (synthetic), headless Chromium (software WebGL):\n` +
      `  every node and link shown ${shownMs.toFixed(0)} ms after opening the page\n` +
      `  with no change: ${idleFps.toFixed(1)} frames/s\n` +
      `  while ${CUTS_PER_SECOND} links/s change and ${MESSAGES_PER_SECOND} message/s spreads: ` +
      `${fps.toFixed(1)} frames/s, longest task ${longest.toFixed(0)} ms, graph redrawn ${redraw}`,
  );
} finally {
  await browser.close();
  await server.close();
}
