// nnlearn playground: the page draws what the server's nnlearn session sends.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { settings: null, choices: null, running: false, data: null, frame: null,
                frames: 0 };
const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const DROPOUTS = [0, 0.1, 0.2, 0.3, 0.5];
const DATASET_LABELS = { circle: "Circle", xor: "Exclusive or", gaussian: "Gaussian",
                         spiral: "Spiral", plane: "Plane (reg.)",
                         gaussian_regression: "Gaussian (reg.)" };

// -- colours: orange (negative / class 0), white, blue (positive / class 1) ------------------
const ORANGE = [245, 147, 34], WHITE = [232, 234, 235], BLUE = [8, 119, 189];
function colour(t) {            // t in [-1, 1]
  t = Math.max(-1, Math.min(1, t));
  const [a, b, u] = t < 0 ? [WHITE, ORANGE, -t] : [WHITE, BLUE, t];
  return a.map((v, i) => Math.round(v + (b[i] - v) * u));
}
function decode(map) {          // quantized bytes -> values
  const n = map.data.length / 2, out = new Float32Array(n), span = map.max - map.min;
  for (let i = 0; i < n; i++) out[i] = map.min + parseInt(map.data.substr(2 * i, 2), 16) / 255 * span;
  return out;
}
function drawMap(canvas, values, toUnit) {
  const n = Math.round(Math.sqrt(values.length));
  const image = new ImageData(n, n);
  for (let i = 0; i < values.length; i++) {
    const [r, g, b] = colour(toUnit(values[i]));
    image.data.set([r, g, b, 255], 4 * i);
  }
  const scratch = document.createElement("canvas");
  scratch.width = scratch.height = n;
  scratch.getContext("2d").putImageData(image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}
const symmetric = (values) => {  // scale a neuron's map by its largest |value|
  let m = 1e-9;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return (v) => v / m;
};

// -- the connection -------------------------------------------------------------------------
let socket;
// the per-launch token of a server reachable from other machines (in the page's URL)
const TOKEN = new URLSearchParams(location.search).get("token");
function connect() {
  const query = TOKEN ? `?token=${encodeURIComponent(TOKEN)}` : "";
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws${query}`);
  socket.onopen = () => { $("connection").textContent = "connected"; };
  socket.onclose = () => { $("connection").textContent = "disconnected (reload the page)";
                           setRunning(false); };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
}
function send(type, extra = {}) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type, ...extra }));
}
function sendSettings(changes) {
  send("settings", { settings: { ...state.settings, ...changes } });
}

function receive(message) {
  switch (message.type) {
    case "session":
      state.choices = message.choices;
      fillChoices();
      break;
    case "data":
      hideError();
      state.data = message;
      state.settings = message.settings;
      showSettings();
      buildNetwork();
      break;
    case "frame":
      state.frame = message;
      state.frames += 1;
      drawFrame();
      break;
    case "status":
      setRunning(message.running);
      break;
    case "export":
      showExport(message);
      break;
    case "error":
      showError(message.message);
      break;
  }
}

// -- controls -----------------------------------------------------------------------------------
function options(select, values, format = String) {
  select.innerHTML = values.map((v) => `<option value="${v}">${format(v)}</option>`).join("");
}
function fillChoices() {
  const c = state.choices;
  options($("learning_rate"), LEARNING_RATES);
  options($("optimizer"), c.optimizers);
  options($("activation"), c.activations);
  options($("regularization_rate"), REG_RATES);
  options($("dropout"), DROPOUTS);
  $("datasets").innerHTML = "";
  for (const name of c.datasets) {
    const button = document.createElement("button");
    button.dataset.name = name;
    button.title = DATASET_LABELS[name] || name;
    const thumb = document.createElement("canvas");
    thumb.width = thumb.height = 54;
    drawThumbnail(thumb, name);
    const label = document.createElement("span");
    label.textContent = DATASET_LABELS[name] || name;
    button.append(thumb, label);
    button.onclick = () => sendSettings({ dataset: name });
    $("datasets").append(button);
  }
  $("features").innerHTML = c.features.map((f) =>
    `<label><input type="checkbox" data-feature="${f}"> ${f}</label>`).join("");
  for (const box of document.querySelectorAll("[data-feature]")) {
    box.onchange = () => {
      const chosen = [...document.querySelectorAll("[data-feature]:checked")]
        .map((b) => b.dataset.feature);
      sendSettings({ features: chosen });
    };
  }
}
function showSettings() {
  const s = state.settings;
  for (const id of ["learning_rate", "optimizer", "activation", "regularization",
                    "regularization_rate", "dropout"]) $(id).value = String(s[id]);
  for (const id of ["train_ratio", "noise", "batch_size"]) {
    $(id).value = s[id];
    $(id + "_out").textContent = s[id];
  }
  for (const b of $("datasets").children) b.classList.toggle("selected", b.dataset.name === s.dataset);
  for (const box of document.querySelectorAll("[data-feature]"))
    box.checked = s.features.includes(box.dataset.feature);
  $("accuracy_row").hidden = state.data.task !== "classification";
}
function bindControls() {
  for (const id of ["learning_rate", "regularization_rate", "dropout"])
    $(id).onchange = () => sendSettings({ [id]: Number($(id).value) });
  for (const id of ["optimizer", "activation", "regularization"])
    $(id).onchange = () => sendSettings({ [id]: $(id).value });
  for (const id of ["train_ratio", "noise", "batch_size"]) {
    $(id).oninput = () => { $(id + "_out").textContent = $(id).value; };
    $(id).onchange = () => sendSettings({ [id]: Number($(id).value) });
  }
  $("run").onclick = () => send(state.running ? "pause" : "run");
  $("step").onclick = () => send("step");
  $("reset").onclick = () => send("reset");
  $("regenerate").onclick = () => send("regenerate");
  $("export").onclick = () => send("export");
  $("show_test").onchange = drawFrame;
  $("add_layer").onclick = () => {
    const hidden = state.settings.hidden;
    sendSettings({ hidden: [...hidden, hidden[hidden.length - 1] || 2] });
  };
  $("remove_layer").onclick = () => sendSettings({ hidden: state.settings.hidden.slice(0, -1) });
}
function setRunning(running) {
  state.running = running;
  $("run_icon").setAttribute("d", running ? "M6 5h4v14H6zM14 5h4v14h-4z" : "M8 5v14l11-7z");
  $("run").title = running ? "Pause" : "Run";
}
function showError(text) { $("error").textContent = text; $("error").hidden = false; }
function hideError() { $("error").hidden = true; }
function showExport(message) {
  $("download_model").href = message.model_url;
  $("download_data").href = message.data_url;
  $("download_model").hidden = $("download_data").hidden = false;
  $("code").textContent = message.code;
  $("code_dialog").showModal();
}

// -- the network ------------------------------------------------------------------------------
function column(title, nodes, buttons) {
  const col = document.createElement("div");
  col.className = "column";
  const h = document.createElement("h3");
  h.textContent = title;
  col.append(h);
  if (buttons) col.append(buttons);
  for (const node of nodes) col.append(node);
  return col;
}
function node(cls, label) {
  const c = document.createElement("canvas");
  c.width = c.height = 40;
  c.className = "node " + cls;
  if (!label) return [c];
  const l = document.createElement("div");
  l.className = "node-label";
  l.textContent = label;
  return [c, l];
}
function buildNetwork() {
  const net = $("net"), s = state.settings;
  net.querySelectorAll(".column").forEach((c) => c.remove());
  state.nodes = [];
  const inputs = s.features.map((f) => node("input-node", f));
  state.nodes.push(inputs.map((n) => n[0]));
  net.append(column("Features", inputs.flat()));
  s.hidden.forEach((units, layer) => {
    const buttons = document.createElement("div");
    buttons.className = "neuron-buttons";
    buttons.innerHTML = `<button title="Add a neuron">+</button><button title="Remove a neuron">&minus;</button>`;
    const [plus, minus] = buttons.children;
    plus.disabled = units >= state.choices.max_neurons;
    minus.disabled = units <= 1;
    plus.onclick = () => sendSettings({ hidden: s.hidden.map((n, i) => i === layer ? n + 1 : n) });
    minus.onclick = () => sendSettings({ hidden: s.hidden.map((n, i) => i === layer ? n - 1 : n) });
    const nodes = Array.from({ length: units }, () => node("")[0]);
    state.nodes.push(nodes);
    net.append(column(`Layer ${layer + 1}: ${units}`, nodes, buttons));
  });
  const output = node("")[0];
  state.nodes.push([output]);
  net.append(column("Output", [output]));
  $("add_layer").disabled = s.hidden.length >= state.choices.max_layers;
  $("remove_layer").disabled = s.hidden.length <= 1;
  $("layer_count").textContent = `${s.hidden.length} hidden layer${s.hidden.length > 1 ? "s" : ""}`;
  state.data.features.forEach((f, i) => drawMap(state.nodes[0][i], decode(f.map),
                                                symmetric(decode(f.map))));
  drawPoints();
}
function drawLinks(weights) {
  const svg = $("links"), box = $("net").getBoundingClientRect();
  const centre = (el) => {
    const r = el.getBoundingClientRect();
    return [r.left - box.left + r.width / 2, r.top - box.top + r.height / 2, r.width / 2];
  };
  let paths = "";
  weights.forEach((matrix, layer) => {
    const from = state.nodes[layer], to = state.nodes[layer + 1];
    if (!from || !to) return;
    matrix.forEach((row, i) => row.forEach((w, j) => {
      if (!from[i] || !to[j]) return;
      const [x1, y1, r1] = centre(from[i]), [x2, y2, r2] = centre(to[j]);
      const [r, g, b] = colour(w > 0 ? 1 : -1);
      const width = Math.min(6, 0.4 + Math.abs(w) * 1.5).toFixed(2);
      const mid = (x1 + x2) / 2;
      paths += `<path d="M${x1 + r1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - r2},${y2}" ` +
               `stroke="rgb(${r},${g},${b})" stroke-width="${width}" fill="none" opacity="0.75"/>`;
    }));
  });
  svg.innerHTML = paths;
}

// -- output, points, losses --------------------------------------------------------------------
function outputScale() {
  return state.data.task === "classification" ? (p) => 2 * p - 1 : (v) => v;
}
function drawPoints() {
  const canvas = $("output_map"), ctx = canvas.getContext("2d"), e = state.data.extent;
  const px = (x) => (x + e) / (2 * e) * canvas.width, py = (y) => (e - y) / (2 * e) * canvas.height;
  const sets = [[state.data.train, "#fff"]];
  if ($("show_test").checked) sets.push([state.data.test, "#000"]);
  const unit = state.data.task === "classification" ? (y) => (y > 0.5 ? 1 : -1) : (y) => y;
  for (const [points, stroke] of sets) {
    for (const [x, y, label] of points) {
      const [r, g, b] = colour(unit(label));
      ctx.beginPath();
      ctx.arc(px(x), py(y), 3, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = stroke;
      ctx.stroke();
    }
  }
}
function drawLossChart(history) {
  const canvas = $("loss_chart"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const all = [...history.train_loss, ...history.test_loss].filter((v) => v !== null);
  if (!all.length) return;
  const top = Math.max(...all) || 1, n = history.train_loss.length;
  for (const [series, style] of [[history.train_loss, "#999"], [history.test_loss, "#000"]]) {
    ctx.beginPath();
    series.forEach((v, i) => {
      const x = n > 1 ? i / (n - 1) * (canvas.width - 4) + 2 : 2;
      const y = canvas.height - 3 - (v === null ? 0 : v / top) * (canvas.height - 6);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.strokeStyle = style;
    ctx.lineWidth = 1.5;
    ctx.stroke();
  }
}
const fmt = (v) => (v === null || v === undefined ? "NaN" : v.toFixed(3));
function drawFrame() {
  const f = state.frame;
  if (!f || !state.data) return;
  $("epoch").textContent = String(f.epoch).padStart(6, "0");
  $("test_loss").textContent = fmt(f.test.loss);
  $("train_loss").textContent = fmt(f.train.loss);
  $("test_accuracy").textContent = fmt(f.test.accuracy);
  const output = decode(f.output);
  drawMap($("output_map"), output, outputScale());
  drawPoints();
  const last = state.nodes[state.nodes.length - 1][0];
  drawMap(last, output, outputScale());
  f.neurons.forEach((layer, l) => layer.forEach((map, j) => {
    const canvas = state.nodes[l + 1] && state.nodes[l + 1][j];
    if (canvas) { const v = decode(map); drawMap(canvas, v, symmetric(v)); }
  }));
  drawLinks(f.weights);
  drawLossChart(f.history);
}

// -- dataset thumbnails (drawn from the generators' shapes) ------------------------------------
function drawThumbnail(canvas, name) {
  const n = canvas.width, image = new ImageData(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const x = (j / n) * 12 - 6, y = 6 - (i / n) * 12;
    let t;
    if (name === "circle") t = Math.hypot(x, y) < 3 ? 1 : -1;
    else if (name === "xor") t = x * y >= 0 ? 1 : -1;
    else if (name === "gaussian") t = Math.exp(-((x - 2) ** 2 + (y - 2) ** 2) / 3) -
                                      Math.exp(-((x + 2) ** 2 + (y + 2) ** 2) / 3);
    else if (name === "spiral") {
      const r = Math.hypot(x, y), a = Math.atan2(x, y);
      t = Math.sin(a - r / 5 * 1.75 * 2 * Math.PI) * Math.min(1, r);
    } else if (name === "plane") t = (x + y) / 10;
    else t = Math.sin(x * 0.8) * Math.sin(y * 1.2);
    image.data.set([...colour(t), 255], 4 * (i * n + j));
  }
  canvas.getContext("2d").putImageData(image, 0, 0);
}

window.addEventListener("resize", () => state.frame && drawLinks(state.frame.weights));
bindControls();
connect();
