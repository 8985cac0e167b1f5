// ServiceTrail analytics dashboard: plain JS over the /v1/reports endpoints, drawn with Chart.js.
//
// Filters live in the query string (a link reproduces the view); the bearer token comes from
// `#token=...` (moved into sessionStorage and removed from the address) or from the header form.
// Each canvas gets data-drawn="<painted pixels>" once drawn, and body gets data-ready="true" when
// every panel has finished (data, no data or error), which is what the browser test waits for.
"use strict";

(() => {
  const TOKEN_KEY = "servicetrail.analytics.token";
  const FILTERS = ["from", "to", "priority", "category", "channel", "team", "group_by"];
  const DIMENSIONS = ["priority", "category", "channel", "team"];
  const DEFAULT_GROUP_BY = "month";
  const STAGES = [
    ["triage", "Triage"],
    ["response", "Response"],
    ["allocation", "Allocation"],
    ["start", "Start"],
    ["work", "Work"],
    ["paused", "Paused"],
    ["confirmation", "Confirmation"],
    ["lead", "Lead time"],
  ];
  const AGE_BUCKETS = [
    ["age_lt_1d", "< 1 day"],
    ["age_1_3d", "1–3 days"],
    ["age_3_7d", "3–7 days"],
    ["age_7_30d", "7–30 days"],
    ["age_gt_30d", "> 30 days"],
  ];
  // Colour-blind friendly (Okabe–Ito) palette.
  const COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9"];
  const NO_DATA = "No data for these filters.";

  const $ = (selector) => document.querySelector(selector);
  const filtersForm = $("#filters");
  const tokenForm = $("#token-form");
  const tokenInput = $("#token-input");
  const statusLine = $("#status");
  let generation = 0; // a newer load makes the results of older ones irrelevant

  // ---- formatting ------------------------------------------------------------------------

  const percentFormat = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });
  const isNumber = (value) => typeof value === "number" && Number.isFinite(value);
  const percent = (ratio) => (isNumber(ratio) ? percentFormat.format(ratio) : "–");
  const toPercent = (ratio) => (isNumber(ratio) ? Math.round(ratio * 1000) / 10 : null);
  const toHours = (seconds) => (isNumber(seconds) ? Math.round((seconds / 3600) * 100) / 100 : null);

  function hours(seconds) {
    if (!isNumber(seconds)) return "–";
    const h = seconds / 3600;
    if (h > 0 && h < 0.1) return "< 0.1 h";
    return `${h.toFixed(1)} h`;
  }

  function number(value, digits = 0) {
    return isNumber(value) ? value.toFixed(digits) : "–";
  }

  // ---- token -----------------------------------------------------------------------------

  function takeTokenFromFragment() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const token = fragment.get("token");
    if (token === null) return;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    // Keep the token out of the visible address, the history and copied links.
    history.replaceState(history.state, "", location.pathname + location.search);
  }

  const currentToken = () => sessionStorage.getItem(TOKEN_KEY) || "";

  function showTokenState() {
    $("#token-state").textContent = currentToken() ? "Token set for this tab." : "No token.";
  }

  // ---- filters ---------------------------------------------------------------------------

  function readFiltersFromUrl() {
    const query = new URLSearchParams(location.search);
    for (const name of FILTERS) {
      const field = filtersForm.elements[name];
      field.value = query.get(name) || "";
      if (field.tagName === "SELECT" && field.selectedIndex < 0) field.value = "";
    }
    const groupBy = filtersForm.elements.group_by;
    if (!groupBy.value) groupBy.value = DEFAULT_GROUP_BY;
  }

  // The filters as query parameters, without empty ones.
  function currentFilters() {
    const params = new URLSearchParams();
    for (const name of FILTERS) {
      const value = filtersForm.elements[name].value.trim();
      if (value) params.set(name, value);
    }
    return params;
  }

  function pick(params, names) {
    const picked = new URLSearchParams();
    for (const name of names) if (params.has(name)) picked.set(name, params.get(name));
    return picked;
  }

  // ---- data ------------------------------------------------------------------------------

  class ProblemError extends Error {}

  // GET a report; a failure becomes an error carrying the RFC 9457 problem's detail.
  async function getReport(name, params) {
    const query = params.toString();
    let response;
    try {
      response = await fetch(`v1/reports/${name}${query ? `?${query}` : ""}`, {
        headers: { Accept: "application/json", Authorization: `Bearer ${currentToken()}` },
        cache: "no-store",
      });
    } catch {
      throw new ProblemError("Could not reach the analytics service.");
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      // not JSON: reported below by status
    }
    if (!response.ok) {
      const problem = body && typeof body === "object" ? body : {};
      const text = problem.detail || problem.title || response.statusText || "Request failed";
      throw new ProblemError(`${text} (HTTP ${response.status})`);
    }
    if (!body || typeof body !== "object") throw new ProblemError("The service returned an unreadable answer.");
    return body;
  }

  // ---- panels ----------------------------------------------------------------------------

  function panel(id) {
    const root = document.getElementById(id);
    return {
      root,
      summary: root.querySelector(".summary"),
      message: root.querySelector(".message"),
      body: root.querySelector(".chart-box, .table-box"),
    };
  }

  function showMessage(p, text, kind) {
    p.message.textContent = text;
    p.message.className = `message ${kind}`;
    p.message.hidden = false;
    p.body.hidden = true;
    if (p.summary) p.summary.textContent = "";
    p.root.setAttribute("aria-busy", "false");
  }

  function showBody(p, summaryText = "") {
    p.message.hidden = true;
    p.body.hidden = false;
    if (p.summary) p.summary.textContent = summaryText;
    p.root.setAttribute("aria-busy", "false");
  }

  function resetPanel(p) {
    p.root.setAttribute("aria-busy", "true");
    p.message.hidden = true;
    if (p.summary) p.summary.textContent = "Loading…";
    const canvas = p.body.querySelector("canvas");
    if (canvas) {
      Chart.getChart(canvas)?.destroy();
      delete canvas.dataset.drawn;
    }
  }

  // Counts the canvas pixels that are not fully transparent.
  function paintedPixels(canvas) {
    const { width, height } = canvas;
    if (!width || !height) return 0;
    const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
    let painted = 0;
    for (let alpha = 3; alpha < data.length; alpha += 4) if (data[alpha] !== 0) painted += 1;
    return painted;
  }

  // After each data update or resize has been drawn, record data-drawn on the canvas and tell
  // whoever waits (hover redraws are not recounted).
  const drawnPlugin = {
    id: "servicetrailDrawn",
    afterUpdate(chart) {
      chart.$servicetrailRecount = true;
    },
    afterRender(chart) {
      if (!chart.$servicetrailRecount) return;
      chart.$servicetrailRecount = false;
      chart.canvas.dataset.drawn = String(paintedPixels(chart.canvas));
      chart.canvas.dispatchEvent(new CustomEvent("chart-drawn"));
    },
  };

  // Draws a chart and resolves once it has been drawn.
  function draw(p, config) {
    const canvas = p.body.querySelector("canvas");
    return new Promise((resolve) => {
      canvas.addEventListener("chart-drawn", resolve, { once: true });
      new Chart(canvas, { ...config, plugins: [drawnPlugin] });
    });
  }

  function dataset(label, data, index, extra = {}) {
    const colour = COLOURS[index % COLOURS.length];
    return { label, data, backgroundColor: colour, borderColor: colour, ...extra };
  }

  const rowsOf = (report) => (Array.isArray(report.rows) ? report.rows : []);
  const groups = (rows) => rows.map((row) => String(row.group ?? "–"));

  // Each panel: `get` fetches its report, `show` renders it (and resolves once drawn).
  async function showSla(p, report) {
    const rows = rowsOf(report);
    if (!rows.length) return showMessage(p, NO_DATA, "empty");
    const total = report.total || {};
    showBody(
      p,
      `${number(total.requests)} requests: ${percent(total.response_compliance)} responded to and ` +
        `${percent(total.resolution_compliance)} resolved within SLA.`,
    );
    await draw(p, {
      type: "bar",
      data: {
        labels: groups(rows),
        datasets: [
          dataset("Response within SLA", rows.map((r) => toPercent(r.response_compliance)), 0),
          dataset("Resolution within SLA", rows.map((r) => toPercent(r.resolution_compliance)), 1),
        ],
      },
      options: {
        scales: { y: { min: 0, max: 100, title: { display: true, text: "% of requests" } } },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.formattedValue}%` } } },
      },
    });
  }

  async function showBacklog(p, report) {
    const rows = rowsOf(report);
    if (!rows.length) return showMessage(p, NO_DATA, "empty");
    const total = report.total || {};
    const asOf = report.as_of ? ` as of ${new Date(report.as_of).toLocaleString()}` : "";
    showBody(p, `${number(total.open)} open, ${number(total.breached)} past their SLA${asOf}.`);
    await draw(p, {
      type: "bar",
      data: {
        labels: groups(rows),
        datasets: AGE_BUCKETS.map(([key, label], i) => dataset(label, rows.map((r) => r[key] ?? 0), i)),
      },
      options: {
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: "open requests" } },
        },
      },
    });
  }

  async function showStages(p, report) {
    const total = report.total || {};
    const medians = STAGES.map(([key]) => toHours(total[`${key}_median_s`]));
    const p90s = STAGES.map(([key]) => toHours(total[`${key}_p90_s`]));
    if (!total.requests || [...medians, ...p90s].every((v) => v === null)) {
      return showMessage(p, NO_DATA, "empty");
    }
    const bottleneck = STAGES.find(([key]) => key === total.bottleneck);
    showBody(
      p,
      `Hours per stage over ${number(total.requests)} requests.` +
        (bottleneck ? ` Bottleneck: ${bottleneck[1].toLowerCase()}.` : ""),
    );
    await draw(p, {
      type: "bar",
      data: {
        labels: STAGES.map(([, label]) => label),
        datasets: [dataset("Median", medians, 0), dataset("90th percentile", p90s, 1)],
      },
      options: {
        indexAxis: "y",
        scales: { x: { beginAtZero: true, title: { display: true, text: "hours" } } },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.formattedValue} h` } } },
      },
    });
  }

  async function showSatisfaction(p, report) {
    const rows = rowsOf(report);
    if (!rows.length || rows.every((r) => !r.surveys)) return showMessage(p, NO_DATA, "empty");
    const total = report.total || {};
    showBody(
      p,
      `${number(total.surveys)} surveys: average ${number(total.csat_avg, 2)} / 5, ` +
        `${percent(total.csat_pct)} satisfied, NPS ${number(total.nps)}.`,
    );
    const line = { spanGaps: true, pointRadius: 4, tension: 0.2 };
    await draw(p, {
      type: "line",
      data: {
        labels: groups(rows),
        datasets: [
          dataset("Average CSAT (1–5)", rows.map((r) => (isNumber(r.csat_avg) ? r.csat_avg : null)), 0, {
            ...line,
            yAxisID: "csat",
          }),
          dataset("NPS", rows.map((r) => (isNumber(r.nps) ? r.nps : null)), 1, {
            ...line,
            yAxisID: "nps",
            borderDash: [6, 4],
          }),
        ],
      },
      options: {
        scales: {
          csat: { position: "left", min: 1, max: 5, title: { display: true, text: "CSAT" } },
          nps: {
            position: "right",
            min: -100,
            max: 100,
            grid: { drawOnChartArea: false },
            title: { display: true, text: "NPS" },
          },
        },
      },
    });
  }

  function showStaff(p, report) {
    const rows = rowsOf(report);
    const tbody = p.body.querySelector("tbody");
    tbody.replaceChildren();
    if (!rows.length) return showMessage(p, NO_DATA, "empty");
    for (const r of rows) {
      const tr = document.createElement("tr");
      const cells = [
        [r.name || r.group || "–", ""],
        [r.team || "–", ""],
        [number(r.resolved), "num"],
        [hours(r.handle_median_s), "num"],
        [percent(r.utilisation), "num"],
        [percent(r.fcr_rate), "num"],
        [percent(r.reopen_rate), "num"],
        [number(r.csat_avg, 2), "num"],
      ];
      cells.forEach(([text, cls], i) => {
        const cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) {
          cell.scope = "row";
          if (r.group) cell.title = String(r.group);
        }
        cell.textContent = text;
        if (cls) cell.className = cls;
        tr.append(cell);
      });
      tbody.append(tr);
    }
    showBody(p);
  }

  // ---- loading ---------------------------------------------------------------------------

  const PANELS = [
    { id: "panel-sla", get: (params) => getReport("sla", params), show: showSla },
    {
      id: "panel-backlog",
      // The backlog is a snapshot (as_of now): only the dimension filters and the grouping apply.
      get: (params) => getReport("backlog", pick(params, [...DIMENSIONS, "group_by"])),
      show: showBacklog,
    },
    { id: "panel-stages", get: (params) => getReport("stages", params), show: showStages },
    { id: "panel-csat", get: (params) => getReport("satisfaction", params), show: showSatisfaction },
    {
      id: "panel-staff",
      // Staff rows are always one per person, so the grouping does not apply.
      get: (params) => getReport("staff", pick(params, FILTERS.filter((n) => n !== "group_by"))),
      show: showStaff,
    },
  ];

  async function load() {
    const mine = ++generation;
    document.body.dataset.ready = "false";
    showTokenState();
    const hasToken = Boolean(currentToken());
    $("#no-token").hidden = hasToken;
    $("#panels").hidden = !hasToken;
    if (!hasToken) {
      statusLine.textContent = "";
      document.body.dataset.ready = "true"; // nothing to load
      return;
    }
    if (typeof Chart === "undefined") {
      statusLine.textContent = "The chart library failed to load.";
      document.body.dataset.ready = "true";
      return;
    }
    statusLine.textContent = "Loading reports…";
    const params = currentFilters();
    const results = await Promise.allSettled(
      PANELS.map(async ({ id, get, show }) => {
        const p = panel(id);
        resetPanel(p);
        try {
          const report = await get(params);
          if (mine !== generation) return; // a newer load owns the panel now
          await show(p, report);
        } catch (error) {
          if (mine !== generation) return;
          const text = error instanceof ProblemError ? error.message : `Could not show this report: ${error}`;
          showMessage(p, text, "error");
          throw error;
        }
      }),
    );
    if (mine !== generation) return;
    const failed = results.filter((r) => r.status === "rejected").length;
    const time = new Date().toLocaleTimeString();
    statusLine.textContent = failed
      ? `Updated at ${time}; ${failed} of ${PANELS.length} reports failed.`
      : `Updated at ${time}.`;
    document.body.dataset.ready = "true";
  }

  // ---- wiring ----------------------------------------------------------------------------

  filtersForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = currentFilters().toString();
    history.pushState(null, "", `${location.pathname}${query ? `?${query}` : ""}`);
    load();
  });

  window.addEventListener("popstate", () => {
    readFiltersFromUrl();
    load();
  });

  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = tokenInput.value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    tokenInput.value = "";
    load();
  });

  $("#token-forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    load();
  });

  if (typeof Chart !== "undefined") {
    Chart.defaults.animation = false; // draw synchronously, so data-drawn follows immediately
    Chart.defaults.maintainAspectRatio = false; // the .chart-box sets the height
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#333";
  }

  takeTokenFromFragment();
  readFiltersFromUrl();
  load();
})();
