// The sandbox's web chat: long-polls /api/updates and draws each message from its node tree with DOM calls only
// (bot text is never parsed as HTML here); presses, typed messages, the command menu, users, language and clock.
"use strict";
(() => {
  const state = {
    users: [], labels: {}, lang: "en", user: null, since: 0, gen: 0, seen: {}, versions: {},
    clock: false, speeds: [], abort: null, els: new Map(), menuOpen: false, commands: [],
  };
  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const params = new URLSearchParams(location.search);

  function t(key) {
    return (state.labels[state.lang] || {})[key] || (state.labels.en || {})[key] || key;
  }

  async function api(path, body, signal) {
    const opt = { signal, headers: {} };
    if (body !== undefined) {
      opt.method = "POST";
      opt.headers["Content-Type"] = "application/json";
      opt.body = JSON.stringify(body);
    }
    const r = await fetch(path, opt);
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const e = new Error(data.error || String(r.status));
      e.status = r.status;
      throw e;
    }
    return data;
  }

  // ---- a message's node tree to DOM (chat_view.py: strings, or {tag, children, href?, lang?}) ----
  const PLAIN = { b: "b", i: "i", u: "u", s: "s", code: "code", pre: "pre", blockquote: "blockquote" };

  function textOf(n) {
    if (typeof n === "string") return n;
    return (n && Array.isArray(n.children)) ? n.children.map(textOf).join("") : "";
  }

  function build(parent, nodes) {
    for (const n of Array.isArray(nodes) ? nodes : []) {
      if (typeof n === "string") {
        parent.appendChild(document.createTextNode(n));
        continue;
      }
      if (!n || typeof n !== "object") continue;
      let el;
      if (Object.prototype.hasOwnProperty.call(PLAIN, n.tag)) {
        el = document.createElement(PLAIN[n.tag]);
        if (n.tag === "pre" && typeof n.lang === "string") el.dataset.lang = n.lang;
      } else if (n.tag === "a") {
        el = document.createElement("a");
        if (typeof n.href === "string" && /^(https?:|mailto:)/i.test(n.href)) {
          el.href = n.href;
          el.target = "_blank";
          el.rel = "noopener noreferrer";
        }
      } else if (n.tag === "spoiler") {
        el = document.createElement("span");
        el.className = "spoiler";
        el.title = t("spoiler");
        el.addEventListener("click", () => el.classList.add("shown"));
      } else if (n.tag === "cmd") {
        el = document.createElement("a");
        el.className = "cmd";
        el.href = "#";
        const command = textOf(n).split("@")[0];
        el.addEventListener("click", (ev) => { ev.preventDefault(); sendText(command); });
      } else {
        el = document.createElement("span");
      }
      build(el, n.children);
      parent.appendChild(el);
    }
  }

  function clock(ts) {
    if (!ts) return "";
    const d = new Date(ts * 1000);
    return d.toLocaleTimeString(state.lang === "ko" ? "ko-KR" : "en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  function renderMessage(m) {
    const root = document.createElement("div");
    root.className = "msg " + (m.out ? "out" : "in");
    root.dataset.id = String(m.id);
    root.dataset.v = String(m.v);
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    if (m.photo) {
      const a = document.createElement("a");
      a.href = m.photo;
      a.target = "_blank";
      a.rel = "noopener";
      const img = document.createElement("img");
      img.className = "photo";
      img.src = m.photo;
      img.alt = t("photo");
      img.addEventListener("load", () => stickToBottom());
      a.appendChild(img);
      bubble.appendChild(a);
    }
    const body = m.photo ? m.caption : m.text;
    if (body && body.length) {
      const text = document.createElement("div");
      text.className = "text";
      build(text, body);
      bubble.appendChild(text);
    }
    const meta = document.createElement("div");
    meta.className = "meta";
    if (m.edited) {
      const e = document.createElement("span");
      e.className = "edited";
      e.dataset.label = "edited";
      e.textContent = t("edited");
      meta.appendChild(e);
    }
    const time = document.createElement("time");
    time.textContent = clock(m.date);
    time.dataset.ts = String(m.date || "");
    meta.appendChild(time);
    bubble.appendChild(meta);
    root.appendChild(bubble);
    if (Array.isArray(m.keyboard) && m.keyboard.length) {
      const kb = document.createElement("div");
      kb.className = "keyboard";
      for (const row of m.keyboard) {
        const r = document.createElement("div");
        r.className = "row";
        for (const b of row) r.appendChild(button(m.id, b));
        kb.appendChild(r);
      }
      root.appendChild(kb);
    }
    return root;
  }

  function button(messageId, b) {
    if (b.url) {
      const a = document.createElement("a");
      a.className = "kb link";
      a.href = b.url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.textContent = b.text;
      return a;
    }
    const el = document.createElement("button");
    el.type = "button";
    el.className = "kb";
    el.textContent = b.text;
    if (!b.data) {
      el.disabled = true;
      return el;
    }
    el.addEventListener("click", async () => {
      if (el.classList.contains("busy")) return;
      el.classList.add("busy");
      setTimeout(() => el.classList.remove("busy"), 3000);
      try {
        await api("/api/press", { user: state.user, message_id: messageId, data: b.data });
      } catch (e) {
        el.classList.remove("busy");
        toast(e.status === 409 ? t("gone") : String(e.message));
      }
    });
    return el;
  }

  // ---- applying an update ----
  function nearBottom() {
    const c = $("chat");
    return c.scrollHeight - c.scrollTop - c.clientHeight < 80;
  }

  function showJump() {
    $("to-bottom").hidden = nearBottom();
  }

  function stickToBottom(force) {
    const c = $("chat");
    if (force || c.dataset.stick === "1") c.scrollTop = c.scrollHeight;
  }

  function apply(d) {
    const list = $("messages");
    const stick = nearBottom();
    const keep = new Set(d.ids);
    for (const [id, el] of state.els) {
      if (!keep.has(id)) {
        el.remove();
        state.els.delete(id);
      }
    }
    let mine = false;
    for (const m of d.messages) {
      const el = renderMessage(m);
      const old = state.els.get(m.id);
      if (old) {
        old.replaceWith(el);
      } else {
        let next = null;
        for (const [id, other] of state.els) {
          if (id > m.id && (next === null || id < Number(next.dataset.id))) next = other;
        }
        list.insertBefore(el, next);
        mine = mine || m.out;
      }
      state.els.set(m.id, el);
    }
    $("empty").hidden = state.els.size > 0;
    $("chat").dataset.stick = stick || mine ? "1" : "0";
    stickToBottom(stick || mine);
    showJump();
    if (d.messages.length || d.popups.length) {  // the bot answered: the pressed button stops waiting
      for (const b of document.querySelectorAll(".kb.busy")) b.classList.remove("busy");
    }
    for (const p of d.popups) {
      if (p.show_alert) modal(p.text);
      else toast(p.text);
    }
    state.since = d.v;
    for (const [uid, v] of Object.entries(d.chats)) {
      if (Number(uid) === state.user || state.seen[uid] === undefined) state.seen[uid] = v;
      state.versions[uid] = v;
    }
    drawUsers();
  }

  async function poll(gen, signal) {
    while (gen === state.gen) {
      try {
        const wait = state.since ? 25 : 0;
        const d = await api(`/api/updates?user=${state.user}&since=${state.since}&wait=${wait}`, undefined, signal);
        if (gen !== state.gen) return;
        apply(d);
        $("offline").hidden = true;
      } catch (e) {
        if (gen !== state.gen) return;
        $("offline").hidden = false;
        await sleep(1000);
      }
    }
  }

  // ---- users, language, popups ----
  function drawUsers() {
    const nav = $("users");
    for (const el of nav.querySelectorAll("button")) el.remove();
    for (const u of state.users) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "user" + (u.id === state.user ? " current" : "");
      b.dataset.user = String(u.id);
      b.setAttribute("aria-pressed", u.id === state.user ? "true" : "false");
      b.textContent = u.name + (u.admin ? ` (${t("admin")})` : "");
      const key = String(u.id);
      if (u.id !== state.user && (state.versions[key] || 0) > (state.seen[key] || 0)) {
        const dot = document.createElement("span");
        dot.className = "badge";
        dot.title = t("unread");
        b.appendChild(dot);
      }
      b.addEventListener("click", () => switchUser(u.id));
      nav.appendChild(b);
    }
  }

  function switchUser(id) {
    if (state.abort) state.abort.abort();
    state.user = id;
    state.gen += 1;
    state.since = 0;
    state.els.clear();
    $("messages").replaceChildren();
    $("empty").hidden = true;
    try { localStorage.setItem("sandbox.user", String(id)); } catch (e) { /* private mode */ }
    const url = new URL(location.href);
    url.searchParams.set("user", String(id));
    history.replaceState(null, "", url);
    drawUsers();
    closeMenu();
    state.abort = new AbortController();
    poll(state.gen, state.abort.signal);
  }

  function relabel() {
    document.documentElement.lang = state.lang;
    document.title = t("title");
    for (const el of document.querySelectorAll("[data-label]")) el.textContent = t(el.dataset.label);
    for (const el of document.querySelectorAll("[data-label-placeholder]")) {
      el.placeholder = t(el.dataset.labelPlaceholder);
    }
    for (const el of document.querySelectorAll("[data-label-aria]")) el.setAttribute("aria-label", t(el.dataset.labelAria));
    for (const el of document.querySelectorAll(".msg time")) el.textContent = clock(Number(el.dataset.ts));
    $("lang").textContent = t("other_language");
    drawUsers();
    drawSpeeds();
  }

  function toast(text) {
    const el = document.createElement("div");
    el.className = "toast";
    el.textContent = text;
    $("toasts").appendChild(el);
    setTimeout(() => el.remove(), 4000);
  }

  function modal(text) {
    $("modal-text").textContent = text;
    $("modal").hidden = false;
    $("modal-ok").focus();
  }

  // ---- typing, the command menu ----
  async function sendText(text) {
    text = text.trim();
    if (!text || state.user === null) return;
    closeMenu();
    try {
      await api("/api/send", { user: state.user, text });
    } catch (e) {
      toast(String(e.message));
    }
  }

  async function openMenu(prefix) {
    try {
      const d = await api(`/api/menu?lang=${encodeURIComponent(state.lang)}`);
      state.commands = d.commands;
    } catch (e) {
      state.commands = [];
    }
    drawMenu(prefix || "");
  }

  function drawMenu(prefix) {
    const ul = $("commands");
    ul.replaceChildren();
    const shown = state.commands.filter((c) => ("/" + c.command).startsWith(prefix));
    for (const c of shown) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      const name = document.createElement("span");
      name.className = "command";
      name.textContent = "/" + c.command;
      const desc = document.createElement("span");
      desc.className = "description";
      desc.textContent = c.description;
      b.append(name, desc);
      b.addEventListener("click", () => { $("input").value = ""; sendText("/" + c.command); });
      li.appendChild(b);
      ul.appendChild(li);
    }
    $("no-commands").hidden = state.commands.length > 0;
    state.menuOpen = shown.length > 0 || (!prefix && !state.commands.length);
    $("menu-panel").hidden = !state.menuOpen;
  }

  function closeMenu() {
    state.menuOpen = false;
    $("menu-panel").hidden = true;
  }

  // ---- the market clock ----
  function drawSpeeds(current) {
    const box = $("speeds");
    if (!state.clock) return;
    if (current === undefined) current = Number(box.dataset.speed || "NaN");
    box.replaceChildren();
    for (const s of state.speeds) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "speed" + (s === current ? " current" : "");
      b.dataset.speed = String(s);
      b.textContent = s === 0 ? "❚❚" : `${s}×`;
      b.title = s === 0 ? t("pause") : `${t("speed")} ${s}×`;
      b.setAttribute("aria-pressed", s === current ? "true" : "false");
      b.addEventListener("click", async () => {
        try { showClock(await api("/api/clock", { speed: s })); } catch (e) { toast(String(e.message)); }
      });
      box.appendChild(b);
    }
  }

  function showClock(c) {
    const d = new Date(c.now_ms);
    const text = d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
    $("market-time").textContent = c.speed === 0 ? `${text} · ${t("paused")}` : text;
    $("market-time").dateTime = d.toISOString();
    if (Number($("speeds").dataset.speed) !== c.speed || !$("speeds").children.length) {
      $("speeds").dataset.speed = String(c.speed);
      drawSpeeds(c.speed);
    }
  }

  async function tickClock() {
    for (;;) {
      try { showClock(await api("/api/clock")); } catch (e) { /* shown again on the next tick */ }
      await sleep(1000);
    }
  }

  // ---- start ----
  async function main() {
    const s = await api("/api/session");
    state.users = s.users;
    state.labels = s.labels;
    state.clock = s.clock;
    state.speeds = s.speeds;
    let stored = null;
    try { stored = localStorage.getItem("sandbox.lang"); } catch (e) { /* private mode */ }
    const asked = params.get("lang");
    state.lang = (asked && s.labels[asked]) ? asked
      : (stored && s.labels[stored]) ? stored
      : (navigator.language || "").toLowerCase().startsWith("ko") ? "ko" : "en";
    relabel();
    $("lang").addEventListener("click", () => {
      state.lang = state.lang === "ko" ? "en" : "ko";
      try { localStorage.setItem("sandbox.lang", state.lang); } catch (e) { /* private mode */ }
      relabel();
      if (state.menuOpen) openMenu();
    });
    $("composer").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = $("input").value;
      $("input").value = "";
      sendText(text);
    });
    $("input").addEventListener("input", () => {
      const v = $("input").value;
      if (v.startsWith("/") && !v.includes(" ")) openMenu(v);
      else closeMenu();
    });
    $("menu-button").addEventListener("click", () => (state.menuOpen ? closeMenu() : openMenu()));
    $("modal-ok").addEventListener("click", () => { $("modal").hidden = true; });
    $("chat").addEventListener("scroll", () => {
      $("chat").dataset.stick = nearBottom() ? "1" : "0";
      showJump();
    });
    $("to-bottom").addEventListener("click", () => stickToBottom(true));
    window.addEventListener("resize", () => (($("chat").dataset.stick === "1") ? stickToBottom(true) : showJump()));
    if (state.clock) {
      $("clock").hidden = false;
      tickClock();
    }
    let first = Number(params.get("user"));
    if (!state.users.some((u) => u.id === first)) {
      try { first = Number(localStorage.getItem("sandbox.user")); } catch (e) { first = NaN; }
    }
    if (!state.users.some((u) => u.id === first)) first = state.users[0].id;
    switchUser(first);
  }

  main().catch(() => { $("offline").hidden = false; setTimeout(() => location.reload(), 2000); });
})();
