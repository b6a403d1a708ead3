// Predict: a form made from the chosen model version's feature schema (its card), one
// instance sent to POST /predictions?wait=; a 422's errors shown beside the fields they name.
(function () {
  "use strict";
  const WAIT_SECONDS = 10; // the answer usually comes with the request itself

  window.Console.prefetch("/api/v1/models"); // while the page is parsed and Alpine starts

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("predict", () => ({
      ...window.Console.helpers,
      models: [],
      version: "",
      features: [],
      values: {},
      errors: {},
      error: "",
      busy: false,
      answer: null,
      job: null,

      async init() {
        try {
          const list = await window.Console.get("/api/v1/models");
          this.models = list.models;
          this.version = list.default || (list.models[0] && list.models[0].version) || "";
          await this.loadCard();
        } catch (e) {
          this.error = e.message;
        }
      },
      async loadCard() {
        if (!this.version) return;
        const model = await window.Console.api("/api/v1/models/" + encodeURIComponent(this.version));
        const features = model.card.feature_schema.features;
        const values = {};
        for (const f of features) values[f.name] = this.values[f.name] ?? "";
        this.values = values;
        this.features = features;
        this.errors = {};
      },
      hint(f) {
        if (f.kind === "categorical") return f.categories.length + " categories";
        const kind = f.integer ? "whole number" : "number";
        if (f.minimum === null && f.maximum === null) return kind;
        return kind + " from " + f.minimum + " to " + f.maximum;
      },
      // the instance as typed: a number field that does not parse goes as typed, for the API
      // to name; an empty optional field is null
      instance() {
        const out = {};
        for (const f of this.features) {
          const raw = this.values[f.name];
          const text = raw === null || raw === undefined ? "" : String(raw).trim();
          if (text === "") out[f.name] = null;
          else if (f.kind === "categorical") out[f.name] = text;
          else out[f.name] = Number.isFinite(Number(text)) ? Number(text) : text;
        }
        return out;
      },
      async submit() {
        this.busy = true;
        this.errors = {};
        this.error = "";
        try {
          const body = { instances: [this.instance()], model_version: this.version };
          let job = await window.Console.api("/api/v1/predictions?wait=" + WAIT_SECONDS, { method: "POST", json: body });
          if (!this.isTerminal(job.status)) job = await window.Console.follow(job.id, () => {});
          this.job = job;
          if (job.status !== "succeeded") throw new Error("the job " + job.status);
          this.answer = job.result.predictions[0];
        } catch (e) {
          this.answer = null;
          this.error = e.message;
          if (e.fieldErrors) this.errors = e.fieldErrors();
          const first = this.features.find((f) => this.errors[f.name]);
          if (first) document.getElementById("field-" + first.name).focus();
        } finally {
          this.busy = false;
        }
      },
      answerLabels() {
        return Object.keys(this.answer.probabilities);
      },
    }));
  });
})();
