// Drift of many features: the feature x window heatmap, small multiples of the
// most drifted features, and a feature's own page. Uses timeSeries and
// distChart from aims.js and the vendored uPlot.
"use strict";

const MISSING = 65535; // a cell the monitor did not test (see aims.services.drift_matrix)
// Colour stops over the drift score (statistic relative to its threshold):
// blue-greys below the threshold, orange to dark red past it.
const STOPS = [
  [0, [245, 247, 250]], [0.5, [214, 224, 236]], [0.999, [170, 186, 208]],
  [1, [253, 212, 158]], [2, [252, 141, 89]], [4, [227, 74, 51]], [8, [153, 0, 0]],
];
const BOTTOM = [255, 255, 255];

function scoreColour(score) {
  if (score === null || score === undefined || Number.isNaN(score)) return BOTTOM;
  if (score >= STOPS[STOPS.length - 1][0]) return STOPS[STOPS.length - 1][1];
  for (let i = 1; i < STOPS.length; i++) {
    const [hi, chi] = STOPS[i];
    const [lo, clo] = STOPS[i - 1];
    if (score <= hi) {
      const t = hi === lo ? 1 : (score - lo) / (hi - lo);
      return clo.map((c, k) => Math.round(c + t * (chi[k] - c)));
    }
  }
  return STOPS[STOPS.length - 1][1];
}

// The legend's scale is piecewise: 0-1 takes half the bar, 1-8 the other half on a log scale.
function scaleToScore(x) {
  return x <= 0.5 ? 2 * x : Math.pow(2, (x - 0.5) * 6);
}

function drawScale(canvas) {
  if (!canvas) return;
  const g = canvas.getContext("2d");
  for (let px = 0; px < canvas.width; px++) {
    const [r, gg, b] = scoreColour(scaleToScore(px / (canvas.width - 1)));
    g.fillStyle = `rgb(${r},${gg},${b})`;
    g.fillRect(px, 0, 1, canvas.height);
  }
}

function decodeCells(text, rows, cols) {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) {
    const v = view.getUint16(2 * i, true);
    out[i] = v === MISSING ? NaN : v / 100;
  }
  return out;
}

