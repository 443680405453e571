// The dashboard's charts: uPlot for time series, plain DOM bars for distributions.
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
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.color || PALETTE[i % PALETTE.length], width: s.width || 1.5, spanGaps: true }))],
    axes: [{}, { label: opts.ylabel || "" }],
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

function bars(el, dist) {
  el.innerHTML = "";
  if (!dist.reference && !dist.current) { el.textContent = "no profile for this feature"; return; }
  const labels = (dist.reference || dist.current).labels;
  const max = Math.max(...[dist.reference, dist.current].filter(Boolean).flatMap((d) => d.shares), 1e-9);
  const wrap = document.createElement("div");
  wrap.className = "bars";
  labels.forEach((label, i) => {
    for (const [key, color] of [["reference", "#98a2b3"], ["current", "#1f6feb"]]) {
      const d = dist[key];
      const bar = document.createElement("div");
      const share = d && i < d.shares.length ? d.shares[i] : 0;
      bar.style.cssText = `width:6px;height:${(100 * share) / max}%;background:${color}`;
      bar.title = `${key} ${label}: ${(100 * share).toFixed(1)}%`;
      bar.className = `bar-${key}`;
      wrap.appendChild(bar);
    }
  });
  el.appendChild(wrap);
  const legend = document.createElement("div");
  legend.className = "muted";
  legend.textContent = "grey: reference (training data) · blue: latest window";
  el.appendChild(legend);
}

function aimsMonitoring(base, model, role) {
  const d = JSON.parse(document.getElementById("monitoring-data").textContent);
  const names = Object.keys(d.features);
  timeSeries(document.getElementById("drift-chart"), d.times,
    names.map((n) => ({ label: n, values: d.features[n], width: d.drifted_now[n] ? 2.5 : 1 })),
    { ylabel: "drift score", incidents: d.incidents, height: 260 });
  timeSeries(document.getElementById("perf-chart"), d.times, [
    { label: d.performance_metric || "performance", values: d.performance },
    { label: "label coverage", values: d.label_coverage, color: "#98a2b3" },
  ], { incidents: d.incidents });
  timeSeries(document.getElementById("volume-chart"), d.times,
    [{ label: "predictions", values: d.volume }], { incidents: d.incidents });
  const distEl = document.getElementById("dist-chart");
  const pick = (feature) => {
    document.getElementById("dist-name").textContent = feature;
    fetch(`${base}/api/models/${encodeURIComponent(model)}/distribution?feature=${encodeURIComponent(feature)}&role=${role}`)
      .then((r) => r.json()).then((dist) => bars(distEl, dist));
  };
  document.querySelectorAll("a.pick").forEach((a) => a.addEventListener("click", (ev) => {
    ev.preventDefault();
    pick(a.dataset.feature);
  }));
  const drifted = names.filter((n) => d.drifted_now[n]);
  if (names.length) pick(drifted[0] || names[0]);
}
