// nnlearn playground, the teacher's view: the class's sessions, refreshed every second.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN = new URLSearchParams(location.search).get("token") || "";
const ORANGE = [245, 147, 34], WHITE = [232, 234, 235], BLUE = [8, 119, 189];
const CLASS_COLOURS = [ORANGE, BLUE, [46, 160, 67], [142, 68, 173], [214, 39, 40]];
const LABELS = { circle: "Circle", xor: "Exclusive or", gaussian: "Gaussian", spiral: "Spiral",
                 plane: "Plane (reg.)", gaussian_regression: "Gaussian (reg.)",
                 spiral_arms: "Spiral arms", blobs: "Blobs", custom: "their own points" };
const view = { sort: "number", down: false, rows: [], thumbnails: new Map() };  // id -> [version, thumbnail]

const mix = (a, b, u) => a.map((v, i) => Math.round(v + (b[i] - v) * u));
function colour(t) {
  t = Math.max(-1, Math.min(1, t));
  return t < 0 ? mix(WHITE, ORANGE, -t) : mix(WHITE, BLUE, t);
}
function bytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}
function drawThumbnail(canvas, row) {
  const t = row.thumbnail, values = bytes(t.data), n = Math.round(Math.sqrt(values.length));
  const classes = t.classes && bytes(t.classes), k = row.classes, image = new ImageData(n, n);
  for (let i = 0; i < values.length; i++) {
    const v = t.min + values[i] / 255 * (t.max - t.min);
    const rgb = classes ? mix(WHITE, CLASS_COLOURS[classes[i] % 5], Math.max(0, (v - 1 / k) / (1 - 1 / k)))
      : colour(row.task === "classification" ? 2 * v - 1 : v);
    image.data.set([...rgb, 255], 4 * i);
  }
  const scratch = document.createElement("canvas");
  scratch.width = scratch.height = n;
  scratch.getContext("2d").putImageData(image, 0, 0);
  canvas.getContext("2d").drawImage(scratch, 0, 0, canvas.width, canvas.height);
}
const fmt = (v) => (v === null || v === undefined ? "–" : v.toFixed(3));
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function network(s) {
  const acts = s.layer_activations.length ? s.layer_activations.join("/") : s.activation;
  return `${s.features.length}-${s.hidden.join("-")} ${acts}`;
}
function sortValue(row, key) {
  if (key === "dataset") return row.settings.dataset;
  if (key === "network") return network(row.settings);
  if (key === "optimizer") return `${row.settings.optimizer} ${row.settings.learning_rate}`;
  if (key === "name") return row.name.toLowerCase();
  const v = row[key];
  return v === null || v === undefined ? Infinity : v;
}
// A student's row is made once and then updated in place (rebuilt every second, a click
// on "Open (read-only)" could land on a row that had just been replaced).
const CELLS = ["number", "name", "thumbnail", "data", "network", "optimizer", "epoch",
               "train_loss", "test_loss", "test_accuracy", "watch"];