function utcText(ts) {
  return new Date(ts * 1e3).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

// The colour of every score the page can carry (hundredths up to the top stop), looked
// up per cell instead of interpolated: 60,000 cells paint in a few milliseconds.
const TOP = Math.round(STOPS[STOPS.length - 1][0] * 100);
const SCORE_RGB = (() => {
  const out = new Uint8Array(3 * (TOP + 1));
  for (let v = 0; v <= TOP; v++) out.set(scoreColour(v / 100), 3 * v);
  return out;
})();

function drawHeatmap(el, d, base) {
  const rows = d.features.length, cols = d.times.length;
  const canvas = el.querySelector("canvas");
  const tip = el.querySelector(".tip");
  if (!rows || !cols) { el.textContent = "no windows yet"; return; }
  const cells = decodeCells(d.cells, rows, cols);
  const strip = 36; // importance, left of the cells
  const width = Math.max(320, el.clientWidth - 16);
  const rowH = Math.max(3, Math.min(16, Math.floor(900 / rows)));
  const cellW = (width - strip) / cols;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(rows * rowH * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${rows * rowH}px`;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  const image = g.createImageData(cols, rows);
  const px = image.data;
  for (let i = 0; i < rows * cols; i++) {
    const v = cells[i], k = 4 * i;
    if (Number.isNaN(v)) {
      px[k] = BOTTOM[0]; px[k + 1] = BOTTOM[1]; px[k + 2] = BOTTOM[2];
    } else {
      const j = 3 * Math.min(TOP, Math.max(0, Math.round(v * 100)));
      px[k] = SCORE_RGB[j]; px[k + 1] = SCORE_RGB[j + 1]; px[k + 2] = SCORE_RGB[j + 2];
    }
    px[k + 3] = 255;
  }
  // Paint one pixel per cell off screen, then scale it up without smoothing.
  const small = document.createElement("canvas");
  small.width = cols; small.height = rows;
  small.getContext("2d").putImageData(image, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(small, strip, 0, width - strip, rows * rowH);
  const weights = d.importance.map((v) => (v === null ? 0 : Math.max(0, v)));
  const top = Math.max(...weights, 1e-12);
  g.fillStyle = "#1f6feb";
  weights.forEach((w, r) => { if (w > 0) g.fillRect(strip - 2 - (strip - 6) * (w / top), r * rowH, (strip - 6) * (w / top), Math.max(1, rowH - 1)); });
  if (rowH >= 12) {
    g.fillStyle = "#1d2330"; g.font = "10px system-ui";
  }
  // incidents: red ticks along the top edge, at their window
  g.fillStyle = "#c62828";
  for (const inc of d.incidents || []) {
    let c = d.times.findIndex((t) => t >= inc.t);
    if (c < 0) c = cols - 1;
    g.fillRect(strip + c * cellW, 0, Math.max(2, cellW), 3);
  }
  el.dataset.painted = String(rows * cols);
  // When the frame holding the chart is drawn (what the dashboard benchmark reads).
  requestAnimationFrame(() => { el.dataset.paintedAt = String(Math.round(performance.now())); });
  el.querySelector(".axis").textContent =
    `${utcText(d.times[0])} \u2192 ${utcText(d.times[cols - 1])} \u00b7 ${cols} windows \u00b7 ${rows} features`;
  const at = (ev) => {
    const box = canvas.getBoundingClientRect();
    const x = ev.clientX - box.left, y = ev.clientY - box.top;
    const r = Math.floor(y / rowH), c = Math.floor((x - strip) / cellW);
    return r >= 0 && r < rows && c >= 0 && c < cols ? [r, c, x, y] : null;
  };
  canvas.addEventListener("mousemove", (ev) => {
    const hit = at(ev);
    if (!hit) { tip.hidden = true; return; }
    const [r, c, x, y] = hit;
    const v = cells[r * cols + c];
    const imp = d.importance[r];
    tip.textContent = `${d.features[r]} \u00b7 ${utcText(d.times[c])} \u00b7 drift score ` +
      `${Number.isNaN(v) ? "not tested" : v.toFixed(2) + " \u00d7 threshold"}` +
      (d.tests[r] ? ` (${d.tests[r]})` : "") + (imp !== null ? ` \u00b7 importance ${imp.toFixed(4)}` : "");
    tip.style.left = `${Math.min(x + 12, width - 260)}px`;
    tip.style.top = `${y + 12}px`;
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("click", (ev) => {
    const hit = at(ev);
    if (hit) window.location.href = `${base}/models/${encodeURIComponent(d.model)}/features/${encodeURIComponent(d.features[hit[0]])}?role=${encodeURIComponent(d.role)}`;
  });
}

function smallMultiples(d) {
  const boxes = document.querySelectorAll("#top-drifted .multiple");
  boxes.forEach((box, i) => {
    const values = d.top_series[i] || [];
    const el = box.querySelector(".small-chart");
    const width = Math.max(180, box.clientWidth - 8);
    new uPlot({
      width, height: 110,
      legend: { show: false },
      cursor: { show: false },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(2, max * 1.1)] } },
      // One line per tick (month/day, UTC): uPlot's default adds a second line
      // (the year) that a chart this small cuts off.
      axes: [{ size: 22, font: "10px system-ui", ticks: { show: false },
        values: (u, ticks) => ticks.map((t) => {
          const day = new Date(t * 1e3);
          return `${day.getUTCMonth() + 1}/${day.getUTCDate()}`;
        }) },
      { size: 30, font: "10px system-ui" }],
      series: [{}, { stroke: "#c62828", width: 1.5, spanGaps: true },
        { stroke: "#98a2b3", width: 1, dash: [4, 3], points: { show: false } }],
    }, [d.times, values, d.times.map(() => 1)], el);
  });
}

// Once the rest of the page is parsed (the small multiples, a feature's charts).
function whenParsed(fn) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
  else fn();
}

function aimsDrift(base) {
  // This script follows the heatmap in the page, so the heatmap is painted before the
  // browser parses the 300-row table and the charts below it.
  const data = document.getElementById("monitoring-data");
  const d = JSON.parse(data.textContent);
  drawScale(document.getElementById("heatmap-scale"));
  drawHeatmap(document.getElementById("heatmap"), d, base);
  whenParsed(() => smallMultiples(d));
}

function aimsFeature(base, model, role, feature) {
  const f = JSON.parse(document.getElementById("feature-data").textContent);
  const s = f.series;
  timeSeries(document.getElementById("feature-score"), f.times, [
    { label: "drift score (\u00d7 threshold)", values: s.score, color: "#c62828", width: 2 },
    { label: "threshold", values: f.times.map(() => 1), color: "#98a2b3" },
  ], { incidents: f.incidents, ylabel: "\u00d7 threshold" });
  timeSeries(document.getElementById("feature-statistic"), f.times, [
    { label: f.test || "statistic", values: s.statistic },
    { label: "threshold", values: s.threshold, color: "#98a2b3" },
  ], { ylabel: f.test || "" });
  timeSeries(document.getElementById("feature-psi"), f.times, [
    { label: "PSI", values: s.psi },
    { label: "share missing", values: s.null_share, color: "#98a2b3" },
  ], {});
  fetch(`${base}/api/models/${encodeURIComponent(model)}/distribution?feature=${encodeURIComponent(feature)}&role=${encodeURIComponent(role)}`)
    .then((r) => r.json()).then((dist) => distChart(document.getElementById("dist-chart"), dist, { xlabel: feature }));
}

(() => {
  const m = document.getElementById("monitoring-data");
  if (m) aimsDrift(m.dataset.base);
  const f = document.getElementById("feature-data");
  if (f) whenParsed(() => aimsFeature(f.dataset.base, f.dataset.model, f.dataset.role, f.dataset.feature));
})();
