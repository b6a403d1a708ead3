// Jobs: the caller's jobs, newest first; each unfinished one shown is long-polled
// (GET /jobs/{id}?wait=), a few at a time, so its status changes here as it happens.
//
// The rows are built here with the DOM API (text only, never HTML) rather than by an Alpine
// x-for: its CSP build parses every expression of every row at each render, which took
// 100-600 ms for 50 rows on the 2-core test machine (bench/console.py); built here,
// the page shows its rows within ~1.1x the time of the empty sign-in page.
(function () {
  "use strict";
  const FIRST = 50; // jobs the list shows first
  const MORE = 200; // jobs each "Older jobs" adds (the API's largest page)
  const WATCHERS = 3; // long-polls at once: the browser keeps connections for other calls

  // the first page is asked for while the page is parsed and Alpine starts:
  // bench/console.py measured the jobs page at 1.6x the empty sign-in page when it
  // asked only once Alpine had started
  window.Console.prefetch("/api/v1/jobs?limit=" + FIRST);

  function cell(row, text, className) {
    const td = row.insertCell();
    if (className) td.className = className;
    if (text !== null) td.textContent = text;
    return td;
  }

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("jobs", () => {
      const C = window.Console;
      const h = C.helpers;
      let jobs = []; // the jobs shown, in order: kept out of Alpine's reactive state
      let watched = new Set();
      let generation = 0; // watchers of an older list stop

      return {
        types: ["prediction", "batch", "drift_report", "performance_report"],
        statuses: ["queued", "running", "succeeded", "failed", "cancelled"],
        type: "",
        status: "",
        shown: 0,
        next: null,
        loaded: false,
        error: "",

        init() {
          this.load();
        },
        query(cursor) {
          const q = new URLSearchParams({ limit: String(cursor ? MORE : FIRST) });
          if (this.type) q.set("type", this.type);
          if (this.status) q.set("status", this.status);
          if (cursor) q.set("cursor", cursor);
          return "/api/v1/jobs?" + q.toString();
        },
        async load() {
          generation += 1;
          watched = new Set();
          jobs = [];
          this.$refs.rows.replaceChildren();
          await this.fetchPage(null);
        },
        async more() {
          await this.fetchPage(this.next);
        },
        async fetchPage(cursor) {
          this.error = "";
          try {
            const page = await C.get(this.query(cursor));
            jobs = jobs.concat(page.jobs);
            this.$refs.rows.append(...page.jobs.map((job) => this.row(job)));
            this.shown = jobs.length;
            this.next = page.next_cursor;
          } catch (e) {
            this.error = e.message;
          }
          this.loaded = true;
          this.watch();
        },
        row(job) {
          const tr = document.createElement("tr");
          tr.dataset.jobId = job.id;
          const link = document.createElement("a");
          link.href = "/console/jobs/" + encodeURIComponent(job.id);
          link.textContent = job.id.slice(0, 8);
          cell(tr, null).append(link);
          cell(tr, job.type);
          const status = document.createElement("span");
          status.className = "status status-" + job.status;
          status.textContent = job.status;
          cell(tr, null).append(status);
          cell(tr, h.count(job.progress.done) + " / " + h.count(job.progress.total), "wide");
          cell(tr, h.when(job.created_at));
          cell(tr, job.model_version || "—", "wide");
          const actions = cell(tr, null);
          if (!h.isTerminal(job.status)) {
            const cancel = document.createElement("button");
            cancel.type = "button";
            cancel.className = "small";
            cancel.textContent = "Cancel";
            cancel.setAttribute("aria-label", "Cancel job " + job.id);
            cancel.addEventListener("click", () => this.cancel(job.id));
            actions.append(cancel);
          }
          return tr;
        },
        // long-poll unfinished jobs, WATCHERS at most at once
        watch() {
          const mine = generation;
          for (const job of jobs) {
            if (watched.size >= WATCHERS) return;
            if (h.isTerminal(job.status) || watched.has(job.id)) continue;
            watched.add(job.id);
            C.follow(job.id, (fresh) => {
              if (mine === generation) this.replace(fresh);
            })
              .catch(() => {})
              .finally(() => {
                if (mine !== generation) return;
                watched.delete(job.id);
                this.watch();
              });
          }
        },
        replace(fresh) {
          const i = jobs.findIndex((j) => j.id === fresh.id);
          if (i < 0) return;
          jobs[i] = fresh;
          const old = this.$refs.rows.querySelector('tr[data-job-id="' + CSS.escape(fresh.id) + '"]');
          if (old) old.replaceWith(this.row(fresh));
        },
        async cancel(id) {
          this.error = "";
          try {
            this.replace(await C.api("/api/v1/jobs/" + encodeURIComponent(id) + "/cancel", { method: "POST" }));
          } catch (e) {
            this.error = "Job " + id + ": " + e.message;
          }
        },
      };
    });
  });
})();
