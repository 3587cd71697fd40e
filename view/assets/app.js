// arbor view: a small page over the server's JSON API. Nothing is loaded
// from anywhere else; nodes and records are fetched when they are opened.
"use strict";
(function () {
  const state = { side: "a", diff: false, sides: [], collection: null, next: "", record: null };
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }
  const short = (c) => (c && c.length > 20 ? c.slice(0, 8) + "…" + c.slice(-6) : c || "");

  async function api(path, params) {
    const q = new URLSearchParams(Object.assign({ side: state.side }, params || {}));
    const r = await fetch(path + "?" + q.toString());
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }
  function fail(err) { $("status").textContent = String(err.message || err); }
  function ok() { $("status").textContent = ""; }

  // ---- commit ----
  function renderCommit() {
    const dl = $("commit");
    dl.replaceChildren();
    const info = state.sides.find((s) => s.side === state.side);
    const row = (k, v, cls) => { dl.append(el("dt", { text: k }), el("dd", { text: v, class: cls })); };
    row("file", info.file);
    if (info.bareTree) row("root", info.root + " (bare MST)");
    else {
      row("did", info.did);
      row("rev", info.rev || "—");
      row("version", String(info.version));
      row("commit", info.root);
      row("prev", info.prev || "none");
    }
    row("data", info.data);
    row("signature", info.signature + (info.signatureDetail ? " (" + info.signatureDetail + ")" : ""), "sig sig-" + info.signature.split(":")[0].replace(/ /g, "-"));
    row("records", info.records + " in " + info.collections + " collections");
    row("blocks", String(info.blocks));
  }

  // ---- collections and records ----
  async function loadCollections() {
    const list = $("collections");
    list.replaceChildren();
    const cols = await api("/api/collections");
    for (const c of cols) {
      const li = el("li", { "data-collection": c.collection, onclick: () => openCollection(c.collection) },
        el("span", { text: c.collection }),
        el("span", { class: "n", text: (c.changed ? "Δ" + c.changed + " · " : "") + c.records }));
      if (c.collection === state.collection) li.classList.add("on");
      list.append(li);
    }
  }

  async function openCollection(name) {
    state.collection = name;
    state.next = "";
    for (const li of $("collections").children) li.classList.toggle("on", li.dataset.collection === name);
    $("records-title").textContent = "Records · " + name;
    $("records").replaceChildren();
    await moreRecords();
  }

  async function moreRecords() {
    try {
      const page = await api("/api/records", { collection: state.collection, cursor: state.next, limit: 100 });
      for (const r of page.records) {
        const rkey = r.path.slice(r.path.indexOf("/") + 1);
        $("records").append(el("li", { "data-path": r.path, class: r.change || null, onclick: () => openRecord(r.path) },
          el("span", { text: rkey }), el("span", { class: "n", text: (r.change ? r.change + " · " : "") + short(r.cid) })));
      }
      state.next = page.next;
      $("more").hidden = !page.next;
      ok();
    } catch (e) { fail(e); }
  }

  function renderJSON(v, links, indent) {
    const pad = "  ".repeat(indent);
    if (v === null) return [el("span", { class: "kw", text: "null" })];
    if (typeof v === "boolean") return [el("span", { class: "kw", text: String(v) })];
    if (typeof v === "number") return [el("span", { class: "num", text: String(v) })];
    if (typeof v === "string") {
      const l = links.get(v);
      const txt = JSON.stringify(v);
      if (l && l.path) return [el("a", { class: "ref", "data-path": l.path, title: "open " + l.path, onclick: () => openRecord(l.path), text: txt })];
      return [el("span", { class: "s", text: txt, title: l && l.inFile ? "block present in this file" : null })];
    }
    const out = [];
    if (Array.isArray(v)) {
      if (v.length === 0) return ["[]"];
      out.push("[\n");
      v.forEach((x, i) => { out.push(pad + "  ", ...renderJSON(x, links, indent + 1), i < v.length - 1 ? ",\n" : "\n"); });
      out.push(pad + "]");
      return out;
    }
    const keys = Object.keys(v);
    if (keys.length === 0) return ["{}"];
    out.push("{\n");
    keys.forEach((k, i) => {
      out.push(pad + "  ", el("span", { class: "key", text: JSON.stringify(k) }), ": ", ...renderJSON(v[k], links, indent + 1), i < keys.length - 1 ? ",\n" : "\n");
    });
    out.push(pad + "}");
    return out;
  }

  async function openRecord(path, side) {
    if (side && side !== state.side) await switchSide(side);
    try {
      const r = await api("/api/record", { path });
      state.record = r;
      $("record").hidden = false;
      $("record-empty").hidden = true;
      $("record-path").textContent = r.path;
      $("record-uri").textContent = r.uri || "—";
      $("record-cid").textContent = r.cid;
      const badge = $("record-change");
      badge.hidden = !r.change;
      badge.className = "badge " + (r.change || "");
      badge.textContent = r.change ? r.change + (r.change === "updated" ? " (other side " + short(r.otherCid) + ")" : "") : "";
      const links = new Map(r.links.map((l) => [l.value, l]));
      $("json").replaceChildren(...renderJSON(r.value, links, 0));
      const fields = $("record-fields");
      fields.replaceChildren();
      fields.hidden = !(r.fields && r.fields.length);
      for (const f of r.fields || []) {
        fields.append(el("div", {}, f.path + ": ",
          f.old !== undefined ? el("span", { class: "old", text: JSON.stringify(f.old) }) : "",
          f.old !== undefined && f.new !== undefined ? " → " : "",
          f.new !== undefined ? el("span", { class: "new", text: JSON.stringify(f.new) }) : ""));
      }
      const lk = $("record-links");
      lk.replaceChildren();
      const inRepo = r.links.filter((l, i, all) => l.path && all.findIndex((m) => m.path === l.path) === i);
      if (inRepo.length) {
        lk.append("links to: ");
        inRepo.forEach((l, i) => { if (i) lk.append(", "); lk.append(el("a", { class: "ref", onclick: () => openRecord(l.path), text: l.path })); });
      }
      for (const li of $("records").children) li.classList.toggle("on", li.dataset.path === path);
      document.querySelectorAll("#tree .entry").forEach((e) => e.classList.toggle("selected", e.dataset.key === path));
      $("find-key").value = path;
      ok();
    } catch (e) { fail(e); }
  }

  // ---- the tree ----
  function nodeHead(sum) {
    const range = !sum.firstKey ? "(empty)" : sum.firstKey === sum.lastKey ? sum.firstKey : sum.firstKey + " … " + sum.lastKey;
    return el("div", { class: "node-head", title: sum.cid },
      el("span", { class: "tw", text: "▸" }),
      el("span", { class: "layer", text: "L" + sum.layer }),
      el("span", { class: "cnt", text: sum.entryCount + (sum.entryCount === 1 ? " entry" : " entries") }),
      el("span", { class: "cid", text: short(sum.cid) }),
      el("span", { class: "range", text: range }),
      sum.mark ? el("span", { class: "badge " + (sum.mark === "only-b" ? "created" : "deleted"), text: sum.mark === "only-b" ? "only in B" : "only in A" }) : null);
  }

  function nodeView(sum) {
    const div = el("div", { class: "node" + (sum.mark ? " " + sum.mark : ""), "data-cid": sum.cid, "data-layer": sum.layer });
    const head = nodeHead(sum);
    head.addEventListener("click", () => toggle(div));
    div.append(head);
    return div;
  }

  async function expand(div) {
    if (div.dataset.open === "1") return;
    let kids = div.querySelector(":scope > .kids");
    if (!kids) {
      const n = await api("/api/node", { cid: div.dataset.cid });
      kids = el("div", { class: "kids" });
      if (n.left) kids.append(nodeView(n.left));
      for (const e of n.entries) {
        kids.append(el("div", { class: "entry" + (e.change ? " " + e.change : ""), "data-key": e.key, title: "layer " + e.height + " · " + e.value, onclick: () => openRecord(e.key) },
          el("span", { class: "key", text: e.key }), el("span", { class: "cid", text: short(e.value) }),
          e.change ? el("span", { class: "badge " + e.change, text: e.change }) : null));
        if (e.right) kids.append(nodeView(e.right));
      }
      div.append(kids);
    }
    kids.hidden = false;
    div.dataset.open = "1";
    div.querySelector(":scope > .node-head .tw").textContent = "▾";
  }

  function collapse(div) {
    const kids = div.querySelector(":scope > .kids");
    if (kids) kids.hidden = true;
    div.dataset.open = "0";
    div.querySelector(":scope > .node-head .tw").textContent = "▸";
  }

  async function toggle(div) {
    try {
      if (div.dataset.open === "1") collapse(div); else await expand(div);
      ok();
    } catch (e) { fail(e); }
  }

  async function loadTree() {
    const root = await api("/api/node");
    const t = $("tree");
    t.replaceChildren();
    const div = nodeView(root);
    t.append(div);
    await expand(div);
  }

  // scrollTreeTo scrolls the tree panel alone (not the page) to show e.
  function scrollTreeTo(e) {
    const t = $("tree");
    const top = e.getBoundingClientRect().top - t.getBoundingClientRect().top + t.scrollTop;
    t.scrollTop = Math.max(0, top - t.clientHeight / 2);
  }

  async function findPath(key) {
    try {
      const p = await api("/api/path", { key });
      document.querySelectorAll(".on-path").forEach((e) => e.classList.remove("on-path"));
      document.querySelectorAll(".entry.found").forEach((e) => e.classList.remove("found"));
      let scope = $("tree");
      for (const c of p.nodes) {
        const div = [...scope.querySelectorAll(".node")].find((d) => d.dataset.cid === c);
        if (!div) break;
        div.classList.add("on-path");
        await expand(div);
        scope = div;
      }
      const hops = p.nodes.length;
      if (p.found) {
        const entry = [...scope.querySelectorAll(":scope > .kids > .entry")].find((e) => e.dataset.key === key);
        if (entry) { entry.classList.add("found"); scrollTreeTo(entry); }
        $("path-info").textContent = key + " (height " + p.height + "): found " + hops + (hops === 1 ? " node" : " nodes") + " down, in a layer-" + p.layers[hops - 1] + " node (path " + p.layers.map((l) => "L" + l).join(" → ") + ")";
      } else {
        $("path-info").textContent = key + " (height " + p.height + "): not in the tree; its place is under " + (hops ? "the layer-" + p.layers[hops - 1] + " node " + short(p.nodes[hops - 1]) : "the root");
      }
      ok();
    } catch (e) { fail(e); }
  }

  // ---- diff ----
  async function loadDiff() {
    const d = await api("/api/diff");
    $("diff-panel").hidden = false;
    $("diff-counts").replaceChildren(
      el("span", { class: "badge created", text: d.creates + " created" }),
      el("span", { class: "badge updated", text: d.updates + " updated" }),
      el("span", { class: "badge deleted", text: d.deletes + " deleted" }),
      el("div", { class: "hint", text: d.createdNodes.length + " nodes only in B, " + d.deletedNodes.length + " only in A" + (d.truncated ? "; first " + d.ops.length + " ops listed" : "") }));
    const ul = $("diff-ops");
    ul.replaceChildren();
    for (const o of d.ops) {
      const side = o.action === "deleted" ? "a" : "b";
      ul.append(el("li", { class: o.action, "data-path": o.path, title: o.action + " " + o.path, onclick: () => openRecord(o.path, side) },
        el("span", { text: o.path }), el("span", { class: "n", text: o.action })));
    }
  }

  async function switchSide(side) {
    state.side = side;
    for (const b of $("sides").querySelectorAll("button")) b.classList.toggle("on", b.dataset.side === side);
    renderCommit();
    await Promise.all([loadCollections(), loadTree()]);
    if (state.collection) await openCollection(state.collection);
  }

  async function start() {
    try {
      const c = await api("/api/commit");
      state.sides = c.sides;
      state.diff = c.diff;
      $("files").textContent = c.sides.map((s) => (c.diff ? s.side.toUpperCase() + ": " : "") + s.file).join("   ");
      if (c.diff) {
        $("sides").hidden = false;
        document.querySelectorAll(".diffonly").forEach((e) => (e.hidden = false));
        $("sides").addEventListener("click", (ev) => { const s = ev.target.dataset && ev.target.dataset.side; if (s) switchSide(s).catch(fail); });
        await loadDiff();
      }
      renderCommit();
      await Promise.all([loadCollections(), loadTree()]);
      ok();
      document.body.dataset.ready = "1";
    } catch (e) { fail(e); }
  }

  $("more").addEventListener("click", moreRecords);
  $("find").addEventListener("submit", (ev) => { ev.preventDefault(); const k = $("find-key").value.trim(); if (k) findPath(k); });
  $("record-find").addEventListener("click", () => { if (state.record) findPath(state.record.path); });
  start();
})();
