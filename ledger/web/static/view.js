// The company page: redraws the figures, tables and charts for the sliders' step from the
// data the page carries (#view-data), and keeps the URL in step. Stored text is only ever
// written with textContent.
//
// A report carries every cell (data.grid). A served page carries the cell it opens at
// (data.parts) and fetches the others from data.cells_url as the sliders move: the line of a
// known-at step, every date of it, for its tables and its charts.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("view-data").textContent);
  const rows = data.rows;
  const $ = (id) => document.getElementById(id);
  const dateSlider = $("date-slider");
  const knownSlider = $("known-slider");

  // --- the grid of cells: each position's snapshots by date ---
  const grid = [];
  const complete = new Set(); // the known-at steps whose every date is here
  let previous = [];
  for (const [start, runs] of data.grid || []) {
    const line = previous.slice(0, start);
    for (let k = 0; k < runs.length; k += 2) {
      for (let n = 0; n < runs[k + 1]; n += 1) line.push(runs[k]);
    }
    complete.add(grid.length);
    grid.push(line);
    previous = line;
  }
  function cellAt(j, i) {
    return grid[j] === undefined ? undefined : grid[j][i];
  }

  // A fetched part (a cell, or a known-at step's line) joins the page's data: its snapshots,
  // numbered within the part, are numbered after the page's; its rows keep the number of the
  // same row fetched before (a holder that no step moved is one row, whatever line brought
  // it), else are numbered after the page's.
  const LISTED = ["pools", "warrants", "convertibles", "officers", "directors"];
  const rowNumbers = {};
  function numberRow(section, row) {
    const numbers = rowNumbers[section] || (rowNumbers[section] = new Map());
    const key = JSON.stringify(row);
    let n = numbers.get(key);
    if (n === undefined) {
      const list = rows[section] || (rows[section] = []);
      n = list.push(row) - 1;
      numbers.set(key, n);
    }
    return n;
  }
  const dateIndex = new Map(data.dates.map((day, i) => [day, i]));
  function merge(part) {
    const j = data.recordings.findIndex((r) => r.position === part.known_at);
    if (j < 0) return;
    const numbered = {};
    for (const [section, list] of Object.entries(part.rows)) {
      numbered[section] = list.map((row) => numberRow(section, row));
    }
    const renumber = (section) => (n) => numbered[section][n];
    const base = data.snapshots.length;
    for (const s of part.snapshots) {
      const renumbered = { ...s, parent: s.parent === null ? null : s.parent + base };
      for (const section of LISTED) renumbered[section] = s[section].map(renumber(section));
      for (const section of ["holders", "grants"]) {
        renumbered[section] = s[section].map((list) => list.map(renumber(section)));
      }
      data.snapshots.push(renumbered);
    }
    const line = grid[j] || (grid[j] = []);
    let found = 0;
    part.dates.forEach((day, k) => {
      const i = dateIndex.get(day);
      if (i === undefined) return;
      // A cell already here stays: the tables showing it need no redraw.
      if (line[i] === undefined) line[i] = part.cells[k] + base;
      found += 1;
    });
    if (found === data.dates.length) complete.add(j);
  }
  for (const part of data.parts || []) merge(part);

  // A known-at step's line is fetched once. While one is on its way, the step the known-at
  // slider rests on waits for it: dragging the slider asks for no more than one at a time.
  let fetching = false;
  function askLine(j) {
    if (fetching || complete.has(j)) return;
    fetching = true;
    const opened = data.dates[data.start.date];
    const url = data.cells_url + "?as_of=" + opened + "&known_at=" + data.recordings[j].position +
      "&line=true";
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((answer) => {
        if (answer.status === 401) location.reload(); // signed out or revoked: the sign-in page
        if (!answer.ok) throw new Error("HTTP " + answer.status);
        return answer.json();
      })
      .then((part) => {
        fetching = false;
        merge(part);
        redraw();
      })
      .catch((e) => {
        fetching = false;
        $("loading").textContent = "Could not load this step (" + e.message + "): move a slider to try again.";
        $("loading").hidden = false;
      });
  }

  // --- snapshots: the long tables as differences from a parent, made whole once ---
  const made = new Map();
  function changed(before, [removed, added]) {
    const now = new Set(before);
    for (const r of removed) now.delete(r);
    for (const a of added) now.add(a);
    return now;
  }
  function snapshot(id) {
    const chain = [];
    let s = id;
    while (s !== null && !made.has(s)) {
      chain.push(s);
      s = data.snapshots[s].parent;
    }
    let base = s === null ? null : made.get(s);
    for (let k = chain.length - 1; k >= 0; k -= 1) {
      const raw = data.snapshots[chain[k]];
      const whole = {
        raw,
        holderIds: changed(base ? base.holderIds : [], raw.holders),
        grantIds: changed(base ? base.grantIds : [], raw.grants),
        holders: null,
      };
      made.set(chain[k], whole);
      base = whole;
    }
    return made.get(id);
  }

  // --- figures, as the CLI's table writes them ---
  function count(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }
  // part / whole × 100 with 4 decimals, rounded half-even (ledger/domain/values.py); "-"
  // when the whole is 0.
  function percent(part, whole) {
    if (whole === 0) return "-";
    const p = BigInt(part) * 1000000n;
    const w = BigInt(whole);
    let units = p / w;
    const twice = 2n * (p - units * w);
    if (twice > w || (twice === w && units % 2n === 1n)) units += 1n;
    const text = String(units).padStart(5, "0");
    return text.slice(0, -4) + "." + text.slice(-4);
  }
  function holders(s) {
    if (s.holders === null) {
      const votes = s.raw.votes;
      const list = [];
      let totalVotes = 0;
      for (const id of s.holderIds) {
        const [party, name, classes, options, warrants] = rows.holders[id];
        let shares = 0;
        let voted = 0;
        for (const [c, n] of Object.entries(classes)) {
          shares += n;
          voted += n * (votes[c] ?? 0);
        }
        totalVotes += voted;
        list.push({ party, name, classes, shares, voted, options, warrants,
                    diluted: shares + options + warrants });
      }
      list.sort((a, b) => b.diluted - a.diluted || (a.party < b.party ? -1 : a.party > b.party ? 1 : 0));
      s.holders = { list, totalVotes };
    }
    return s.holders;
  }

  // Each party's holder rows (one per distinct state of its holdings): the ownership chart
  // reads a few parties' shares at every date without making whole tables.
  const partyRows = new Map();
  let indexed = 0;
  function indexHolders() {
    const list = rows.holders || [];
    for (; indexed < list.length; indexed += 1) {
      const party = list[indexed][0];
      if (!partyRows.has(party)) partyRows.set(party, []);
      partyRows.get(party).push(indexed);
    }
  }
  function dilutedOf(s, party) {
    for (const id of partyRows.get(party) || []) {
      if (s.holderIds.has(id)) {
        const [, , classes, options, warrants] = rows.holders[id];
        let n = options + warrants;
        for (const c in classes) n += classes[c];
        return n;
      }
    }
    return 0;
  }

  // --- drawing tables ---
  function cell(tr, text, className) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (className) td.className = className;
    tr.appendChild(td);
    return td;
  }
  function fill(tbody, items, draw) {
    const fragment = document.createDocumentFragment();
    for (const item of items) {
      const tr = document.createElement("tr");
      draw(tr, item);
      fragment.appendChild(tr);
    }
    tbody.replaceChildren(fragment);
    const table = tbody.closest("table");
    table.hidden = items.length === 0;
    const none = table.nextElementSibling;
    if (none && none.classList.contains("none")) none.hidden = items.length > 0;
  }
  function who(tr, slug, name, extra) {
    const td = cell(tr, slug);
    for (const [text, className] of [[name, "name"], [extra, "classes"]]) {
      if (text) {
        const div = document.createElement("div");
        div.className = className;
        div.textContent = text;
        td.appendChild(div);
      }
    }
  }
  // A long cap table shows its largest holders first: laying out a thousand rows at every
  // slider step would cost more than the rest of the redraw.
  const FIRST_HOLDERS = 100;
  let showAll = false;
  $("more-holders").addEventListener("click", () => {
    showAll = true;
    drawnSnapshot = null;
    redraw();
  });

  // As the CLI writes a role: CEO, CFO…, President, Other.
  function roleText(role) {
    return role.length === 3 ? role.toUpperCase() : role[0].toUpperCase() + role.slice(1);
  }
  function classesText(classes) {
    const names = Object.keys(classes).sort();
    if (names.length === 1) return names[0];
    return names.map((c) => c + " " + count(classes[c])).join(", ");
  }
  function drawTables(s) {
    const raw = s.raw;
    const { list, totalVotes } = holders(s);
    const shown = showAll ? list : list.slice(0, FIRST_HOLDERS);
    const more = $("more-holders");
    more.hidden = shown.length === list.length;
    more.textContent = "Show all " + count(list.length) + " holders";
    fill($("cap-table").querySelector("tbody"), shown, (tr, h) => {
      who(tr, h.party, h.name, classesText(h.classes));
      cell(tr, count(h.shares));
      cell(tr, percent(h.shares, raw.total));
      cell(tr, percent(h.voted, totalVotes));
      cell(tr, h.options ? count(h.options) : "");
      cell(tr, h.warrants ? count(h.warrants) : "");
      cell(tr, count(h.diluted));
      cell(tr, percent(h.diluted, raw.diluted));
    });
    $("cap-table-empty").hidden = list.length > 0;
    $("total-shares").textContent = count(raw.total);
    $("total-diluted").textContent = count(raw.diluted);
    const v = raw.valuation;
    $("valuation").textContent = v ? "Valuation: " + v[0] + " (" + v[1] + ", " + v[2] + ")" : "";
    fill($("pools").querySelector("tbody"), raw.pools.map((id) => rows.pools[id]), (tr, p) => {
      cell(tr, p[0]); cell(tr, p[1]); cell(tr, p[2]);
      for (const n of p.slice(3)) cell(tr, count(n));
    });
    const grants = [...s.grantIds].map((id) => rows.grants[id]);
    grants.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    fill($("grants").querySelector("tbody"), grants, (tr, g) => {
      cell(tr, g[0]); who(tr, g[1], g[2]); cell(tr, g[3]); cell(tr, g[4]); cell(tr, g[5]);
      for (const n of g.slice(6)) cell(tr, count(n));
    });
    fill($("warrants").querySelector("tbody"), raw.warrants.map((id) => rows.warrants[id]), (tr, w) => {
      cell(tr, w[0]); who(tr, w[1], w[2]); cell(tr, w[3]);
      for (const n of w.slice(4, 8)) cell(tr, count(n));
      cell(tr, w[8]); cell(tr, w[9] ?? "");
    });
    fill($("convertibles").querySelector("tbody"), raw.convertibles.map((id) => rows.convertibles[id]), (tr, c) => {
      cell(tr, c[0]); who(tr, c[1], c[2]); cell(tr, c[3]); cell(tr, c[4]); cell(tr, c[5] ?? "");
      cell(tr, c[6] ?? ""); cell(tr, c[7]);
    });
    fill($("officers").querySelector("tbody"), raw.officers.map((id) => rows.officers[id]), (tr, o) => {
      cell(tr, o[1] ? roleText(o[0]) + " (" + o[1] + ")" : roleText(o[0]));
      who(tr, o[2], o[3]); cell(tr, o[4]); cell(tr, o[5] ? "interim" : "");
    });
    fill($("directors").querySelector("tbody"), raw.directors.map((id) => rows.directors[id]), (tr, d) => {
      who(tr, d[0], d[1]); cell(tr, d[2]); cell(tr, d[3]); cell(tr, d[4] ?? ""); cell(tr, d[5] ? "yes" : "no");
    });
  }

  // --- what the page says about its two axes ---
  function eventName(type) {
    return { EventCorrected: "correction", EventRetracted: "retraction" }[type] || type;
  }
  function drawWhen(i, j) {
    const day = data.dates[i];
    const step = data.recordings[j];
    $("date-label").textContent = day;
    $("known-label").textContent = "position " + step.position +
      (step.recorded_at ? " (recorded " + step.recorded_at + " by " + step.recorded_by + ")" : "");
    $("when").textContent = "As of " + day + ", known at position " + step.position;
    // The two axes disagree when a later recording changes what this date shows.
    const note = $("disagreement");
    // (The cell differs from the latest's exactly when an event recorded later bears on it.)
    const later = data.events.filter((e) => e.position > step.position && e.affects_from <= day);
    if (later.length) {
      const first = later[0];
      let text = "As known at position " + step.position + ", before the " + eventName(first.type) +
        " recorded at position " + first.position + " (effective " + first.effective_date + ")";
      if (later.length > 1) text += " and " + (later.length - 1) + " later event(s) bearing on " + day;
      note.textContent = text + ".";
      note.hidden = false;
    } else {
      note.hidden = true;
    }
    for (const r of historyRows) {
      const hidden = r.position > step.position;
      if (hidden !== r.hidden) r.tr.hidden = r.hidden = hidden;
      const later = r.effective > day;
      if (later !== r.later) r.tr.classList.toggle("later", (r.later = later));
      const undoneLater = r.undonePosition > step.position;
      if (r.undone && undoneLater !== r.undoneLater) r.undone.hidden = r.undoneLater = undoneLater;
    }
  }
  // The history's rows as drawn (the page serves them all shown): a step writes only the rows
  // it changes.
  const historyRows = [...$("history").tBodies[0].rows].map((tr) => ({
    tr,
    position: Number(tr.dataset.position),
    effective: tr.dataset.effective,
    undone: tr.querySelector(".undone"),
    undonePosition: Number(tr.dataset.undonePosition),
    hidden: false,
    later: false,
    undoneLater: false,
  }));

  // --- charts (plotly.js, drawn as SVG in the page) ---
  const TOP = 8;
  // The dates as milliseconds: plotly reads numbers faster than it parses dates.
  const dateTimes = data.dates.map((day) => Date.parse(day));
  const plotConfig = { displayModeBar: false, responsive: true };
  // A chart goes to plotly only when what it shows changed: a known-at step that moves none
  // of its figures costs nothing.
  const plotted = new Map();
  function plot(id, traces, layout) {
    const drawn = JSON.stringify([traces, layout]);
    if (plotted.get(id) === drawn) return;
    plotted.set(id, drawn);
    Plotly.react($(id), traces, layout, plotConfig);
  }
  function dateLine(day) {
    return [{ type: "line", xref: "x", yref: "paper", x0: day, x1: day, y0: 0, y1: 1,
              line: { color: "#b00020", width: 1, dash: "dot" } }];
  }
  function drawOwnership(j, day) {
    const cells = grid[j].map((id) => snapshot(id));
    const last = holders(cells[cells.length - 1]).list;
    const top = last.slice(0, TOP).map((h) => h.party);
    // Ownership changes on event dates and holds between them: steps, not slopes.
    const area = (name) => ({ name, x: dateTimes, y: [], stackgroup: "one", mode: "lines",
                              type: "scatter", line: { shape: "hv" } });
    const traces = top.map(area);
    const others = area("others");
    indexHolders();
    for (const s of cells) {
      const whole = s.raw.diluted || 1;
      let rest = whole;
      traces.forEach((t, k) => {
        const n = dilutedOf(s, top[k]);
        rest -= n;
        t.y.push((100 * n) / whole);
      });
      others.y.push((100 * rest) / whole);
    }
    if (last.length > TOP) traces.push(others);
    plot("chart-ownership", traces, {
      margin: { t: 10, r: 10, b: 40, l: 50 }, xaxis: { type: "date" },
      yaxis: { title: { text: "% fully diluted" }, range: [0, 100] },
      shapes: dateLine(day), legend: { font: { size: 10 } },
    });
  }
  function inForce(e, position) {
    return e.position <= position && !(e.undone_at !== null && e.undone_at <= position);
  }
  let rounds = [];
  function roundColor(e, day) {
    return e.effective_date <= day ? "#3b6fb6" : "#b9c7de";
  }
  function roundColors(day) {
    return rounds.map((e) => roundColor(e, day));
  }
  function drawDilution(j, day) {
    const position = data.recordings[j].position;
    rounds = data.events.filter((e) => e.type === "InvestmentMade" && inForce(e, position));
    const x = [], y = [], colors = [];
    for (const e of rounds) {
      const i = data.dates.indexOf(e.effective_date);
      const after = data.snapshots[grid[j][i]].diluted;
      const before = i > 0 ? data.snapshots[grid[j][i - 1]].diluted : 0;
      x.push((e.round || "round") + " " + e.effective_date);
      y.push(after ? (100 * (after - before)) / after : 0);
      colors.push(roundColor(e, day));
    }
    plot("chart-dilution", [{ type: "bar", x, y, marker: { color: colors },
      hovertemplate: "%{x}: %{y:.2f}% new<extra></extra>" }], {
      margin: { t: 10, r: 10, b: 10, l: 50 }, xaxis: { automargin: true, tickangle: -30 },
      yaxis: { title: { text: "% new (fully diluted)" } },
    });
  }
  function drawPeople(j, day) {
    const position = data.recordings[j].position;
    const spans = new Map();
    const end = data.dates[data.dates.length - 1];
    data.dates.forEach((d, i) => {
      const raw = data.snapshots[grid[j][i]];
      const present = new Set();
      for (const id of raw.officers) {
        const o = rows.officers[id];
        const key = "o|" + o[0] + "|" + (o[1] || "") + "|" + o[2] + "|" + o[4];
        present.add(key);
        if (!spans.has(key)) {
          spans.set(key, { label: roleText(o[0]) + " · " + o[2], start: o[4],
                           end: null, kind: o[5] ? "interim officer" : "officer" });
        }
      }
      for (const id of raw.directors) {
        const dr = rows.directors[id];
        const key = "d|" + dr[0] + "|" + dr[2] + "|" + dr[3];
        present.add(key);
        if (!spans.has(key)) {
          spans.set(key, { label: dr[2] + " · " + dr[0], start: dr[3], end: null, kind: "director" });
        }
      }
      for (const [key, span] of spans) {
        if (span.end === null && !present.has(key)) span.end = d;
      }
    });
    const style = { officer: { color: "#3b6fb6" }, "interim officer": { color: "#e08a00" },
                    director: { color: "#2e8b57" } };
    const seen = new Set();
    const traces = [...spans.values()].map((s) => {
      const first = !seen.has(s.kind);
      seen.add(s.kind);
      return { type: "scatter", mode: "lines", name: s.kind, legendgroup: s.kind, showlegend: first,
               x: [s.start, s.end || end], y: [s.label, s.label],
               line: { width: 12, ...style[s.kind] } };
    });
    const retained = data.events.filter((e) => e.type === "BoardSeatRetained" && inForce(e, position));
    const labels = new Map([...spans.values()].filter((s) => s.kind === "director")
      .map((s) => [s.label.split(" · ")[1], s.label]));
    if (retained.length) {
      traces.push({ type: "scatter", mode: "markers", name: "seat retained",
        x: retained.map((e) => e.effective_date),
        y: retained.map((e) => labels.get(e.person) || ""),
        marker: { symbol: "star", size: 14, color: "#b00020" } });
    }
    plot("chart-people", traces, {
      margin: { t: 10, r: 10, b: 40, l: 200 }, shapes: dateLine(day),
      yaxis: { automargin: true }, legend: { orientation: "h" },
    });
  }

  // --- the URL: shareable, on a server (query) and in a file (hash) ---
  function wanted() {
    const text = location.hash.length > 1 ? location.hash.slice(1) : location.search.slice(1);
    const params = new URLSearchParams(text);
    const i = data.dates.indexOf(params.get("as_of"));
    const j = data.recordings.findIndex((r) => String(r.position) === params.get("known_at"));
    if (i >= 0) dateSlider.value = i;
    if (j >= 0) knownSlider.value = j;
  }
  function keepUrl(i, j) {
    const query = "as_of=" + data.dates[i] + "&known_at=" + data.recordings[j].position;
    if (location.protocol === "file:") {
      history.replaceState(null, "", "#" + query);
    } else {
      history.replaceState(null, "", "?" + query);
    }
  }

  // What is drawn: a step of the other slider, or the same snapshot, redraws only what moved.
  let drawnKnown = null;
  let drawnDay = null;
  let drawnColors = null;
  let drawnSnapshot = null;
  function redraw() {
    const started = performance.now();
    const i = Number(dateSlider.value);
    const j = Number(knownSlider.value);
    const day = data.dates[i];
    const shown = day + "@" + data.recordings[j].position;
    const id = cellAt(j, i);
    drawWhen(i, j);
    keepUrl(i, j);
    askLine(j);
    if (id !== undefined && drawnSnapshot !== id) {
      drawTables(snapshot(id));
      drawnSnapshot = id;
    }
    // From the slider's move to this step's tables, a fetch from the server included.
    if (id !== undefined && moved.tables !== null) {
      document.body.dataset.stepMs = (performance.now() - moved.tables).toFixed(1);
      moved.tables = null;
    }
    $("loading").hidden = id !== undefined;
    if (id === undefined) $("loading").textContent = "Loading…";
    if (complete.has(j) && window.Plotly) {
      if (drawnKnown !== j) {
        drawOwnership(j, day);
        drawPeople(j, day);
        drawDilution(j, day);
        drawnKnown = j;
      } else if (drawnDay !== day) {
        // The same lines: the date's marker moves, and the rounds it passes change colour.
        Plotly.relayout($("chart-ownership"), { shapes: dateLine(day) });
        Plotly.relayout($("chart-people"), { shapes: dateLine(day) });
        const colors = roundColors(day);
        if (colors.join() !== drawnColors) Plotly.restyle($("chart-dilution"), { "marker.color": [colors] });
      }
      drawnDay = day;
      drawnColors = roundColors(day).join();
      document.body.dataset.charted = shown;
    }
    if (id === undefined) return;
    document.body.dataset.redrawMs = (performance.now() - started).toFixed(1);
    document.body.dataset.drawn = shown;
    if (document.body.dataset.charted === shown) paint(shown);
  }

  // When a slider moved: until the step's tables are drawn (data-step-ms), and until the
  // first frame painted with its tables and charts (data-painted-ms): what a step costs the
  // reader, a fetch from the server included.
  const moved = { tables: null, painted: null };
  function step() {
    moved.tables = moved.painted = performance.now();
    redraw();
  }
  function paint(shown) {
    const since = moved.painted;
    if (since === null) return;
    // A task queued from an animation frame runs once that frame is painted.
    requestAnimationFrame(() => setTimeout(() => {
      if (moved.painted !== since) return; // moved again meanwhile
      moved.painted = null;
      document.body.dataset.paintedMs = (performance.now() - since).toFixed(1);
      document.body.dataset.painted = shown;
    }, 0));
  }
  wanted();
  dateSlider.addEventListener("input", step);
  knownSlider.addEventListener("input", step);
  window.corpledgerPercent = percent;
  redraw();
})();
