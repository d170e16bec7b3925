// sluice console: the live decisions, the approval queue and the per-agent counters of one
// sluice, from the admin listener's /api/ (docs/console.md). Plain script, no framework, no
// build step; everything it loads comes from the page's own origin (the server's CSP allows
// nothing else), and every value from the network reaches the page as text, never as markup.
"use strict";

(function () {
  const RING_MAX = 2000; // decisions kept in memory, newest replace oldest
  const ROW_H = 22; // px, the fixed row height of the virtualised list (console.css --row)
  const OVERSCAN = 6; // rows rendered above and below the visible ones
  const TOKEN_KEY = "sluice.console.token";
  const BACKOFF_MIN = 500;
  const BACKOFF_MAX = 15000;
  const STALL_MS = 45000; // the server sends a keep-alive every 15 s
  const TOP_DENIED = 12;
  const DENIED_KEYS_MAX = 5000;

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  // ---- access: the token, kept for the tab ------------------------------------------------

  let token = "";
  try {
    token = sessionStorage.getItem(TOKEN_KEY) || "";
  } catch (e) {
    token = "";
  }
  let tokenNeeded = false;

  class HttpError extends Error {
    constructor(status) {
      super("HTTP " + status);
      this.status = status;
    }
  }

  function authHeaders(extra) {
    const h = Object.assign({}, extra || {});
    if (token) h.Authorization = "Bearer " + token;
    return h;
  }

  async function api(path, opts) {
    opts = opts || {};
    const r = await fetch(path, {
      method: opts.method || "GET",
      headers: authHeaders(opts.headers),
      body: opts.body,
      cache: "no-store",
      credentials: "same-origin",
      redirect: "error",
      signal: opts.signal,
    });
    if (r.status === 401) {
      askToken();
      if (r.body) r.body.cancel().catch(() => {});
      throw new HttpError(401);
    }
    return r;
  }

  async function getJSON(path) {
    const r = await api(path, { headers: { Accept: "application/json" } });
    if (!r.ok) {
      if (r.body) r.body.cancel().catch(() => {});
      throw new HttpError(r.status);
    }
    return r.json();
  }

  function askToken() {
    const form = $("token-form");
    const was = tokenNeeded;
    tokenNeeded = true;
    if (!was) {
      $("token-msg").textContent = token ? "That token was refused." : "";
      form.hidden = false;
      $("token-input").focus();
    }
    setStatus("token", "token needed");
  }

  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = $("token-input").value.trim();
    if (!v) return;
    token = v;
    try {
      sessionStorage.setItem(TOKEN_KEY, v);
    } catch (e) {
      // private mode: the token lasts as long as the page
    }
    $("token-input").value = "";
    $("token-form").hidden = true;
    tokenNeeded = false;
    backoff = BACKOFF_MIN;
    connectStream();
    for (const p of pollers) p.kick();
  });

  // ---- status bar ---------------------------------------------------------------------------

  function setStatus(state, text) {
    const s = $("status");
    if (tokenNeeded && state !== "token") return;
    s.dataset.state = state;
    s.textContent = text;
  }

  function toast(text, bad) {
    const t = el("div", bad ? "toast bad" : "toast", text);
    $("toasts").appendChild(t);
    setTimeout(() => t.remove(), bad ? 8000 : 4000);
  }

  // ---- formatting -------------------------------------------------------------------------

  function fmtBytes(n) {
    n = Number(n) || 0;
    if (n < 1000) return String(n);
    const u = ["k", "M", "G", "T"];
    let i = -1;
    do {
      n /= 1000;
      i++;
    } while (n >= 1000 && i < u.length - 1);
    return (n < 10 ? n.toFixed(1) : Math.round(n)) + u[i];
  }

  function fmtDuration(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h" + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
  }

  const pad2 = (n) => String(n).padStart(2, "0");
  function fmtTime(ts) {
    const d = new Date(ts);
    if (isNaN(d.getTime())) return String(ts || "");
    return (
      pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds()) + "." +
      String(d.getMilliseconds()).padStart(3, "0")
    );
  }

  function hostOf(e) {
    return String((e.kind === "dns" ? e.name : e.host) || e.host || e.name || "");
  }

  function destOf(host, port) {
    if (!port) return host;
    return (host.indexOf(":") >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  // 80 for plain HTTP and 443 for a tunnel go without saying (the method column tells which).
  function defaultPort(e) {
    return e.method === "CONNECT" ? e.port === 443 : e.port === 80 && !!e.method;
  }

  // ---- the SSE parser (HTML Standard §9.2.6), fed by fetch()'s ReadableStream --------------

  class SSEParser {
    constructor(onEvent) {
      this.onEvent = onEvent;
      this.dec = new TextDecoder("utf-8");
      this.buf = "";
      this.skipLF = false; // the last chunk ended in CR: a LF starting the next one is its pair
      this.type = "";
      this.data = [];
      this.lastId = "";
      this.retry = 0;
    }

    push(chunk) {
      let s = this.buf + this.dec.decode(chunk, { stream: true });
      let i = 0;
      if (this.skipLF && s.length > 0) {
        if (s.charCodeAt(0) === 10) i = 1;
        this.skipLF = false;
      }
      let nl = s.indexOf("\n", i);
      let cr = s.indexOf("\r", i);
      while (nl >= 0 || cr >= 0) {
        const j = nl < 0 ? cr : cr < 0 ? nl : Math.min(nl, cr);
        this.line(s.slice(i, j));
        if (j === cr) {
          if (j + 1 === s.length) {
            this.skipLF = true;
            i = j + 1;
          } else {
            i = s.charCodeAt(j + 1) === 10 ? j + 2 : j + 1;
          }
        } else {
          i = j + 1;
        }
        if (nl >= 0 && nl < i) nl = s.indexOf("\n", i);
        if (cr >= 0 && cr < i) cr = s.indexOf("\r", i);
      }
      this.buf = s.slice(i);
      if (this.buf.length > 1 << 20) throw new Error("event stream line over 1 MiB");
    }

    line(l) {
      if (l === "") {
        this.dispatch();
        return;
      }
      if (l.charCodeAt(0) === 58) return; // ":" comment (keep-alive)
      const c = l.indexOf(":");
      const field = c < 0 ? l : l.slice(0, c);
      let value = c < 0 ? "" : l.slice(c + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      if (field === "event") this.type = value;
      else if (field === "data") this.data.push(value);
      else if (field === "id") {
        if (value.indexOf("\0") < 0) this.lastId = value;
      } else if (field === "retry") {
        if (/^\d+$/.test(value)) this.retry = Number(value);
      }
    }

    dispatch() {
      const type = this.type || "message";
      const data = this.data;
      this.type = "";
      this.data = [];
      if (data.length === 0) return;
      this.onEvent(type, data.join("\n"), this.lastId);
    }
  }

  // ---- the decisions: a ring, filtered into a view, virtualised ---------------------------

  const ring = { arr: new Array(RING_MAX), start: 0, len: 0 };
  function ringPush(e) {
    if (ring.len < RING_MAX) {
      ring.arr[(ring.start + ring.len) % RING_MAX] = e;
      ring.len++;
    } else {
      ring.arr[ring.start] = e;
      ring.start = (ring.start + 1) % RING_MAX;
    }
  }
  function ringItems() {
    const out = new Array(ring.len);
    for (let k = 0; k < ring.len; k++) out[k] = ring.arr[(ring.start + k) % RING_MAX];
    return out;
  }
  function ringReplace(items) {
    const keep = items.slice(Math.max(0, items.length - RING_MAX));
    ring.arr = new Array(RING_MAX);
    ring.start = 0;
    ring.len = 0;
    for (const e of keep) ringPush(e);
  }

  const filter = { agent: "", decision: "", host: "" };
  function matches(e) {
    if (filter.decision && e.decision !== filter.decision) return false;
    if (filter.agent && String(e.agent || "").toLowerCase().indexOf(filter.agent) < 0) return false;
    if (filter.host && hostOf(e).toLowerCase().indexOf(filter.host) < 0) return false;
    return true;
  }

  let view = []; // the rows shown, newest first: a snapshot while paused
  let viewDirty = true;
  let forceView = false; // rebuild even while paused (the filters changed)
  let userPaused = false;
  let scrolledAway = false;
  let heldNew = 0;
  let seq = 0;
  let selected = null;
  const paused = () => userPaused || scrolledAway;

  const eventsEl = $("events");
  const spacer = eventsEl.querySelector(".events-spacer");
  const emptyEl = eventsEl.querySelector(".events-empty");
  const pool = []; // row elements, reused

  function rebuildView() {
    const v = [];
    for (let k = ring.len - 1; k >= 0; k--) {
      const e = ring.arr[(ring.start + k) % RING_MAX];
      if (matches(e)) v.push(e);
    }
    view = v;
    heldNew = 0;
  }

  function makeRow() {
    const r = el("div", "event-row");
    r.setAttribute("role", "listitem");
    r._c = {
      t: r.appendChild(el("span", "t")),
      d: r.appendChild(el("span")).appendChild(el("span", "badge")),
      agent: r.appendChild(el("span", "agent")),
      method: r.appendChild(el("span", "method")),
      dest: r.appendChild(el("span", "dest")),
      why: r.appendChild(el("span", "why")),
      status: r.appendChild(el("span", "num")),
      bytes: r.appendChild(el("span", "num")),
      ms: r.appendChild(el("span", "num")),
    };
    r._c.host = r._c.dest.appendChild(document.createTextNode(""));
    r._c.path = r._c.dest.appendChild(el("span", "path"));
    return r;
  }

  function fillRow(r, e) {
    const c = r._c;
    const dns = e.kind === "dns";
    const host = hostOf(e);
    const decision = String(e.decision || "");
    r.dataset.host = host;
    r.dataset.decision = decision;
    r.dataset.agent = String(e.agent || "");
    if (e.id !== undefined) r.dataset.id = String(e.id);
    if (e._t === undefined) e._t = fmtTime(e.ts);
    c.t.textContent = e._t;
    c.d.textContent = decision;
    c.d.className = "badge " + decision;
    c.agent.textContent = String(e.agent || "");
    c.method.textContent = dns ? "DNS " + String(e.type || "") : String(e.method || "");
    c.host.textContent = dns ? host : destOf(host, defaultPort(e) ? 0 : e.port);
    c.path.textContent = dns ? "" : String(e.path || "");
    const reason = String(e.reason || "");
    const rule = String(e.rule || "");
    const plain = decision === "allow" && reason === "allowed"; // the rule says it all
    c.why.textContent = reason && rule && !plain ? reason + " · " + rule : rule || reason;
    if (dns) c.status.textContent = e.rcode === "NOERROR" ? "" : String(e.rcode || "");
    else if (e.event === "open") c.status.textContent = "open";
    else c.status.textContent = e.status ? String(e.status) : "";
    c.bytes.textContent = dns ? "" : fmtBytes(e.bytes_up) + " / " + fmtBytes(e.bytes_down);
    c.ms.textContent = e.duration_ms === undefined ? "" : String(e.duration_ms);
    r.title = host + (e.path ? String(e.path) : "") + (rule ? "\n" + rule : "");
    r.classList.toggle("selected", e === selected);
  }

  function renderRows() {
    spacer.style.height = view.length * ROW_H + "px";
    emptyEl.hidden = view.length > 0;
    emptyEl.textContent = ring.len ? "No decision matches the filters." : "No decision yet.";
    const top = eventsEl.scrollTop;
    const h = eventsEl.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(view.length, Math.ceil((top + h) / ROW_H) + OVERSCAN);
    const n = Math.max(0, last - first);
    while (pool.length < n) pool.push(makeRow());
    for (let k = 0; k < n; k++) {
      const r = pool[k];
      const i = first + k;
      const e = view[i];
      if (r._e !== e || r._sel !== (e === selected)) {
        fillRow(r, e);
        r._e = e;
        r._sel = e === selected;
      }
      if (r._i !== i) {
        r.style.top = i * ROW_H + "px";
        r._i = i;
      }
      if (!r.isConnected) eventsEl.appendChild(r);
    }
    for (let k = n; k < pool.length; k++) {
      if (pool[k].isConnected) pool[k].remove();
      pool[k]._e = null;
      pool[k]._i = -1;
    }
    $("events-count").textContent =
      view.length === ring.len ? String(ring.len) : view.length + " of " + ring.len;
    $("held-new").textContent = paused() ? "paused" + (heldNew ? ", " + heldNew + " new" : "") : "";
  }

  eventsEl.addEventListener("scroll", () => {
    const away = eventsEl.scrollTop > ROW_H / 2;
    if (away !== scrolledAway) {
      scrolledAway = away;
      if (!paused()) viewDirty = true;
    }
    schedule();
  });

  eventsEl.addEventListener("click", (ev) => {
    const r = ev.target.closest(".event-row");
    if (!r || !r._e) return;
    selected = selected === r._e ? null : r._e;
    const d = $("event-detail");
    d.hidden = !selected;
    d.textContent = selected
      ? JSON.stringify(selected, (k, v) => (k.charCodeAt(0) === 95 ? undefined : v), 2)
      : "";
    schedule();
  });

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && selected) {
      selected = null;
      $("event-detail").hidden = true;
      schedule();
    }
  });

  $("pause").addEventListener("click", () => {
    userPaused = !userPaused;
    $("pause").setAttribute("aria-pressed", String(userPaused));
    $("pause").textContent = userPaused ? "Resume" : "Pause";
    if (!paused()) viewDirty = true;
    schedule();
  });

  function readFilters() {
    filter.agent = $("filter-agent").value.trim().toLowerCase();
    filter.decision = $("filter-decision").value;
    filter.host = $("filter-host").value.trim().toLowerCase();
    viewDirty = true;
    forceView = true;
    eventsEl.scrollTop = 0;
    const q = new URLSearchParams();
    for (const k of ["agent", "decision", "host"]) {
      const v = $("filter-" + k).value.trim();
      if (v) q.set(k, v);
    }
    const hash = q.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
    frame(performance.now()); // at once: what the operator asked for is on screen on return
  }
  for (const id of ["filter-agent", "filter-host"]) $(id).addEventListener("input", readFilters);
  $("filter-decision").addEventListener("change", readFilters);

  function setFilter(name, value) {
    $("filter-" + name).value = value;
    readFilters();
  }

  (function filtersFromHash() {
    const q = new URLSearchParams(location.hash.slice(1));
    for (const k of ["agent", "decision", "host"]) if (q.get(k)) $("filter-" + k).value = q.get(k);
    filter.agent = $("filter-agent").value.trim().toLowerCase();
    filter.decision = $("filter-decision").value;
    filter.host = $("filter-host").value.trim().toLowerCase();
  })();

  // ---- counters computed from the events received -----------------------------------------

  const rate = { buckets: new Array(60).fill(0), stamp: new Array(60).fill(0) };
  let received = 0;
  let droppedTotal = 0;
  const denied = new Map(); // "host:port" -> {host, port, n, agents: Set, reason}
  let deniedDirty = false;
  const agentNames = new Set();

  function countRate() {
    const s = Math.floor(Date.now() / 1000);
    const b = s % 60;
    if (rate.stamp[b] !== s) {
      rate.stamp[b] = s;
      rate.buckets[b] = 0;
    }
    rate.buckets[b]++;
  }
  function perMinute() {
    const s = Math.floor(Date.now() / 1000);
    let n = 0;
    for (let b = 0; b < 60; b++) if (s - rate.stamp[b] < 60) n += rate.buckets[b];
    return n;
  }

  function countDenied(e) {
    if (e.decision !== "deny") return;
    const host = hostOf(e);
    const port = e.kind === "dns" ? 0 : e.port || 0;
    const key = destOf(host, port);
    let d = denied.get(key);
    if (!d) {
      if (denied.size >= DENIED_KEYS_MAX) pruneDenied();
      d = { key: key, host: host, n: 0, agents: new Set(), reason: "" };
      denied.set(key, d);
    }
    d.n++;
    if (d.agents.size < 8) d.agents.add(String(e.agent || ""));
    d.reason = String(e.reason || "");
    deniedDirty = true;
  }
  function pruneDenied() {
    const all = Array.from(denied.values()).sort((a, b) => a.n - b.n);
    for (let i = 0; i < all.length / 2; i++) denied.delete(all[i].key);
  }

  function noteAgent(name) {
    if (!name || agentNames.has(name) || agentNames.size > 500) return;
    agentNames.add(name);
    const o = document.createElement("option");
    o.value = name;
    $("agent-names").appendChild(o);
  }

  function addEvent(e) {
    if (!e || typeof e !== "object") return;
    e._s = ++seq;
    ringPush(e);
    received++;
    countRate();
    countDenied(e);
    noteAgent(e.agent);
    if (paused()) {
      if (matches(e)) heldNew++;
    } else {
      viewDirty = true;
    }
    scheduleData();
  }

  let lastDeniedRender = -Infinity;
  function renderDenied(now) {
    if (!deniedDirty || now - lastDeniedRender < 500) return;
    deniedDirty = false;
    lastDeniedRender = now;
    const top = Array.from(denied.values())
      .sort((a, b) => b.n - a.n)
      .slice(0, TOP_DENIED);
    const ol = $("top-denied");
    ol.textContent = "";
    if (top.length === 0) {
      ol.appendChild(el("li", "empty", "Nothing denied yet."));
      return;
    }
    const max = top[0].n;
    for (const d of top) {
      const li = el("li");
      li.dataset.host = d.host;
      const fill = li.appendChild(el("span", "bar-fill"));
      fill.style.width = Math.max(2, Math.round((100 * d.n) / max)) + "%";
      li.appendChild(el("span", "host", d.key));
      li.appendChild(el("span", "who", Array.from(d.agents).join(", ")));
      li.appendChild(el("span", "n", String(d.n)));
      li.title = d.key + " — " + d.reason + " — click to filter";
      li.addEventListener("click", () => {
        $("filter-decision").value = "deny";
        setFilter("host", d.host);
      });
      ol.appendChild(li);
    }
  }

  // ---- one animation frame renders whatever changed ---------------------------------------

  // New decisions repaint the list at most every DATA_FRAME_MS (at 10,000 a minute no one reads
  // them at 60 frames a second); scrolling, filters and clicks repaint in the next frame.
  const DATA_FRAME_MS = 100;
  let frameQueued = false;
  let dataTimer = null;
  let lastFrame = 0;
  function schedule() {
    if (frameQueued) return;
    frameQueued = true;
    requestAnimationFrame(frame);
  }
  function scheduleData() {
    if (frameQueued || dataTimer) return;
    const wait = lastFrame + DATA_FRAME_MS - performance.now();
    if (wait <= 0) {
      schedule();
      return;
    }
    dataTimer = setTimeout(() => {
      dataTimer = null;
      schedule();
    }, wait);
  }
  function frame(now) {
    frameQueued = false;
    lastFrame = now;
    if (viewDirty && (!paused() || forceView)) {
      viewDirty = false;
      forceView = false;
      rebuildView();
    }
    renderRows();
    $("seen").textContent = String(received);
    $("rate").textContent = String(perMinute());
    renderDenied(now);
    if (deniedDirty) scheduleData(); // throttled: try again later
  }

  // ---- the live stream ----------------------------------------------------------------------

  let streamGen = 0;
  let streamCtl = null;
  let backoff = BACKOFF_MIN;
  let connectSeq = 0;

  function onSSE(type, data) {
    let doc;
    try {
      doc = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (type === "decision") addEvent(doc);
    else if (type === "pending") pendingUpsert(doc);
    else if (type === "answered") pendingAnswered(doc);
    else if (type === "dropped") {
      droppedTotal += Number(doc.count) || 0;
      const d = $("dropped");
      d.hidden = droppedTotal === 0;
      d.textContent = droppedTotal + " skipped (stream fell behind)";
    }
  }

  async function connectStream() {
    const gen = ++streamGen;
    if (streamCtl) streamCtl.abort();
    const ctl = new AbortController();
    streamCtl = ctl;
    setStatus("connecting", "connecting");
    let r;
    try {
      r = await api("/api/events", {
        signal: ctl.signal,
        headers: { Accept: "text/event-stream" },
      });
    } catch (e) {
      if (gen !== streamGen) return;
      if (e.status === 401) return; // waits for the token form
      retryStream(gen);
      return;
    }
    if (!r.ok || !r.body) {
      if (r.body) r.body.cancel().catch(() => {});
      retryStream(gen);
      return;
    }
    const opened = Date.now();
    let lastByte = opened;
    const watchdog = setInterval(() => {
      if (Date.now() - lastByte > STALL_MS) ctl.abort();
    }, 5000);
    setStatus("live", "live");
    connectSeq = seq;
    backfill(gen);
    const reader = r.body.getReader();
    const parser = new SSEParser(onSSE);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        lastByte = Date.now();
        parser.push(value);
      }
    } catch (e) {
      // aborted, reset, or a line over the limit: reconnect
    }
    clearInterval(watchdog);
    if (gen !== streamGen) return;
    ctl.abort();
    if (Date.now() - opened > 5000) backoff = BACKOFF_MIN;
    retryStream(gen, parser.retry);
  }

  function retryStream(gen, serverRetry) {
    const base = Math.max(backoff, serverRetry || 0);
    backoff = Math.min(backoff * 2, BACKOFF_MAX);
    const wait = Math.round(base * (0.8 + 0.4 * Math.random()));
    setStatus("down", "reconnecting in " + Math.max(1, Math.round(wait / 1000)) + "s");
    setTimeout(() => {
      if (gen === streamGen && !tokenNeeded) connectStream();
    }, wait);
  }

  // What happened before the page (or this connection) opened: /api/decisions, merged in
  // before what the new stream has brought, without the lines already held.
  async function backfill(gen) {
    let doc;
    try {
      doc = await getJSON("/api/decisions?limit=" + RING_MAX);
    } catch (e) {
      return;
    }
    if (gen !== streamGen || !doc || !Array.isArray(doc.decisions)) return;
    const key = (e) => [e.kind || "", e.id, e.event || "", e.ts].join("|");
    const items = ringItems();
    const have = new Set(items.map(key));
    const older = [];
    for (const e of doc.decisions) {
      if (!e || typeof e !== "object" || have.has(key(e))) continue;
      e._s = 0;
      older.push(e);
      countDenied(e);
      noteAgent(e.agent);
    }
    if (older.length === 0) return;
    const before = items.filter((e) => e._s <= connectSeq);
    const after = items.filter((e) => e._s > connectSeq);
    ringReplace(before.concat(older, after));
    viewDirty = true;
    schedule();
  }

  // ---- pollers --------------------------------------------------------------------------------

  const pollers = [];
  function poller(fn, interval) {
    let timer = null;
    let running = false;
    let again = false;
    const p = {
      interval: interval,
      async kick() {
        if (running) {
          again = true;
          return;
        }
        clearTimeout(timer);
        if (tokenNeeded) {
          timer = setTimeout(p.kick, p.interval); // the token form kicks every poller
          return;
        }
        running = true;
        try {
          await fn();
        } catch (e) {
          // each fn shows its own failure
        }
        running = false;
        if (again) {
          again = false;
          p.kick();
          return;
        }
        timer = setTimeout(p.kick, p.interval);
      },
    };
    pollers.push(p);
    return p;
  }

  function failText(e) {
    if (e.status === 404) return "not available";
    if (e.status === 401) return "token needed";
    return e.status ? "error " + e.status : "unreachable";
  }

  // ---- pending queue --------------------------------------------------------------------------

  const pending = new Map(); // id -> {entry, at, el, busy}
  const answeredHere = new Set();
  const EXPIRIES = [
    ["", "never expires"],
    ["1h", "for 1 hour"],
    ["8h", "for 8 hours"],
    ["7d", "for 7 days"],
  ];
  const ANSWERS = [
    ["once", "Allow once"],
    ["agent", "Always for this agent"],
    ["all", "Always for every agent"],
    ["deny", "Deny"],
  ];

  const pendingPoll = poller(async () => {
    let doc;
    try {
      doc = await getJSON("/api/pending");
      $("pending-state").textContent = "";
    } catch (e) {
      $("pending-state").textContent = failText(e);
      throw e;
    }
    const list = Array.isArray(doc.pending) ? doc.pending : [];
    const now = Date.now();
    const ids = new Set();
    for (const p of list) {
      if (!p || p.id === undefined) continue;
      ids.add(String(p.id));
      pendingSet(p, now);
    }
    for (const [id, item] of pending) if (!ids.has(id) && !item.busy) pendingDrop(id);
    renderPending();
  }, 1000);

  let pendingKickTimer = null;
  function pendingSoon() {
    if (pendingKickTimer) return;
    pendingKickTimer = setTimeout(() => {
      pendingKickTimer = null;
      pendingPoll.kick();
    }, 50);
  }

  function pendingSet(p, now) {
    const id = String(p.id);
    let item = pending.get(id);
    if (!item) {
      item = { el: makePendingRow(id), busy: false };
      pending.set(id, item);
    }
    item.entry = p;
    item.at = now;
  }

  function pendingUpsert(p) {
    if (!p || p.id === undefined) return;
    pendingSet(p, Date.now());
    renderPending();
    pendingSoon();
  }

  function pendingAnswered(a) {
    if (!a || a.id === undefined) return;
    const id = String(a.id);
    const item = pending.get(id);
    if (item && !answeredHere.has(id)) {
      const e = item.entry;
      const what = String(e.agent || "") + " → " + destOf(String(e.host || ""), e.port);
      const by = a.by ? " by " + String(a.by) : "";
      toast("Answered elsewhere: " + what + " — " + String(a.answer || "") + by);
    }
    if (item && !item.busy) pendingDrop(id);
    renderPending();
    pendingSoon();
  }

  function pendingDrop(id) {
    const item = pending.get(id);
    if (!item) return;
    item.el.remove();
    pending.delete(id);
  }

  function makePendingRow(id) {
    const r = el("div", "pending-row");
    r.dataset.id = id;
    const what = r.appendChild(el("div", "pending-what"));
    const c = {
      kind: what.appendChild(el("span", "kind")),
      agent: what.appendChild(el("span", "agent")),
      dest: what.appendChild(el("span", "dest")),
    };
    c.why = r.appendChild(el("div", "pending-why"));
    const actions = r.appendChild(el("div", "pending-actions"));
    c.expires = actions.appendChild(el("select", "expires"));
    c.expires.setAttribute("aria-label", "how long an always answer lasts");
    c.expires.title = "How long an \u201calways\u201d answer lasts";
    for (const [v, label] of EXPIRIES) {
      const o = el("option", "", label);
      o.value = v;
      c.expires.appendChild(o);
    }
    c.buttons = [];
    for (const [answer, label] of ANSWERS) {
      const b = actions.appendChild(el("button", "", label));
      b.type = "button";
      b.dataset.answer = answer;
      b.addEventListener("click", () => answerPending(id, answer));
      c.buttons.push(b);
    }
    const timer = r.appendChild(el("div", "pending-timer"));
    c.bar = timer.appendChild(el("span"));
    c.msg = r.appendChild(el("div", "pending-msg"));
    r._c = c;
    return r;
  }

  function fillPendingRow(item, now) {
    const p = item.entry;
    const c = item.el._c;
    const host = String(p.host || "");
    item.el.dataset.host = host;
    item.el.dataset.agent = String(p.agent || "");
    c.kind.textContent = String(p.kind || "");
    c.agent.textContent = String(p.agent || "");
    const method = p.kind === "dns" ? "" : String(p.method || "");
    const port = p.kind === "dns" || defaultPort(p) ? 0 : p.port;
    c.dest.textContent = (method ? method + " " : "") + destOf(host, port) + String(p.path || "");
    c.dest.title = c.dest.textContent;
    const since = now - item.at;
    const age = (Number(p.age_ms) || 0) + since;
    const left = Math.max(0, (Number(p.timeout_ms) || 0) - since);
    const parts = [];
    if (p.held !== undefined) {
      parts.push(String(p.held) + (Number(p.held) === 1 ? " request" : " requests"));
    }
    parts.push("waiting " + fmtDuration(age));
    if (p.timeout_ms !== undefined) parts.push("times out in " + fmtDuration(left));
    if (p.reason) parts.push(String(p.reason));
    if (p.rule) parts.push(String(p.rule));
    c.why.textContent = parts.join(" · ");
    c.why.title = c.why.textContent;
    const total = age + left;
    c.bar.style.width = total > 0 ? Math.round((100 * left) / total) + "%" : "0%";
  }

  function renderPending() {
    const box = $("pending");
    const now = Date.now();
    const age = (item) => (Number(item.entry.age_ms) || 0) + (now - item.at);
    const items = Array.from(pending.values()).sort((a, b) => age(b) - age(a)); // oldest first
    let empty = box.querySelector(".empty");
    if (items.length === 0) {
      if (!empty) box.appendChild(el("p", "empty", "No request is waiting."));
    } else if (empty) {
      empty.remove();
    }
    let prev = null;
    for (const item of items) {
      fillPendingRow(item, now);
      const want = prev ? prev.nextSibling : box.firstChild;
      if (want !== item.el) box.insertBefore(item.el, want);
      prev = item.el;
    }
    $("pending-count").textContent = String(items.length);
    document.title = (items.length ? "(" + items.length + ") " : "") + "sluice console";
  }

  async function answerPending(id, answer) {
    const item = pending.get(id);
    if (!item || item.busy) return;
    const c = item.el._c;
    const body = { answer: answer };
    const expires = c.expires.value;
    if (expires && (answer === "agent" || answer === "all")) body.expires = expires;
    item.busy = true;
    item.el.classList.add("busy");
    for (const b of c.buttons) b.disabled = true;
    c.msg.textContent = "";
    answeredHere.add(id);
    const e = item.entry;
    const what = String(e.agent || "") + " → " + destOf(String(e.host || ""), e.port);
    let ok = false;
    try {
      const r = await api("/api/pending/" + encodeURIComponent(id), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      if (r.ok) {
        let doc = {};
        try {
          doc = await r.json();
        } catch (err) {
          doc = {};
        }
        ok = true;
        const label = ANSWERS.find((a) => a[0] === answer)[1];
        const always = answer === "agent" || answer === "all";
        toast(
          label + ": " + what + (body.expires ? " (" + body.expires + ")" : "") +
            (doc.released !== undefined ? " — released " + doc.released : "") +
            (always && doc.persisted === false ? ", not saved to disk" : "")
        );
      } else if (r.status === 404) {
        ok = true;
        toast("Already gone: " + what + " (answered, timed out, or its clients left)");
      } else {
        let detail = "";
        try {
          detail = (await r.text()).slice(0, 200);
        } catch (err) {
          detail = "";
        }
        c.msg.textContent =
          "The answer failed: HTTP " + r.status + (detail ? " — " + detail : "");
      }
    } catch (err) {
      c.msg.textContent =
        err.status === 401 ? "A token is needed." : "The answer failed: " + err.message;
    }
    item.busy = false;
    item.el.classList.remove("busy");
    if (ok) {
      pendingDrop(id);
    } else {
      answeredHere.delete(id);
      for (const b of c.buttons) b.disabled = false;
    }
    renderPending();
    pendingSoon();
  }

  // ---- agents ----------------------------------------------------------------------------------

  const agentRows = new Map(); // name -> {tr, cells, last: {requests, at}}
  poller(async () => {
    let doc;
    try {
      doc = await getJSON("/api/agents");
      $("agents-state").textContent = "";
    } catch (e) {
      $("agents-state").textContent = failText(e);
      throw e;
    }
    const list = Array.isArray(doc.agents) ? doc.agents : [];
    const tbody = $("agents").tBodies[0];
    const now = Date.now();
    const names = new Set();
    let prev = null;
    for (const a of list) {
      const name = String(a.name || "");
      names.add(name);
      noteAgent(name);
      let row = agentRows.get(name);
      if (!row) {
        const tr = el("tr", "agent-row");
        tr.dataset.agent = name;
        tr.title = "Show only " + name + "'s decisions";
        tr.addEventListener("click", () => setFilter("agent", name));
        const cells = ["name", "num", "num", "num", "num", "num", "num"].map((cls) =>
          tr.appendChild(el("td", cls))
        );
        row = { tr: tr, cells: cells, last: null };
        agentRows.set(name, row);
      }
      const req = Number(a.requests) || 0;
      let perSec = "";
      if (row.last && now > row.last.at) {
        const rate = ((req - row.last.requests) * 1000) / (now - row.last.at);
        perSec = String(Math.max(0, Math.round(rate)));
      }
      row.last = { requests: req, at: now };
      const v = row.cells;
      v[0].textContent = name;
      v[1].textContent = fmtBytes(req);
      v[1].title = String(req);
      v[2].textContent = perSec;
      v[3].textContent = String(Number(a.denied) || 0);
      v[3].classList.toggle("deny", (Number(a.denied) || 0) > 0);
      v[4].textContent = fmtBytes(a.bytes_up);
      v[5].textContent = fmtBytes(a.bytes_down);
      v[6].textContent = String(Number(a.open_tunnels) || 0);
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== row.tr) tbody.insertBefore(row.tr, want);
      prev = row.tr;
    }
    for (const [name, row] of agentRows) {
      if (!names.has(name)) {
        row.tr.remove();
        agentRows.delete(name);
      }
    }
  }, 2000);

  // ---- open tunnels (/api/connections) --------------------------------------------------------

  const connPoll = poller(async () => {
    const box = $("connections");
    let doc;
    try {
      doc = await getJSON("/api/connections");
    } catch (e) {
      box.textContent = "";
      box.appendChild(el("p", "empty", failText(e)));
      $("connections-count").textContent = "–";
      throw e;
    }
    const all = Array.isArray(doc.connections) ? doc.connections : [];
    const more = all.filter((c) => c.more !== undefined).reduce((n, c) => n + Number(c.more), 0);
    // Those with a destination: a connection still reading its first head is not news.
    const list = all.filter((c) => c.host);
    $("connections-count").textContent = String(list.length + more);
    box.textContent = "";
    if (list.length === 0) {
      box.appendChild(el("p", "empty", "Nothing is open."));
      return;
    }
    list.sort((a, b) => Number(b.age_ms || 0) - Number(a.age_ms || 0));
    const table = box.appendChild(el("table", "table"));
    const head = table.appendChild(el("thead")).appendChild(el("tr"));
    const cols = [["agent", ""], ["destination", ""], ["state", ""], ["↑", "num"], ["↓", "num"],
      ["open", "num"]];
    for (const [t, cls] of cols) head.appendChild(el("th", cls, t));
    const tbody = table.appendChild(el("tbody"));
    for (const c of list.slice(0, 200)) {
      const tr = tbody.appendChild(el("tr", "conn-row"));
      tr.dataset.host = String(c.host);
      tr.dataset.state = String(c.state || "");
      tr.dataset.agent = String(c.agent || "");
      tr.title = [c.client, c.method, c.intercepted ? "intercepted" : "",
        c.stream_of !== undefined ? "stream of " + c.stream_of : ""].filter(Boolean).join(" · ");
      tr.appendChild(el("td", "name", String(c.agent || "")));
      tr.appendChild(el("td", "mono", destOf(String(c.host), c.port)));
      tr.appendChild(el("td", "", String(c.state || "")));
      tr.appendChild(el("td", "num", fmtBytes(c.bytes_up)));
      tr.appendChild(el("td", "num", fmtBytes(c.bytes_down)));
      const age = Number(c.age_ms);
      tr.appendChild(el("td", "num", isNaN(age) ? "" : fmtDuration(age)));
    }
    const left = list.length - 200 + more;
    if (left > 0) box.appendChild(el("p", "empty", "and " + left + " more"));
  }, 2000);

  // ---- suggested policy (/api/suggestions) ----------------------------------------------------

  let suggestionText = null;
  const suggPoll = poller(async () => {
    const pre = $("suggestions");
    let doc;
    try {
      doc = await getJSON("/api/suggestions");
    } catch (e) {
      suggestionText = null;
      pre.textContent = failText(e);
      $("copy-suggestions").disabled = true;
      throw e;
    }
    const text = typeof doc.yaml === "string" ? doc.yaml : "";
    if (text === suggestionText) return; // leave a selection in place
    suggestionText = text;
    pre.textContent = text || "Nothing to suggest yet.";
    $("copy-suggestions").disabled = !text;
  }, 5000);

  $("copy-suggestions").addEventListener("click", async () => {
    if (!suggestionText) return;
    let ok = false;
    try {
      await navigator.clipboard.writeText(suggestionText);
      ok = true;
    } catch (e) {
      // not a secure context (a non-loopback http:// console): select and copy instead
      const ta = el("textarea");
      ta.value = suggestionText;
      ta.setAttribute("readonly", "");
      ta.style.position = "fixed";
      ta.style.opacity = "0";
      document.body.appendChild(ta);
      ta.select();
      try {
        ok = document.execCommand("copy");
      } catch (err) {
        ok = false;
      }
      ta.remove();
    }
    $("copy-state").textContent = ok ? "copied" : "select the text and copy it";
    setTimeout(() => ($("copy-state").textContent = ""), 2500);
  });

  // ---- once a second: the rate, the clock, the pending countdowns ---------------------------

  setInterval(() => {
    $("rate").textContent = String(perMinute());
    const d = new Date();
    $("clock").textContent =
      pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
    if (pending.size) renderPending();
  }, 1000);

  // ---- start ------------------------------------------------------------------------------------

  renderPending();
  deniedDirty = true;
  schedule();
  connectStream();
  for (const p of pollers) p.kick();
})();
