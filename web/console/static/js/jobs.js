// Jobs: the caller's jobs, newest first; each unfinished one shown is long-polled
// (GET /jobs/{id}?wait=), a few at a time, so its status changes here as it happens.
(function () {
  "use strict";
  const PAGE = 50; // jobs a page of the list holds
  const WATCHERS = 3; // long-polls at once: the browser keeps connections for other calls

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("jobs", () => ({
      ...window.Console.helpers,
      types: ["prediction", "batch", "drift_report", "performance_report"],
      statuses: ["queued", "running", "succeeded", "failed", "cancelled"],
      type: "",
      status: "",
      jobs: [],
      next: null,
      loaded: false,
      error: "",
      watched: new Set(),
      generation: 0,

      init() {
        this.load();
      },
      query(cursor) {
        const q = new URLSearchParams({ limit: String(PAGE) });
        if (this.type) q.set("type", this.type);
        if (this.status) q.set("status", this.status);
        if (cursor) q.set("cursor", cursor);
        return "/api/v1/jobs?" + q.toString();
      },
      async load() {
        this.generation += 1; // watchers of an older list stop
        this.watched = new Set();
        await this.fetchPage(null, false);
      },
      async more() {
        await this.fetchPage(this.next, true);
      },
      async fetchPage(cursor, append) {
        this.error = "";
        try {
          const page = await window.Console.api(this.query(cursor));
          this.jobs = append ? this.jobs.concat(page.jobs) : page.jobs;
          this.next = page.next_cursor;
        } catch (e) {
          this.error = e.message;
        }
        this.loaded = true;
        this.watch();
      },
      // start long-polls for unfinished jobs, WATCHERS at most
      watch() {
        const generation = this.generation;
        for (const job of this.jobs) {
          if (this.watched.size >= WATCHERS) return;
          if (this.isTerminal(job.status) || this.watched.has(job.id)) continue;
          this.watched.add(job.id);
          window.Console.follow(job.id, (fresh) => {
            if (generation === this.generation) this.replace(fresh);
          })
            .catch(() => {})
            .finally(() => {
              if (generation !== this.generation) return;
              this.watched.delete(job.id);
              this.watch();
            });
        }
      },
      replace(fresh) {
        const i = this.jobs.findIndex((j) => j.id === fresh.id);
        if (i < 0) return;
        const summary = { ...fresh };
        delete summary.result;
        this.jobs[i] = summary;
      },
      async cancel(job) {
        this.error = "";
        try {
          this.replace(await window.Console.api("/api/v1/jobs/" + job.id + "/cancel", { method: "POST" }));
        } catch (e) {
          this.error = "Job " + job.id + ": " + e.message;
        }
      },
    }));
  });
})();
