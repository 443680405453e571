// While the evidence report is being built, ask until it is ready, then show it.
"use strict";

(() => {
  const banner = document.getElementById("building");
  if (!banner) return;
  const ask = () => fetch(banner.dataset.url).then((r) => r.json()).then((s) => {
    if (s.building) setTimeout(ask, 1500);
    else window.location.reload();
  });
  setTimeout(ask, 1000);
})();
