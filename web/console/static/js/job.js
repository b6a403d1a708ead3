// One job: its summary, timings, error, webhook and result; followed by long-poll until done.
(function () {
  "use strict";

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
        const j = this.job;
        const n = this.count(j.progress.total);
        if (j.type === "prediction") return n + " instance(s)";
        if (j.type === "batch") return n + " row(s) of an uploaded file";
        const w = j.result && j.result.window;
        return w ? JSON.stringify(w) : "current data: " + n + " row(s)";
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
