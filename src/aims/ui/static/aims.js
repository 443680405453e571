// The dashboard's charts, drawn with the vendored uPlot: time series and distribution bars.
"use strict";

const PALETTE = ["#1f6feb", "#c62828", "#2e7d32", "#ef8f00", "#8e24aa", "#00838f", "#6d4c41", "#546e7a"];

function chartWidth(el) {
  return Math.max(320, el.clientWidth - 16);
}

function timeSeries(el, times, series, opts) {
  if (!times.length) { el.textContent = "no data yet"; return null; }
  const data = [times, ...series.map((s) => s.values.map((v) => (v === null ? null : v)))];
  const chart = new uPlot({
    width: chartWidth(el),
    height: opts.height || 220,
    // the tables on the page give times in UTC; so do the charts
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.color || PALETTE[i % PALETTE.length], width: s.width || 1.5, spanGaps: true }))],
    // one window has no span of its own: uPlot would pad it by years, so give it an hour each side
    scales: { x: { time: true, range: (u, min, max) => (min === max ? [min - 3600, max + 3600] : [min, max]) } },
    axes: [{ label: "time (UTC)", labelSize: 20 }, { label: opts.ylabel || "" }],
    hooks: opts.incidents ? { draw: [(u) => markIncidents(u, opts.incidents)] } : {},
  }, data, el);
  return chart;
}

function markIncidents(u, incidents) {
  u.over.querySelectorAll(".incident-marker").forEach((m) => m.remove());
  for (const inc of incidents) {
    const left = u.valToPos(inc.t, "x");
    if (!isFinite(left) || left < 0 || left > u.over.clientWidth) continue;
    const mark = document.createElement("div");
    mark.className = "incident-marker";
    mark.style.left = `${left}px`;
    mark.title = `incident #${inc.id}: ${inc.summary}`;
    mark.dataset.incident = inc.id;
    u.over.appendChild(mark);
  }
}

const SIDES = [
  // key, legend, stroke, fill, width: filled reference bars, the window outlined over them
  ["reference", "reference (training data)", "#b4bcc8", "rgba(152,162,179,0.55)", 1],
  ["current", "latest window", "#1f6feb", "rgba(31,111,235,0.06)", 2],
];

function pct(v) {
  if (v === null || v === undefined) return "--";
  const p = 100 * v;
  const text = p === 0 || p >= 10 ? p.toFixed(0) : p < 0.1 ? p.toFixed(2) : p.toFixed(1);
  return `${text.replace(/\.0+$/, "")}%`;
}

function distCaption(dist) {
  const parts = [];
  const both = (obj) => SIDES.filter(([key]) => obj[key] !== null && obj[key] !== undefined)
    .map(([key, label]) => `${label.split(" (")[0]} ${pct(obj[key])}`).join(", ");
  parts.push("Bars are shares of rows.");
  if (dist.kind === "numeric") {
    const folded = Object.values(dist.folded).some((v) => v);
    parts.push(`The x axis spans the central ${pct(dist.mass)} of the reference and the latest window pooled; ` +
      (folded ? `the tails beyond it are folded into the outer bars (${both(dist.folded)} of rows).` : "no rows lie beyond it."));
  } else if (dist.labels.includes("(other)")) {
    parts.push("\u201c(other)\u201d holds the less common categories.");
  }
  if (Object.values(dist.missing).some((v) => v)) parts.push(`Missing or not finite: ${both(dist.missing)}.`);
  return parts.join(" ");
}

// Reference and current shares of one column as overlaid bars, on a labelled x axis.
function distChart(el, dist, opts) {
  el.innerHTML = "";
  el.dataset.column = opts.xlabel || "";
  el.chart = null;
  if (!dist || !dist.kind || !dist.labels.length) { el.textContent = "no profile for this column"; return null; }
  const numeric = dist.kind === "numeric";
  const n = dist.labels.length;
  const xs = numeric ? dist.labels.map((_, i) => (dist.edges[i] + dist.edges[i + 1]) / 2) : dist.labels.map((_, i) => i);
  const ticks = numeric ? dist.ticks : dist.labels.map((label, i) => [i, label]);
  const longest = Math.max(...ticks.map((t) => String(t[1]).length));
  const rotate = !numeric && (longest > 4 || n > 12);
  const series = [{ label: opts.xlabel || "bin", value: (u, v, si, i) => (i === null || i === undefined ? "--" : dist.labels[i]) }];
  const data = [xs];
  for (const [key, label, stroke, fill, width] of SIDES) {
    if (!dist[key]) continue;
    series.push({ label, stroke, fill, width, points: { show: false }, value: (u, v) => pct(v),
      paths: uPlot.paths.bars({ size: [0.92, Infinity], align: 0 }) });
    data.push(dist[key]);
  }
  const chart = new uPlot({
    width: chartWidth(el),
    height: opts.height || 220,
    series,
    scales: {
      x: { time: false, range: numeric ? [dist.edges[0], dist.edges[n]] : [-0.5, n - 0.5] },
      y: { range: (u, min, max) => [0, (max > 0 ? max : 0.01) * 1.08] },
    },
    axes: [
      { label: opts.xlabel || "", splits: () => ticks.map((t) => t[0]), rotate: rotate ? -40 : 0, size: rotate ? 30 + 6 * Math.min(longest, 14) : 40,
        values: () => { const labels = ticks.map((t) => String(t[1]).slice(0, 14)); el.dataset.xLabels = labels.join("|"); return labels; } },
      { label: "share of rows", size: 60,
        values: (u, splits) => { const labels = splits.map(pct); el.dataset.yLabels = labels.join("|"); return labels; } },
    ],
    cursor: { points: { show: false } },
  }, data, el);
  el.chart = chart;
  const caption = document.createElement("div");
  caption.className = "muted caption";
  caption.textContent = distCaption(dist);
  el.appendChild(caption);
  return chart;
}

function aimsMonitoring(base, model, role) {
  const d = JSON.parse(document.getElementById("monitoring-data").textContent);
  timeSeries(document.getElementById("perf-chart"), d.times, [
    { label: d.performance_metric || "performance", values: d.performance },
    { label: "label coverage", values: d.label_coverage, color: "#98a2b3" },
  ], { incidents: d.incidents });
  timeSeries(document.getElementById("volume-chart"), d.times,
    [{ label: "predictions", values: d.volume }], { incidents: d.incidents, ylabel: "predictions" });
  const distEl = document.getElementById("dist-chart");
  const pick = (feature) => {
    document.getElementById("dist-name").textContent = feature;
    fetch(`${base}/api/models/${encodeURIComponent(model)}/distribution?feature=${encodeURIComponent(feature)}&role=${encodeURIComponent(role)}`)
      .then((r) => r.json()).then((dist) => distChart(distEl, dist, { xlabel: feature }));
  };
  for (const [column, dist] of Object.entries(d.outputs.columns)) {
    const el = document.getElementById(`output-${column}`);
    if (el) distChart(el, dist, { xlabel: column, height: 200 });
  }
  document.querySelectorAll("a.pick").forEach((a) => a.addEventListener("click", (ev) => {
    ev.preventDefault();
    pick(a.dataset.feature);
    distEl.scrollIntoView({ block: "center" });
  }));
  const first = d.top[0] || d.features[0];
  if (first) pick(first);
}

// The monitoring page names its model on the data element, since the page's
// Content-Security-Policy allows no inline script to make this call.
(() => {
  const data = document.getElementById("monitoring-data");
  if (data && data.dataset.model) aimsMonitoring(data.dataset.base, data.dataset.model, data.dataset.role);
})();
