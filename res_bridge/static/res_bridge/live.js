// The admin's live page: asks its JSON view for every gateway's figures, again and again.
"use strict";
(function () {
  const SHOWN = 100; // resources listed
  const root = document.querySelector(".res-live");
  if (!root) return;
  const url = root.dataset.url;
  const every = Number(root.dataset.refreshMs) || 2000;
  const status = document.getElementById("live-status");

  function row(cells) {
    const tr = document.createElement("tr");
    for (const value of cells) {
      const td = document.createElement("td");
      td.textContent = String(value);
      tr.appendChild(td);
    }
    return tr;
  }

  function duration(seconds) {
    const s = Math.floor(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + "h" : "") + m + "m" + String(s % 60).padStart(2, "0") + "s";
  }

  function show(data) {
    const gateways = document.querySelector("#live-gateways tbody");
    gateways.replaceChildren(...data.gateways.map((g) => row([
      g.id, duration(g.uptime), g.nats_connected ? "connected" : "DISCONNECTED", g.connections,
      g.subscriptions, g.cache.resources, g.slow_consumers, g.queued_messages,
    ])));
    const resources = Object.entries(data.totals.resources).slice(0, SHOWN);
    document.querySelector("#live-resources tbody").replaceChildren(...resources.map(([rid, n]) => row([rid, n])));
    const t = data.totals;
    status.textContent = data.error ? data.error : (t.gateways
      ? `${t.gateways} gateway(s): ${t.connections} connections, ${t.subscriptions} subscriptions, ` +
        `${t.slow_consumers} slow consumers — ${new Date().toLocaleTimeString()}`
      : `No gateway answered — ${new Date().toLocaleTimeString()}`);
  }

  async function refresh() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.redirected || !(response.headers.get("Content-Type") || "").includes("json")) {
        status.textContent = "Logged out: reload the page.";
        return; // stop asking
      }
      show(await response.json());
    } catch (e) {
      status.textContent = "The site did not answer: " + e;
    }
    setTimeout(refresh, every);
  }
  refresh();
})();
