// The audit page asks for the hash chain's state until the background check is done.
"use strict";

(() => {
  const banner = document.getElementById("chain-status");
  if (!banner || banner.dataset.state !== "checking") return;
  const ask = () => fetch(banner.dataset.url).then((r) => r.json()).then((c) => {
    if (c.state === "checking") { setTimeout(ask, 2000); return; }
    banner.dataset.state = "done";
    if (c.ok) {
      banner.className = "banner ok";
      banner.textContent = `Hash chain verified: ${c.n_events} events intact (head #${c.head_seq}).`;
    } else {
      banner.className = "banner bad";
      banner.textContent = `Hash chain BROKEN: ${c.problem ? c.problem.message : "see aims audit verify"}`;
    }
  });
  setTimeout(ask, 1000);
})();
