// vzgym view: filters, search, pagination over the data embedded in the page (no network).
// Episode fragments (D.episodes[i].html) were built and escaped by Python; everything this
// script adds is set with textContent, never innerHTML.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("vz-data").textContent);
  // positions in a turn record (vzgym/view/report.py: _turn_record)
  const T_EP = 0, T_TURN = 1, T_AGENT = 2, T_ROLE = 3, T_PHASE = 4, T_ROUND = 5, T_TOK = 6,
    T_FIN = 7, T_REW = 8, T_ADV = 9, T_STATUS = 10, T_REASON = 11, T_TEXT = 12, T_POLICY = 13,
    T_PTOK = 14, T_PROMPT = 15;
  const PER_PAGE = 10;
  const state = { tab: "games", page: 0, focus: null };
  const $ = (id) => document.getElementById(id);
  let lower = null; // lower-cased search text per turn, built on first search

  function el(name, attrs, ...children) {
    const node = document.createElement(name);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function num(value, digits) {
    if (value === null || value === undefined) return "—";
    if (typeof value !== "number") return String(value);
    const text = value.toFixed(digits === undefined ? 3 : digits).replace(/\.?0+$/, "");
    return text === "-0" || text === "" ? "0" : text;
  }

  function options(select, values, allLabel) {
    select.replaceChildren(el("option", { value: "" }, allLabel));
    for (const [value, label] of values) select.append(el("option", { value: value }, label));
  }

  function distinct(pos) {
    const seen = new Set();
    for (const t of D.turns) if (t[pos] !== null && t[pos] !== "") seen.add(t[pos]);
    return [...seen].sort().map((v) => [v, v]);
  }

  function readFilters() {
    const rmin = parseFloat($("f-rmin").value), rmax = parseFloat($("f-rmax").value);
    return {
      q: $("f-q").value.trim().toLowerCase(), step: $("f-step").value, role: $("f-role").value,
      phase: $("f-phase").value, status: $("f-status").value, rmin: rmin, rmax: rmax,
    };
  }

  function searchText(i) {
    if (lower === null) lower = new Array(D.turns.length);
    if (lower[i] === undefined) {
      const t = D.turns[i];
      lower[i] = [t[T_AGENT], t[T_ROLE], t[T_PHASE], t[T_REASON], t[T_TEXT], t[T_PROMPT]]
        .join("\n").toLowerCase();
    }
    return lower[i];
  }

  function matches(i, f) {
    const t = D.turns[i];
    if (f.step !== "" && String(D.episodes[t[T_EP]].s) !== f.step) return false;
    if (f.role && t[T_ROLE] !== f.role) return false;
    if (f.phase && t[T_PHASE] !== f.phase) return false;
    if (f.status && t[T_STATUS] !== f.status) return false;
    if (!isNaN(f.rmin) && !(t[T_REW] !== null && t[T_REW] >= f.rmin)) return false;
    if (!isNaN(f.rmax) && !(t[T_REW] !== null && t[T_REW] <= f.rmax)) return false;
    if (f.q && !searchText(i).includes(f.q)) return false;
    return true;
  }

  function compute() {
    const f = readFilters();
    const hit = new Uint8Array(D.turns.length);
    let nTurns = 0;
    for (let i = 0; i < D.turns.length; i++) if (matches(i, f)) { hit[i] = 1; nTurns++; }
    let eps = [];
    for (let e = 0; e < D.episodes.length; e++) {
      if (state.focus !== null && e !== state.focus) continue;
      if (D.episodes[e].t.some((i) => hit[i])) eps.push(e);
    }
    const inEps = new Set(eps);
    const groups = [];
    for (let g = 0; g < D.groups.length; g++) {
      if (D.groups[g].ep.some((e) => inEps.has(e))) groups.push(g);
    }
    return { hit: hit, nTurns: nTurns, eps: eps, groups: groups };
  }

  function statusBadge(status, reason) {
    const cls = "badge st-" + status.replace(/ /g, "-");
    return el("span", { class: cls, title: reason || null }, status + (reason ? ": " + reason : ""));
  }

  function completionCell(text) {
    const head = text.length > 80 ? text.slice(0, 80) + "…" : text;
    return el("details", { class: "completion" }, el("summary", {}, head || "(empty)"),
      el("pre", {}, text));
  }

  function turnRow(i) {
    const t = D.turns[i];
    return el("tr", { class: "turn st-" + t[T_STATUS].replace(/ /g, "-"), id: "turn-" + i,
      "data-turn": i },
      el("td", {}, t[T_TURN]), el("td", {}, t[T_AGENT]), el("td", {}, t[T_ROLE]),
      el("td", {}, t[T_PHASE] + (t[T_ROUND] ? " r" + t[T_ROUND] : "")),
      el("td", { class: "num", title: "prompt tokens → completion tokens" },
        num(t[T_PTOK]) + " → " + num(t[T_TOK])),
      el("td", {}, t[T_FIN] || "—"), el("td", { class: "num" }, num(t[T_REW])),
      el("td", { class: "num" }, num(t[T_ADV])), el("td", {}, statusBadge(t[T_STATUS], t[T_REASON])),
      el("td", {}, t[T_POLICY] || ""), el("td", { class: "text" }, completionCell(t[T_TEXT])));
  }

  const TURN_HEAD = ["turn", "agent", "role", "phase", "tokens", "finish", "reward", "adv",
    "status", "policy", "completion"];

  function turnTable(rows) {
    return el("table", { class: "turns grid" },
      el("thead", {}, el("tr", {}, ...TURN_HEAD.map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows));
  }

  function fillImages(root) {
    for (const img of root.querySelectorAll("img[data-img]")) {
      img.loading = "lazy";
      img.decoding = "async";
      img.addEventListener("error", () => {
        const ph = el("div", { class: "missing" }, "image failed to load: " + img.alt);
        img.replaceWith(ph);
      }, { once: true });
      img.src = D.images[Number(img.dataset.img)];
    }
  }

  function epTitle(e) {
    const ep = D.episodes[e], src = D.sources[ep.s];
    return [src.label, ep.env, "group " + D.groups[ep.g].g, "copy " + ep.copy,
      "episode " + ep.e, "seed " + ep.seed].join(" · ");
  }

  function gameCard(e, r) {
    const ep = D.episodes[e];
    const view = el("div", { class: "view" });
    view.innerHTML = ep.html; // built by vzgym/view (escaped there)
    fillImages(view);
    const shown = ep.t.filter((i) => r.hit[i]);
    const st = ep.status === "ok" ? null : el("span", { class: "badge st-failed" }, ep.status);
    return el("section", { class: "card game", id: "ep-" + e },
      el("h2", {}, el("a", { href: "#ep-" + e, "data-ep": e }, epTitle(e)), " ", st),
      view,
      el("details", { class: "turnlist", open: true },
        el("summary", {}, "turns (" + shown.length + " of " + ep.t.length + " match)"),
        turnTable(shown.map(turnRow))));
  }

  function groupCard(g, r) {
    const grp = D.groups[g], src = D.sources[grp.s];
    const turns = [];
    for (const e of grp.ep) for (const i of D.episodes[e].t) if (r.hit[i]) turns.push(i);
    const key = (v) => (v === null ? -Infinity : v);
    // phases the trainer scored this step come first; within a phase, best advantage first
    const scored = new Set(turns.filter((i) => D.turns[i][T_ADV] !== null)
      .map((i) => D.turns[i][T_PHASE]));
    turns.sort((a, b) => {
      const ta = D.turns[a], tb = D.turns[b];
      const sa = scored.has(ta[T_PHASE]) ? 0 : 1, sb = scored.has(tb[T_PHASE]) ? 0 : 1;
      if (sa !== sb) return sa - sb;
      if (ta[T_PHASE] !== tb[T_PHASE]) return ta[T_PHASE] < tb[T_PHASE] ? -1 : 1;
      return key(tb[T_ADV]) - key(ta[T_ADV]) || key(tb[T_REW]) - key(ta[T_REW]);
    });
    const head = ["phase", "advantage", "reward", "copy", "agent", "role", "tokens", "finish",
      "status", "completion", "game"];
    const rows = turns.map((i) => {
      const t = D.turns[i], ep = D.episodes[t[T_EP]];
      return el("tr", { class: "turn st-" + t[T_STATUS].replace(/ /g, "-"), "data-turn": i },
        el("td", {}, t[T_PHASE] + (t[T_ROUND] ? " r" + t[T_ROUND] : "")),
        el("td", { class: "num" }, num(t[T_ADV])), el("td", { class: "num" }, num(t[T_REW])),
        el("td", {}, ep.copy), el("td", {}, t[T_AGENT]), el("td", {}, t[T_ROLE]),
        el("td", { class: "num" }, num(t[T_TOK])), el("td", {}, t[T_FIN] || "—"),
        el("td", {}, statusBadge(t[T_STATUS], t[T_REASON])),
        el("td", { class: "text" }, completionCell(t[T_TEXT])),
        el("td", {}, el("a", { href: "#ep-" + t[T_EP], "data-ep": t[T_EP] }, "open")));
    });
    return el("section", { class: "card group" },
      el("h2", {}, [src.label, grp.env, "GRPO group " + grp.g, "seed " + grp.seed,
        grp.ep.length + " copies", turns.length + " samples, by advantage"].join(" · ")),
      el("table", { class: "grid samples" },
        el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
        el("tbody", {}, ...rows)));
  }

  function pager(node, total, r) {
    const pages = Math.max(1, Math.ceil(total / PER_PAGE));
    state.page = Math.min(state.page, pages - 1);
    const prev = el("button", { type: "button", disabled: state.page === 0 }, "‹ prev");
    const next = el("button", { type: "button", disabled: state.page >= pages - 1 }, "next ›");
    prev.onclick = () => { state.page--; render(); window.scrollTo(0, 0); };
    next.onclick = () => { state.page++; render(); window.scrollTo(0, 0); };
    const what = state.tab === "games" ? " games" : " groups";
    const info = el("span", { class: "count" }, "page " + (state.page + 1) + " of " + pages +
      " · " + total + what + " · " + r.nTurns + " of " + D.turns.length + " turns match");
    const parts = [prev, info, next];
    if (state.focus !== null) {
      const all = el("button", { type: "button" }, "show all games");
      all.onclick = () => { state.focus = null; history.replaceState(null, "", "#"); render(); };
      parts.push(all);
    }
    node.replaceChildren(...parts);
  }

  function render() {
    const r = compute();
    const list = state.tab === "games" ? r.eps : r.groups;
    pager($("pager"), list.length, r);
    pager($("pager2"), list.length, r);
    const slice = list.slice(state.page * PER_PAGE, (state.page + 1) * PER_PAGE);
    const cards = slice.map((x) => (state.tab === "games" ? gameCard(x, r) : groupCard(x, r)));
    if (!cards.length) cards.push(el("p", { class: "empty" }, "Nothing matches the filters."));
    $("cards").replaceChildren(...cards);
    for (const b of document.querySelectorAll(".tabs button")) {
      b.classList.toggle("on", b.dataset.tab === state.tab);
    }
  }

  function focusEpisode(e) {
    state.focus = e;
    state.tab = "games";
    state.page = 0;
    render();
    const card = $("ep-" + e);
    if (card) card.scrollIntoView();
  }

  function setup() {
    $("title").textContent = D.title;
    document.title = D.title;
    const nImg = D.images.length;
    $("summary").textContent = D.sources.length + " step(s)/folder(s) · " + D.episodes.length +
      " games · " + D.groups.length + " GRPO groups · " + D.turns.length + " turns · " + nImg +
      " images";
    if (D.problems.length) {
      const box = $("problems");
      box.hidden = false;
      box.append(el("b", {}, "Problems while reading (the rest is shown):"),
        el("ul", {}, ...D.problems.map((p) => el("li", {}, p))));
    }
    options($("f-step"), D.sources.map((s, i) => [String(i), s.label]), "all steps");
    options($("f-role"), distinct(T_ROLE), "all roles");
    options($("f-phase"), distinct(T_PHASE), "all phases");
    options($("f-status"), D.statuses.map((s) => [s, s]), "any status");
    const steps = $("steps");
    D.sources.forEach((s, i) => {
      const a = el("a", { href: "#", "data-step": i }, s.label);
      a.onclick = (ev) => { ev.preventDefault(); $("f-step").value = String(i); state.page = 0; render(); };
      steps.append(el("li", {}, a, " ", el("span", { class: "count" },
        s.episodes + " games, " + s.turns + " turns" + (s.complete ? "" : " (incomplete)"))));
    });
    let timer = null;
    const changed = () => { state.page = 0; render(); };
    for (const id of ["f-step", "f-role", "f-phase", "f-status"]) $(id).onchange = changed;
    for (const id of ["f-q", "f-rmin", "f-rmax"]) {
      $(id).oninput = () => { clearTimeout(timer); timer = setTimeout(changed, 200); };
    }
    $("f-reset").onclick = () => {
      for (const id of ["f-q", "f-step", "f-role", "f-phase", "f-status", "f-rmin", "f-rmax"]) {
        $(id).value = "";
      }
      state.focus = null;
      changed();
    };
    for (const b of document.querySelectorAll(".tabs button")) {
      b.onclick = () => { state.tab = b.dataset.tab; state.page = 0; render(); };
    }
    document.addEventListener("click", (ev) => {
      const a = ev.target.closest("a[data-ep]");
      if (a) { ev.preventDefault(); history.replaceState(null, "", "#ep-" + a.dataset.ep); focusEpisode(Number(a.dataset.ep)); return; }
      const tl = ev.target.closest("a.tl[data-turn]");
      if (tl) {
        ev.preventDefault();
        const row = $("turn-" + tl.dataset.turn);
        if (!row) return;
        for (const old of document.querySelectorAll("tr.hl")) old.classList.remove("hl");
        row.classList.add("hl");
        row.closest("details").open = true;
        row.scrollIntoView({ block: "center" });
      }
    });
    const m = /^#ep-(\d+)$/.exec(location.hash);
    if (m && Number(m[1]) < D.episodes.length) state.focus = Number(m[1]);
    render();
    document.body.dataset.ready = "1";
  }

  setup();
})();
