// The console's shared code: the API key, calls to the JSON API, long-polls, formatting.
// The key lives in this tab's sessionStorage and goes out only as the bearer header.
(function () {
  "use strict";

  const KEY = "lifeboat.apiKey";
  const TERMINAL = ["succeeded", "failed", "cancelled"];
  const LONG_POLL_SECONDS = 25; // a job's status reaches the page as soon as it changes
  const PROGRESS_SECONDS = 2; // while a batch scores, its progress is re-read this often

  const key = () => sessionStorage.getItem(KEY);
  const signInPage = () =>
    "/console/signin?next=" + encodeURIComponent(location.pathname + location.search);

  class ApiError extends Error {
    constructor(status, problem) {
      super(problem.detail || problem.title || "the API answered " + status);
      this.status = status;
      this.problem = problem;
    }
    // {field name: message} of the problem's errors whose loc names an instance field
    // (["instances", 0, "age"]), a body field (["model_version"]) or a parameter
    fieldErrors() {
      const out = {};
      for (const e of this.problem.errors || []) {
        const loc = e.loc || [];
        const name = loc[0] === "instances" ? loc[2] : loc[loc.length - 1];
        if (name !== undefined && out[name] === undefined) out[String(name)] = e.msg;
      }
      return out;
    }
  }

  function headers(extra) {
    const h = new Headers(extra || {});
    const token = key();
    if (token) h.set("Authorization", "Bearer " + token);
    return h;
  }

  async function problemOf(resp) {
    try {
      return await resp.json();
    } catch (_) {
      return { title: resp.statusText };
    }
  }

  // fetch ``path`` of this origin with the key; JSON in and out; a problem becomes ApiError
  async function api(path, options) {
    const o = options || {};
    const h = headers(o.headers);
    let body = o.body;
    if (o.json !== undefined) {
      h.set("Content-Type", "application/json");
      body = JSON.stringify(o.json);
    }
    const resp = await fetch(path, {
      method: o.method || "GET",
      headers: h,
      body: body,
      cache: "no-store",
      credentials: "omit",
      signal: o.signal,
    });
    if (resp.status === 401 && !o.keepOn401) location.assign(signInPage());
    if (!resp.ok) throw new ApiError(resp.status, await problemOf(resp));
    if (o.raw) return resp;
    return resp.status === 204 ? null : resp.json();
  }

  // POST a FormData with XMLHttpRequest, for its upload progress events
  function upload(path, form, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      headers().forEach((value, name) => xhr.setRequestHeader(name, value));
      xhr.responseType = "json";
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) onProgress(e.loaded, e.total);
      });
      xhr.addEventListener("load", () => {
        const body = xhr.response || {};
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else reject(new ApiError(xhr.status, body));
      });
      xhr.addEventListener("error", () => reject(new ApiError(0, { title: "network error" })));
      xhr.send(form);
    });
  }

  // GETs a page's script starts as it is loaded (in the page's head), while the page is
  // parsed and Alpine starts; its component takes each answer once with get()
  const early = new Map();
  function prefetch(path) {
    if (!key() || early.has(path)) return;
    const call = api(path);
    call.catch(() => {}); // its error is shown when the page takes it
    early.set(path, call);
  }
  function get(path) {
    const call = early.get(path);
    early.delete(path); // taken once: a refresh asks again
    return call || api(path);
  }

  // the job once it has finished (each intermediate state goes to onChange)
  async function follow(jobId, onChange, seconds) {
    let job = await get("/api/v1/jobs/" + encodeURIComponent(jobId));
    onChange(job);
    while (!TERMINAL.includes(job.status)) {
      const wait = seconds || (job.type === "batch" ? PROGRESS_SECONDS : LONG_POLL_SECONDS);
      job = await api("/api/v1/jobs/" + encodeURIComponent(jobId) + "?wait=" + wait);
      onChange(job);
    }
    return job;
  }

  // a file the API serves (the scored file) saved through a Blob: the key stays a header
  async function download(path, filename) {
    const resp = await api(path, { raw: true });
    const url = URL.createObjectURL(await resp.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  // made once: a formatter per call costs more than the rest of a 50-row table
  const DATES = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });
  const COUNTS = new Intl.NumberFormat("en");

  // what every page component may call from its template (the CSP build sees no globals)
  const helpers = {
    isTerminal(status) {
      return TERMINAL.includes(status);
    },
    when(iso) {
      return iso ? DATES.format(new Date(iso)) : "—";
    },
    seconds(fromIso, toIso) {
      if (!fromIso || !toIso) return "—";
      const s = (new Date(toIso) - new Date(fromIso)) / 1000;
      return s < 1 ? Math.round(s * 1000) + " ms" : s.toFixed(2) + " s";
    },
    pct(x) {
      return x === null || x === undefined ? "—" : (100 * x).toFixed(1) + " %";
    },
    num(x, digits) {
      if (x === null || x === undefined) return "—";
      return typeof x === "number" ? x.toFixed(digits === undefined ? 3 : digits) : String(x);
    },
    count(x) {
      return x === null || x === undefined ? "—" : COUNTS.format(Number(x));
    },
    unixWhen(t) {
      return t ? DATES.format(new Date(t * 1000)) : "—";
    },
  };

  window.Console = { key, api, get, prefetch, upload, follow, download, helpers, ApiError, TERMINAL };

  const onSignInPage = location.pathname === "/console/signin";
  if (!key() && !onSignInPage) location.replace(signInPage());

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("shell", () => ({
      signedIn: !!key(),
      signOut() {
        sessionStorage.removeItem(KEY);
        location.assign("/console/signin");
      },
    }));

    window.Alpine.data("signin", () => ({
      token: "",
      error: "",
      busy: false,
      async submit() {
        const token = this.token.trim();
        if (!token) {
          this.error = "Paste an API key.";
          return;
        }
        this.busy = true;
        sessionStorage.setItem(KEY, token);
        try {
          await api("/api/v1/models", { keepOn401: true }); // any valid key may read it
          const next = new URLSearchParams(location.search).get("next") || "";
          const safe = next.startsWith("/console/") && !next.startsWith("//");
          location.assign(safe ? next : "/console/jobs");
        } catch (e) {
          sessionStorage.removeItem(KEY);
          this.error = e.status === 401 ? "This key is not valid: " + e.message : e.message;
        } finally {
          this.busy = false;
        }
      },
    }));
  });
})();
