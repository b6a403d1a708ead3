// Reports: a drift or performance report over the last N predictions or an uploaded CSV,
// followed to the end; its Evidently HTML shown in a sandboxed frame without same-origin
// (the frame gets the HTML by postMessage: it cannot read the key), its summary beside it.
(function () {
  "use strict";
  const FRAME = "/console/report-frame";

  window.Console.prefetch("/api/v1/models"); // while the page is parsed and Alpine starts

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("reports", () => ({
      ...window.Console.helpers,
      models: [],
      type: "drift",
      version: "",
      source: "last",
      last: 1000,
      file: null,
      busy: false,
      job: null,
      summary: null,
      html: "",
      errors: {},
      error: "",

      async init() {
        try {
          const list = await window.Console.get("/api/v1/models");
          this.models = list.models;
          this.version = list.default || "";
        } catch (e) {
          this.error = e.message;
        }
        const id = new URLSearchParams(location.search).get("job");
        if (id) this.open(id);
      },
      pick(event) {
        this.file = event.target.files[0] || null;
      },
      async submit() {
        this.busy = true;
        this.errors = {};
        this.error = "";
        try {
          let job;
          if (this.source === "file") {
            if (!this.file) throw new Error("choose a CSV file");
            const form = new FormData();
            form.append("type", this.type);
            if (this.version) form.append("model_version", this.version);
            form.append("file", this.file, this.file.name);
            job = await window.Console.upload("/api/v1/reports", form, () => {});
          } else {
            const body = { type: this.type, window: { last: Number(this.last) } };
            if (this.version) body.model_version = this.version;
            job = await window.Console.api("/api/v1/reports", { method: "POST", json: body });
          }
          history.replaceState(null, "", "/console/reports?job=" + job.id);
          await this.open(job.id);
        } catch (e) {
          this.error = e.message;
          if (e.fieldErrors) this.errors = e.fieldErrors();
        } finally {
          this.busy = false;
        }
      },
      async open(id) {
        this.html = "";
        this.summary = null;
        try {
          const job = await window.Console.follow(id, (fresh) => {
            this.job = fresh;
          });
          if (job.status !== "succeeded") throw new Error("the report job " + job.status);
          this.summary = job.result.summary;
          const resp = await window.Console.api(job.links.self + "/report", { raw: true });
          this.html = await resp.text();
          this.show(this.html);
        } catch (e) {
          this.error = e.message;
        }
      },
      show(html) {
        const frame = document.getElementById("report-frame");
        frame.addEventListener("load", () => frame.contentWindow.postMessage(html, "*"), { once: true });
        frame.src = FRAME;
      },
      features() {
        const entries = Object.entries(this.summary.features || {}).map(([name, f]) => ({ name, ...f }));
        // drifted first, then the strongest evidence: lowest p-value, largest distance
        return entries.sort((a, b) => b.drifted - a.drifted || this.evidence(b) - this.evidence(a));
      },
      evidence(f) {
        return /p_value/.test(f.method) ? 1 - f.score : f.score;
      },
      headline() {
        const s = this.summary;
        return s.number_of_drifted_features + " of " + Object.keys(s.features).length +
          " features drifted (" + this.pct(s.share_of_drifted_features) + ")" +
          (s.dataset_drift ? ": the dataset drifted" : "");
      },
    }));
  });
})();
