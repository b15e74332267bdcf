// Small canvas charts for the live page: bars and step lines, no library (the page has no build).

const AXIS = '#8795a5';
const FONT = '10px system-ui, sans-serif';

function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  if (canvas.width !== width * ratio) {
    canvas.width = width * ratio;
    canvas.height = height * ratio;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;
  return { ctx, width, height };
}

/** Bars of `values`, labelled under the first, middle and last bar by `label(i)`. */
export function drawBars(canvas, values, label, color) {
  const { ctx, width, height } = prepare(canvas);
  const left = 30;
  const bottom = height - 16;
  const max = Math.max(1, ...values);
  const step = (width - left - 6) / Math.max(1, values.length);
  ctx.fillStyle = color;
  values.forEach((v, i) => {
    const h = ((bottom - 8) * v) / max;
    ctx.fillRect(left + i * step + 1, bottom - h, Math.max(1, step - 2), h);
  });
  ctx.fillStyle = AXIS;
  ctx.fillText(String(max), 2, 14);
  ctx.fillText('0', 2, bottom);
  const last = values.length - 1;
  for (const i of new Set([0, Math.floor(last / 2), last])) {
    if (i < 0) continue;
    const text = label(i);
    const at = i === last && i > 0 ? width - 4 - ctx.measureText(text).width : left + i * step;
    ctx.fillText(text, at, height - 3);
  }
}

/** Below this the reach chart's log axis does not go: loopback deliveries take 0.1 ms and up. */
const MIN_X = 0.05;

/**
 * Step lines on a log x axis (latencies span milliseconds to seconds): each series is a sorted
 * array of x values; y climbs by one per value, to `total`.
 */
export function drawSteps(canvas, series, total, unit, colors) {
  const { ctx, width, height } = prepare(canvas);
  const left = 30;
  const bottom = height - 16;
  const maxX = Math.max(MIN_X * 10, ...series.map((s) => s[s.length - 1] ?? 0));
  const span = Math.log(maxX / MIN_X);
  const x = (v) => left + ((width - left - 8) * Math.log(Math.max(v, MIN_X) / MIN_X)) / span;
  const y = (n) => bottom - ((bottom - 8) * n) / Math.max(1, total);
  series.forEach((points, k) => {
    ctx.strokeStyle = colors[k % colors.length];
    ctx.lineWidth = k === series.length - 1 ? 2 : 1;
    ctx.beginPath();
    ctx.moveTo(x(MIN_X), y(0));
    points.forEach((v, i) => {
      ctx.lineTo(x(v), y(i));
      ctx.lineTo(x(v), y(i + 1));
    });
    ctx.stroke();
  });
  ctx.fillStyle = AXIS;
  ctx.fillText('100%', 0, 14);
  ctx.fillText('0', 2, bottom);
  ctx.fillText(`${MIN_X} ${unit}`, left, height - 3);
  const last = `${maxX < 10 ? maxX.toFixed(2) : Math.round(maxX)} ${unit}`;
  ctx.fillText(last, width - 8 - ctx.measureText(last).width, height - 3);
}
