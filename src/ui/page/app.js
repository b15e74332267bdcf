// The live view: one WebSocket, an `init` with the whole network, then a frame of changes every
// 150 ms (see src/ui/live-network.ts). The graph is graphology + sigma (WebGL), loaded as globals.
import { drawBars, drawSteps } from './charts.js';

const COLOR = { idle: '#4a7bb7', origin: '#f08c00', reached: '#d6336c', edge: '#cfd8e3' };
/** Idle peers by partition group (group 0 is also the colour with no partition). */
const GROUP_COLORS = ['#4a7bb7', '#2f9e44', '#9c36b5', '#868e96'];
/** A reached peer by the hops its copy crossed: 1 brightest, HOP_COLORS.length or more darkest. */
const HOP_COLORS = [
  '#ffd43b',
  '#fcc419',
  '#fd7e14',
  '#f76707',
  '#e8590c',
  '#d6336c',
  '#a61e4d',
  '#5f3dc4',
];
const REACH_COLORS = [
  '#c5cfdb',
  '#b3bfcd',
  '#a1afc0',
  '#8f9fb2',
  '#7d8fa4',
  '#6b7f96',
  '#597088',
  '#d6336c',
];

const graph = new graphology.Graph({ type: 'undirected' });
const renderer = new Sigma(graph, document.getElementById('graph'), {
  renderLabels: false,
  hideEdgesOnMove: true,
  // One-pixel GL lines instead of antialiased quads: far fewer fragments for thousands of links.
  edgeProgramClasses: { line: Sigma.rendering.EdgeLineProgram },
});
const $ = (id) => document.getElementById(id);

let addresses = [];
let latencyBounds = [];
/** Followed messages by id: origin, and receiver -> ms after the send. */
const spreads = new Map();
let spotlight;
let lit = new Set();
let groups = [];
let socket;

function idleColor(i) {
  return GROUP_COLORS[(groups[i] ?? 0) % GROUP_COLORS.length];
}

function hopColor(hops) {
  return HOP_COLORS[Math.min(HOP_COLORS.length, Math.max(1, hops)) - 1];
}

function position(i) {
  const angle = (2 * Math.PI * i) / addresses.length - Math.PI / 2;
  return { x: Math.cos(angle), y: Math.sin(angle) };
}

function nodeSize() {
  return Math.max(2, Math.min(9, 260 / Math.sqrt(addresses.length * 4)));
}

function addNode(i) {
  const key = String(i);
  if (graph.hasNode(key)) return;
  graph.addNode(key, {
    ...position(i),
    size: nodeSize(),
    color: idleColor(i),
    label: addresses[i],
  });
}

function addEdge(a, b) {
  const s = String(a);
  const t = String(b);
  if (!graph.hasNode(s) || !graph.hasNode(t) || graph.hasEdge(s, t)) return;
  graph.addEdge(s, t, { color: COLOR.edge, size: addresses.length > 200 ? 0.3 : 0.6 });
}

function dropEdge(a, b) {
  const s = String(a);
  const t = String(b);
  if (graph.hasNode(s) && graph.hasNode(t) && graph.hasEdge(s, t)) graph.dropEdge(s, t);
}

function paint(i, color) {
  const key = String(i);
  if (graph.hasNode(key)) graph.setNodeAttribute(key, 'color', color);
}

function fillPeers() {
  for (const id of ['peer', 'other']) {
    const select = $(id);
    const chosen = select.value;
    select.replaceChildren(
      ...addresses.map((address, i) => {
        const option = document.createElement('option');
        option.value = String(i);
        option.textContent = `${address}${graph.hasNode(String(i)) ? '' : ' (stopped)'}`;
        return option;
      }),
    );
    if (chosen !== '') select.value = chosen;
  }
  if ($('other').value === $('peer').value && addresses.length > 1) $('other').value = '1';
}

function mergeSpreads(list) {
  for (const s of list) {
    let spread = spreads.get(s.id);
    if (spread === undefined) {
      spread = { id: s.id, origin: s.origin, text: s.text, reached: new Map() };
      spreads.set(s.id, spread);
    }
    for (const [peer, hops, ms] of s.reached)
      if (!spread.reached.has(peer)) spread.reached.set(peer, { hops, ms });
  }
  while (spreads.size > 8) spreads.delete(spreads.keys().next().value);
  const newest = [...spreads.values()].at(-1);
  if (newest === undefined) return;
  if (newest.id !== spotlight?.id) {
    for (const i of lit) paint(i, idleColor(i));
    lit = new Set();
    spotlight = newest;
    paint(newest.origin, COLOR.origin);
    lit.add(newest.origin);
  }
  let deepest = 0;
  for (const [peer, { hops }] of newest.reached) {
    deepest = Math.max(deepest, hops);
    if (lit.has(peer)) continue;
    paint(peer, hopColor(hops));
    lit.add(peer);
  }
  $('spread-caption').textContent =
    `[${newest.text}] from ${addresses[newest.origin]}: ${newest.reached.size} reached, ` +
    `${deepest} hop${deepest === 1 ? '' : 's'} at most`;
}

