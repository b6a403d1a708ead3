// Models: each installed version's card, its health (GET /models/{v}/monitoring: drift per
// feature against its threshold, accuracy and volume over time, drawn with uPlot), and the
// traffic policy with its changes (admin keys only).
(function () {
  "use strict";
  const HEIGHT = 180; // px of a chart
  const AXIS_WIDTH = 64; // px of the y axis: room for "10,000"
  const RESIZE_DELAY = 100; // ms after the last resize event before charts are redrawn

  async function orNote(call, scope) {
    try {
      return [await call(), ""];
    } catch (e) {
      if (e.status === 403) return [null, "This API key lacks the " + scope + " scope to see this."];
      throw e;
    }
  }

  const SPAN = 300; // seconds either side of a lone point: a time axis needs a width
  const timeRange = (u, min, max) => (min === max ? [min - SPAN, max + SPAN] : [min, max]);

  function chart(el, series, data, yRange) {
    if (!el || !window.uPlot) return;
    el.textContent = "";
    const width = Math.max(240, el.clientWidth || el.parentElement.clientWidth || 300);
    const scales = { x: { time: true, range: timeRange }, y: { range: yRange } };
    const axes = [{}, { size: AXIS_WIDTH }];
    const options = { width, height: HEIGHT, series: [{}, ...series], scales, axes };
    plots.push([new window.uPlot(options, data, el), el]);
  }

  // charts follow the width of their box (a phone turned, a window resized)
  const plots = [];
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      for (const [plot, el] of plots) plot.setSize({ width: Math.max(240, el.clientWidth), height: HEIGHT });
    }, RESIZE_DELAY);
  });

  window.Console.prefetch("/api/v1/models"); // while the page is parsed and Alpine starts

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("models", () => ({
      ...window.Console.helpers,
      versions: [],
      policy: null,
      policyNote: "",
      changes: [],
      error: "",

      async init() {
        const api = window.Console.api;
        try {
          const list = await window.Console.get("/api/v1/models");
          const versions = await Promise.all(
            list.models.map(async (m) => {
              const path = "/api/v1/models/" + encodeURIComponent(m.version);
              const [model, [monitoring, note]] = await Promise.all([
                api(path),
                orNote(() => api(path + "/monitoring"), "monitor"),
              ]);
              return { ...m, card: model.card, monitoring, monitoringNote: note };
            }),
          );
          this.versions = versions;
          const [policy, note] = await orNote(() => api("/api/v1/deployment"), "admin");
          this.policy = policy;
          this.policyNote = note;
          if (policy) this.changes = (await api("/api/v1/deployment/history?limit=20")).history;
        } catch (e) {
          this.error = e.message;
        }
        this.$nextTick(() => this.draw());
      },
      driftRows(m) {
        const features = m.monitoring.drift_check.summary.features;
        return Object.entries(features)
          .map(([name, f]) => ({ name, ...f, pValue: /p_value/.test(f.method) }))
          .sort((a, b) => b.drifted - a.drifted || a.name.localeCompare(b.name));
      },
      // the bar shows the score on [0, 1] (p-values, Jensen-Shannon; a larger Wasserstein fills it)
      gaugeWidth(x) {
        return Math.max(0, Math.min(1, x)) * 100 + "%";
      },
      draw() {
        this.versions.forEach((m, i) => {
          const points = (m.monitoring && m.monitoring.history) || [];
          if (!points.length) return;
          const at = points.map((p) => p.at);
          const estimated = points.map((p) => (p.kind === "drift_check" ? p.estimated_accuracy : null));
          const measured = points.map((p) => (p.kind === "measured_accuracy" ? p.accuracy : null));
          chart(document.getElementById("accuracy-" + i), [
            { label: "estimated", stroke: "#1f5fbf", spanGaps: true, points: { show: true } },
            { label: "measured", stroke: "#b3261e", spanGaps: true, points: { show: true } },
          ], [at, estimated, measured], [0, 1]);
          const checks = points.filter((p) => p.kind === "drift_check");
          chart(document.getElementById("volume-" + i), [
            { label: "new predictions", stroke: "#2e7d32", fill: "rgba(46,125,50,0.15)", points: { show: true } },
          ], [checks.map((p) => p.at), checks.map((p) => p.new_predictions)], (u, min, max) => [0, Math.max(1, max * 1.1)]);
        });
      },
    }));
  });
})();