function makeRow(row) {
  const tr = document.createElement("tr");
  tr.dataset.id = row.id;
  tr.innerHTML = CELLS.map((cell) => `<td data-cell="${cell}"></td>`).join("");
  tr.querySelector('[data-cell="test_loss"]').className = "test-loss";
  tr.querySelector('[data-cell="thumbnail"]').innerHTML = '<canvas width="50" height="50"></canvas>';
  const watch = `/?watch=${encodeURIComponent(row.id)}&teacher=${encodeURIComponent(TOKEN)}`;
  tr.querySelector('[data-cell="watch"]').innerHTML =
    `<a href="${watch}" target="_blank" rel="noopener">Open (read-only)</a>`;
  return tr;
}
function fillRow(tr, row) {
  const s = row.settings, set = (cell, text) => {
    const td = tr.querySelector(`[data-cell="${cell}"]`);
    if (td.textContent !== text) td.textContent = text;
  };
  const name = tr.querySelector('[data-cell="name"]');
  name.className = `name${row.running ? " running" : ""}`;
  name.title = row.name;
  set("number", String(row.number));
  set("name", row.name);
  set("data", `${LABELS[s.dataset] || s.dataset}${s.dataset === "blobs" ||
      s.dataset === "spiral_arms" ? ` (${s.classes})` : ""}, noise ${s.noise}`);
  set("network", network(s));
  set("optimizer", `${s.optimizer} ${s.learning_rate}`);
  set("epoch", String(row.epoch));
  set("train_loss", fmt(row.train_loss));
  set("test_loss", fmt(row.test_loss));
  set("test_accuracy", fmt(row.test_accuracy));
  if (tr.dataset.version !== String(row.version)) {   // the thumbnail only when it changed
    drawThumbnail(tr.querySelector("canvas"), row);
    tr.dataset.version = String(row.version);
  }
}
function showRows() {
  const rows = view.rows.slice().sort((a, b) => {
    const x = sortValue(a, view.sort), y = sortValue(b, view.sort);
    return (x < y ? -1 : x > y ? 1 : a.number - b.number) * (view.down ? -1 : 1);
  });
  const body = document.querySelector("#students tbody");
  const existing = new Map([...body.children].map((tr) => [tr.dataset.id, tr]));
  const wanted = rows.map((row) => {
    const tr = existing.get(row.id) || makeRow(row);
    fillRow(tr, row);
    return tr;
  });
  const shown = new Set(rows.map((row) => row.id));
  for (const [id, tr] of existing) if (!shown.has(id)) tr.remove();
  wanted.forEach((tr, i) => {   // moved only where the order changed
    if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
  });
  $("none").hidden = rows.length > 0;
  $("count").textContent = String(rows.length);
  for (const th of document.querySelectorAll("#students th[data-sort]")) {
    th.classList.toggle("sorted", th.dataset.sort === view.sort);
    th.classList.toggle("down", th.dataset.sort === view.sort && view.down);
  }
}
function showBoard(board, challenge) {
  $("leaderboard").innerHTML = board.map((r) =>
    `<li data-id="${escapeHtml(r.id)}"><span class="who" title="${escapeHtml(r.name)}">${escapeHtml(r.name)}</span><span class="epoch">epoch ${r.epoch}</span>` +
    `<span class="loss">${fmt(r.test_loss)}</span></li>`).join("");
  $("board_empty").hidden = board.length > 0;
  $("board_title").textContent = challenge ? `(challenge ${challenge.number})` : "";
  $("challenge_now").textContent = challenge
    ? `Challenge ${challenge.number}: ${challenge.query}` : "No challenge sent yet.";
}
async function refresh() {
  try {
    // the thumbnails this page shows: the server sends only those that changed
    const known = [...view.thumbnails].map(([id, [version]]) => `${id}.${version}`).join(",");
    const response = await fetch(`/teacher/sessions?token=${encodeURIComponent(TOKEN)}` +
                                 `&known=${encodeURIComponent(known)}`);
    if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
    const data = await response.json();
    const thumbnails = new Map();
    for (const row of data.sessions) {
      if (row.thumbnail === null && view.thumbnails.has(row.id)) row.thumbnail = view.thumbnails.get(row.id)[1];
      if (row.thumbnail) thumbnails.set(row.id, [row.version, row.thumbnail]);
    }
    view.thumbnails = thumbnails;  // closed tabs forgotten
    view.rows = data.sessions.filter((row) => row.thumbnail);
    showRows();
    showBoard(data.leaderboard, data.challenge);
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    $("updated").textContent = `not updated (${err.message})`;
  }
}
function showError(lines) {
  $("error").textContent = lines.join("\n");
  $("error").hidden = !lines.length;
}
$("challenge_form").onsubmit = async (event) => {
  event.preventDefault();
  let query = $("challenge_query").value.trim();
  if (query.includes("?")) query = query.slice(query.indexOf("?") + 1);  // a whole address
  const response = await fetch(`/teacher/challenge?token=${encodeURIComponent(TOKEN)}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ query }) });
  const reply = await response.json().catch(() => ({ errors: [`${response.status}`] }));
  showError(response.ok ? [] : ["The challenge was not sent:", ...(reply.errors || [])]);
  if (response.ok) $("updated").textContent = `challenge sent to ${reply.sent} tab${reply.sent === 1 ? "" : "s"}`;
  refresh();
};
for (const th of document.querySelectorAll("#students th[data-sort]")) {
  th.onclick = () => {
    view.down = view.sort === th.dataset.sort ? !view.down : false;
    view.sort = th.dataset.sort;
    showRows();
  };
}
refresh();
setInterval(refresh, 1000);
