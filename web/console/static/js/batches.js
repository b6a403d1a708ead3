// Batches: a file dropped or chosen, uploaded with progress (XHR upload events), then
// its scoring followed (long-poll), then the scored file downloaded as CSV or Parquet.
(function () {
  "use strict";

  window.Console.prefetch("/api/v1/models"); // while the page is parsed and Alpine starts

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("batches", () => ({
      ...window.Console.helpers,
      models: [],
      version: "",
      idColumn: "",
      file: null,
      dragging: false,
      busy: false,
      uploaded: 0,
      scored: 0,
      job: null,
      errors: {},
      error: "",

      async init() {
        try {
          this.models = (await window.Console.get("/api/v1/models")).models;
        } catch (e) {
          this.error = e.message;
        }
      },
      pick(event) {
        this.file = event.target.files[0] || null;
      },
      drop(event) {
        this.dragging = false;
        this.file = event.dataTransfer.files[0] || null;
      },
      async submit() {
        this.busy = true;
        this.errors = {};
        this.error = "";
        this.job = null;
        this.uploaded = 0;
        this.scored = 0;
        const form = new FormData();
        if (this.idColumn.trim()) form.append("id_column", this.idColumn.trim());
        if (this.version) form.append("model_version", this.version);
        form.append("file", this.file, this.file.name);
        try {
          const job = await window.Console.upload("/api/v1/batches", form, (done, total) => {
            this.uploaded = done / total;
          });
          this.uploaded = 1;
          await window.Console.follow(job.id, (fresh) => {
            this.job = fresh;
            const p = fresh.progress;
            this.scored = p.total ? p.done / p.total : 0;
          });
          if (this.job.status === "succeeded") this.scored = 1;
        } catch (e) {
          this.error = e.message;
          if (e.fieldErrors) this.errors = e.fieldErrors();
        } finally {
          this.busy = false;
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
