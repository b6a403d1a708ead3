// One job: its summary, timings, error, webhook and result; followed by long-poll until done.
(function () {
  "use strict";

  const PREFIX = "/console/jobs/";
  const id = decodeURIComponent(location.pathname.slice(PREFIX.length));
  window.Console.prefetch("/api/v1/jobs/" + encodeURIComponent(id)); // while the page loads

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("job", () => ({
      ...window.Console.helpers,
      job: null,
      error: "",

      init() {
        const id = this.$el.dataset.jobId;
        window.Console.follow(id, (job) => {
          this.job = job;
        }).catch((e) => {
          this.error = e.message;
        });
      },
      isReport() {
        return this.job && this.job.type.endsWith("_report");
      },
      fraction() {
        const p = this.job.progress;
        return p.total ? p.done / p.total : this.isTerminal(this.job.status) ? 1 : 0;
      },
      inputSummary() {
        const i = this.job.input || {};
        if (this.job.type === "prediction") return this.count(i.instances) + " instance(s)";
        if (this.job.type === "batch") {
          const name = i.filename || "an uploaded file";
          const id = i.id_column ? ", id column " + i.id_column : "";
          return name + " (" + i.format + ", " + this.count(i.bytes) + " bytes" + id + ")";
        }
        if (i.source === "upload") return "an uploaded CSV";
        const w = i.window || {};
        return w.last ? "the last " + this.count(w.last) + " predictions" : "predictions from " + this.unixWhen(w.since) + " to " + this.unixWhen(w.until);
      },
      predictions() {
        const r = this.job && this.job.type === "prediction" ? this.job.result : null;
        return (r && r.predictions) || [];
      },
      labels() {
        const first = this.predictions()[0];
        return first ? Object.keys(first.probabilities || {}) : [];
      },
      async cancel() {
        try {
          this.job = await window.Console.api("/api/v1/jobs/" + this.job.id + "/cancel", { method: "POST" });
        } catch (e) {
          this.error = e.message;
        }
      },
      async download(format) {
        try {
          await window.Console.download(this.job.links.self + "/result?format=" + format, this.job.id + "." + format);
        } catch (e) {
          this.error = e.message;
        }
      },
    }));
  });
})();