function figures(frame) {
  $('phase').textContent = frame.phase;
  $('nodes').textContent = String(graph.order);
  $('links').textContent = String(graph.size);
  $('deliveries').textContent = frame.deliveries.toLocaleString('en');
  $('elapsed').textContent = `${(frame.t / 1000).toFixed(1)} s`;
  drawBars($('degrees'), frame.degrees.length ? frame.degrees : [0], (i) => String(i), COLOR.idle);
  const labels = [...latencyBounds.map((b) => `≤${b} ms`), `>${latencyBounds.at(-1)} ms`];
  drawBars($('latency'), frame.latency, (i) => labels[i], COLOR.reached);
  const curves = [...spreads.values()].map((s) =>
    [...s.reached.values()].map((r) => r.ms).sort((a, b) => a - b),
  );
  drawSteps(
    $('reach'),
    curves,
    Math.max(1, frame.peers - 1),
    'ms',
    REACH_COLORS.slice(-curves.length),
  );
}

function regroup(next) {
  groups = next;
  const parts = new Set(groups).size;
  $('partition-state').textContent = parts > 1 ? `partitioned into ${parts} groups` : 'none';
  graph.forEachNode((key) => {
    if (!lit.has(Number(key))) graph.setNodeAttribute(key, 'color', idleColor(Number(key)));
  });
}

function apply(frame) {
  if (frame.groups !== undefined) regroup(frame.groups);
  for (const i of frame.up) addNode(i);
  for (const i of frame.down) if (graph.hasNode(String(i))) graph.dropNode(String(i));
  for (const [a, b] of frame.added) addEdge(a, b);
  for (const [a, b] of frame.removed) dropEdge(a, b);
  mergeSpreads(frame.spreads);
  if (frame.up.length || frame.down.length) fillPeers();
}

/**
 * The graph is redrawn at most every `redrawEvery` ms, with every frame that came meanwhile: a
 * redraw of thousands of links costs the GPU, and in software WebGL (headless Chromium) one took
 * 150-400 ms at 2,000 peers and 5,848 links, so redrawing on each 150 ms frame froze the page at
 * 2-3 frames/s (npm run bench:ui). The pace adapts to what a redraw costs here: at most
 * REDRAW_SHARE of the time goes to it, never more often than the server's frames.
 */
const MIN_REDRAW_MS = 150;
const MAX_REDRAW_MS = 2_000;
const REDRAW_SHARE = 0.2;
let redrawEvery = MIN_REDRAW_MS;
let pending = [];
let redrawTimer;

function queue(frame) {
  pending.push(frame);
  if (redrawTimer === undefined) redrawTimer = setTimeout(redraw, redrawEvery);
}

function redraw() {
  redrawTimer = undefined;
  const frames = pending;
  pending = [];
  for (const frame of frames) apply(frame);
  const last = frames.at(-1);
  if (last !== undefined) figures(last);
  // What it cost: the time until the second animation frame after it (the first may come before
  // the GPU has drawn).
  const started = performance.now();
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      const cost = performance.now() - started;
      redrawEvery = Math.min(MAX_REDRAW_MS, Math.max(MIN_REDRAW_MS, cost / REDRAW_SHARE));
      $('redraw').textContent = `every ${Math.round(redrawEvery)} ms`;
    }),
  );
}

function onMessage(message) {
  const data = JSON.parse(message.data);
  if (data.type === 'init') {
    graph.clear();
    spreads.clear();
    spotlight = undefined;
    lit = new Set();
    groups = data.frame.groups ?? [];
    addresses = data.addresses;
    latencyBounds = data.latencyBoundsMs;
    data.alive.forEach((alive, i) => {
      if (alive) addNode(i);
    });
    for (const [a, b] of data.edges) addEdge(a, b);
    fillPeers();
    clearTimeout(redrawTimer);
    pending = [];
    queue(data.frame);
    redraw();
  } else if (data.type === 'frame') queue(data);
}

function send(command, text) {
  if (socket?.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify(command));
  $('status').textContent = text;
}

$('kill').addEventListener('click', () => {
  const peer = Number($('peer').value);
  send({ type: 'kill', peer }, `killing ${addresses[peer]} (no goodbye)`);
});
$('stop').addEventListener('click', () => {
  const peer = Number($('peer').value);
  send({ type: 'stop', peer }, `stopping ${addresses[peer]} (with goodbyes)`);
});
$('partition').addEventListener('click', () => {
  const count = Number($('groups').value);
  send({ type: 'partition', groups: count }, `partitioned into ${count} groups`);
});
$('heal').addEventListener('click', () => {
  send({ type: 'heal' }, 'healed');
});
$('restart').addEventListener('click', () => {
  const peer = Number($('peer').value);
  send({ type: 'restart', peer }, `restarting ${addresses[peer]}`);
});
$('cut').addEventListener('click', () => {
  const peer = Number($('peer').value);
  const other = Number($('other').value);
  if (peer !== other)
    send({ type: 'cut', peer, other }, `cut ${addresses[peer]} - ${addresses[other]}`);
});
renderer.on('clickNode', ({ node }) => {
  $('peer').value = node;
});

function connect() {
  socket = new WebSocket(`ws://${location.host}/ws`);
  socket.addEventListener('message', onMessage);
  socket.addEventListener('close', () => {
    $('phase').textContent = 'disconnected (the run ended?)';
  });
}
connect();
