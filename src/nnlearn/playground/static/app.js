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
                         gaussian_regression: "Gaussian (reg.)", spiral_arms: "Spiral arms",
                         blobs: "Blobs" };

// -- colours: orange (negative / class 0), white, blue (positive / class 1) ------------------
const ORANGE = [245, 147, 34], WHITE = [232, 234, 235], BLUE = [8, 119, 189];
function colour(t) {            // t in [-1, 1]
  t = Math.max(-1, Math.min(1, t));
  const [a, b, u] = t < 0 ? [WHITE, ORANGE, -t] : [WHITE, BLUE, t];
  return a.map((v, i) => Math.round(v + (b[i] - v) * u));
}
// one colour per class (two classes: orange and blue, as above)
const CLASS_COLOURS = [ORANGE, BLUE, [46, 160, 67], [142, 68, 173], [214, 39, 40]];
const mix = (a, b, u) => a.map((v, i) => Math.round(v + (b[i] - v) * u));
function classColour(k, u = 1) { return mix(WHITE, CLASS_COLOURS[k % CLASS_COLOURS.length], u); }
function decodeBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}
function decode(map) {          // quantized bytes -> values
  const n = map.data.length / 2, out = new Float32Array(n), span = map.max - map.min;
  for (let i = 0; i < n; i++) out[i] = map.min + parseInt(map.data.substr(2 * i, 2), 16) / 255 * span;
  return out;
}
function drawMap(canvas, values, toUnit, pixel = (i, v) => colour(toUnit(v)), smooth = true) {
  const n = Math.round(Math.sqrt(values.length));
  const image = new ImageData(n, n);
  for (let i = 0; i < values.length; i++) {
    const [r, g, b] = pixel(i, values[i]);
    image.data.set([r, g, b, 255], 4 * i);
  }
  const scratch = document.createElement("canvas");
  scratch.width = scratch.height = n;
  scratch.getContext("2d").putImageData(image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = smooth;  // off for a discretized map: its colours only
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

// -- settings in the URL: every setting (and the seed) as a query parameter -----------------
const LIST_KEYS = ["hidden", "features"], TEXT_KEYS = ["dataset", "activation", "optimizer",
  "regularization", "loss"], VIEW_KEYS = ["discretize", "show_test", "show_train", "show_batch"];
function settingsFromUrl() {
  const params = new URLSearchParams(location.search), found = {};
  for (const [key, value] of params) {
    if (key === "token" || VIEW_KEYS.includes(key)) continue;
    if (key === "hidden") found.hidden = value ? value.split(",").map(Number) : [];
    else if (key === "features") found.features = value ? value.split(",") : [];
    else if (TEXT_KEYS.includes(key)) found[key] = value;
    else found[key] = Number(value);  // the server checks every value (one-line errors)
  }
  for (const key of VIEW_KEYS) if (params.has(key)) $(key).checked = params.get(key) === "1";
  return found;
}
let pendingUrlSettings = null;
function writeUrl() {
  const s = state.settings;
  if (!s) return;
  const params = new URLSearchParams();
  if (TOKEN) params.set("token", TOKEN);
  for (const [key, value] of Object.entries(s)) {
    if (key === "dataset" && value === "custom") continue;  // uploaded points stay here
    params.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  for (const key of VIEW_KEYS) params.set(key, $(key).checked ? "1" : "0");
  history.replaceState(null, "", `${location.pathname}?${params.toString().replace(/%2C/g, ",")}`);
}
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
      pendingUrlSettings = settingsFromUrl();
      break;
    case "data":
      hideError();
      state.data = message;
      state.settings = message.settings;
      showSettings();
      buildNetwork();
      if (pendingUrlSettings && Object.keys(pendingUrlSettings).length) {
        const wanted = pendingUrlSettings;
        pendingUrlSettings = null;
        sendSettings(wanted);
      } else {
        pendingUrlSettings = null;
        writeUrl();
      }
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
  $("classes").innerHTML = "";
  for (let k = 2; k <= c.max_classes; k++) $("classes").append(new Option(String(k), String(k)));
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
    button.onclick = () => {
      const task = c.regression.includes(name) ? "regression" : "classification";
      const loss = state.settings.loss;
      const fits = c.losses[task].includes(loss) && !(c.multiclass.includes(name) && loss === "mse");
      sendSettings({ dataset: name, loss: fits ? loss : "auto" });
    };
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
  const task = state.data.task, d = state.data;
  $("accuracy_row").hidden = task !== "classification";
  $("problem").value = task;
  options($("loss"), state.choices.losses[task]);
  $("loss").value = s.loss;
  $("classes").value = String(s.classes);
  $("classes_row").hidden = !state.choices.multiclass.includes(s.dataset);
  for (const b of $("datasets").children)
    b.hidden = state.choices.regression.includes(b.dataset.name) !== (task === "regression");
  $("draw_label").innerHTML = "";
  if (task === "classification")
    d.class_names.forEach((name, k) => $("draw_label").append(new Option(name, String(k))));
  else for (const v of [-1, -0.5, 0, 0.5, 1]) $("draw_label").append(new Option(String(v), String(v)));
  $("legend").innerHTML = task === "classification" ? d.class_names.map((name, k) => {
    const [r, g, b] = classColour(k);
    return `<span><i style="background:rgb(${r},${g},${b})"></i>${escapeHtml(name)}</span>`;
  }).join("") : "";
}
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
function bindControls() {
  for (const id of ["learning_rate", "regularization_rate", "dropout"])
    $(id).onchange = () => sendSettings({ [id]: Number($(id).value) });
  for (const id of ["optimizer", "activation", "regularization", "loss"])
    $(id).onchange = () => sendSettings({ [id]: $(id).value });
  $("classes").onchange = () => sendSettings({ classes: Number($("classes").value) });
  $("problem").onchange = () => {   // TF Playground's problem type: the data sets of that kind
    const regression = $("problem").value === "regression";
    const first = state.choices.datasets.find((d) => state.choices.regression.includes(d) === regression);
    sendSettings({ dataset: first, loss: "auto" });
  };
  for (const id of VIEW_KEYS) $(id).onchange = () => { drawFrame(); writeUrl(); };
  $("csv_file").onchange = readCsvFile;
  $("csv_use").onclick = () => send("upload", { csv: state.csv, x1: $("csv_x1").value,
                                                x2: $("csv_x2").value, target: $("csv_target").value });
  $("output_map").onclick = (event) => {
    if (!$("draw_mode").checked || !state.data) return;
    const canvas = $("output_map"), box = canvas.getBoundingClientRect(), e = state.data.extent;
    const x = ((event.clientX - box.left) / box.width) * 2 * e - e;
    const y = e - ((event.clientY - box.top) / box.height) * 2 * e;
    send("add_point", { x: Math.round(x * 1000) / 1000, y: Math.round(y * 1000) / 1000,
                        label: Number($("draw_label").value) });
  };
  for (const id of ["train_ratio", "noise", "batch_size"]) {
    $(id).oninput = () => { $(id + "_out").textContent = $(id).value; };
    $(id).onchange = () => sendSettings({ [id]: Number($(id).value) });
  }
  $("run").onclick = () => send(state.running ? "pause" : "run");
  $("step").onclick = () => send("step");
  $("reset").onclick = () => send("reset");
  $("regenerate").onclick = () => send("regenerate");
  $("export").onclick = () => send("export");
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
function readCsvFile() {
  const file = $("csv_file").files[0];
  if (!file) return;
  const limit = state.choices.max_upload_bytes;
  if (file.size > limit) {  // never sent: the server would refuse it anyway
    showError(`the file is too large (${file.size.toLocaleString("en")} bytes; at most ${limit.toLocaleString("en")})`);
    return;
  }
  file.text().then((text) => {
    state.csv = text;
    const first = text.split(/\r?\n/, 1)[0] || "";
    const delimiter = [",", ";", "\t"].reduce((a, b) => (first.split(b).length > first.split(a).length ? b : a));
    const names = first.split(delimiter).map((n) => n.trim().replace(/^"|"$/g, "")).filter(Boolean);
    for (const [id, pick] of [["csv_x1", 0], ["csv_x2", 1], ["csv_target", names.length - 1]]) {
      $(id).innerHTML = "";
      names.forEach((n) => $(id).append(new Option(n, n)));
      $(id).value = names[Math.min(pick, names.length - 1)] || "";
    }
    $("csv_columns").hidden = false;
  });
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
  const classes = state.data.classes > 2 ? state.data.classes : 1;
  const outputs = Array.from({ length: classes }, () => node(classes > 1 ? "class-node" : "")[0]);
  outputs.forEach((c, k) => {
    if (classes > 1) {
      const [r, g, b] = classColour(k);
      c.title = state.data.class_names[k];
      c.style.background = `rgb(${r},${g},${b})`;
    }
  });
  state.nodes.push(outputs);
  net.append(column("Output", outputs));
  state.nodes.forEach((layer, l) => layer.forEach((canvas, j) => {
    if (canvas.classList.contains("class-node")) return;
    canvas.onmouseenter = () => { state.hover = [l, j]; drawFrame(); };
    canvas.onmouseleave = () => { state.hover = null; drawFrame(); };
  }));
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
      const d = `M${x1 + r1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - r2},${y2}`;
      paths += `<path d="${d}" stroke="rgb(${r},${g},${b})" stroke-width="${width}" ` +
               `fill="none" opacity="0.75"/>` +  // and a wider invisible one to point at
               `<path class="weight" d="${d}" data-layer="${layer}" data-row="${i}" ` +
               `data-column="${j}" data-value="${w}"/>`;
    }));
  });
  svg.innerHTML = paths;
  for (const path of svg.querySelectorAll(".weight")) {
    path.onmousemove = (event) => {
      const tip = $("weight_tip");
      tip.textContent = `weight ${Number(path.dataset.value).toFixed(3)} (click to edit)`;
      tip.style.left = `${event.pageX + 12}px`;
      tip.style.top = `${event.pageY + 12}px`;
      tip.hidden = false;
    };
    path.onmouseleave = () => { $("weight_tip").hidden = true; };
    path.onclick = () => {
      const answer = prompt("New value of this weight:", Number(path.dataset.value).toFixed(3));
      if (answer === null || answer.trim() === "") return;
      send("set_weight", { layer: Number(path.dataset.layer), row: Number(path.dataset.row),
                           column: Number(path.dataset.column), value: Number(answer) });
    };
  }
}

// -- output, points, losses --------------------------------------------------------------------
function outputScale() {
  return state.data.task === "classification" ? (p) => 2 * p - 1 : (v) => v;
}
function drawPoints() {
  const canvas = $("output_map"), ctx = canvas.getContext("2d"), e = state.data.extent;
  const px = (x) => (x + e) / (2 * e) * canvas.width, py = (y) => (e - y) / (2 * e) * canvas.height;
  const sets = [];
  if ($("show_train").checked) sets.push([state.data.train, "#fff"]);
  if ($("show_test").checked) sets.push([state.data.test, "#000"]);
  const pointColour = state.data.task === "classification" ? (y) => classColour(Math.round(y))
                                                           : (y) => colour(y);
  for (const [points, stroke] of sets) {
    for (const [x, y, label] of points) {
      const [r, g, b] = pointColour(label);
      ctx.beginPath();
      ctx.arc(px(x), py(y), 3, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = stroke;
      ctx.stroke();
    }
  }
  const batch = state.frame && state.frame.batch;
  if ($("show_batch").checked && batch) {  // ring the points of the last mini-batch
    for (const i of batch) {
      const point = state.data.train[i];
      if (!point) continue;
      ctx.beginPath();
      ctx.arc(px(point[0]), py(point[1]), 7, 0, 2 * Math.PI);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#000";
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
  const output = decode(f.output), discrete = $("discretize").checked;
  let pixel;
  if (f.output_class) {   // several classes: the class's colour, paler where less sure
    const classes = decodeBytes(f.output_class), k = state.data.classes;
    pixel = (i, p) => classColour(classes[i], discrete ? 1 : Math.max(0, (p - 1 / k) / (1 - 1 / k)));
  } else {
    const scale = outputScale();
    pixel = (i, v) => colour(discrete ? Math.sign(scale(v)) : scale(v));
  }
  const hover = state.hover && hoveredMap(state.hover);
  if (hover) drawMap($("output_map"), hover, symmetric(hover));  // the neuron, enlarged
  else drawMap($("output_map"), output, null, pixel, !discrete);
  drawPoints();
  if (!f.output_class) drawMap(state.nodes[state.nodes.length - 1][0], output, null, pixel);
  f.neurons.forEach((layer, l) => layer.forEach((map, j) => {
    const canvas = state.nodes[l + 1] && state.nodes[l + 1][j];
    if (canvas) { const v = decode(map); drawMap(canvas, v, symmetric(v)); }
  }));
  drawLinks(f.weights);
  drawLossChart(f.history);
}

function hoveredMap([layer, j]) {   // the values of the neuron under the pointer
  if (layer === 0) return state.data.features[j] && decode(state.data.features[j].map);
  const maps = state.frame.neurons[layer - 1];
  return maps && maps[j] ? decode(maps[j]) : null;
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
    } else if (name === "spiral_arms" || name === "blobs") {
      const a = Math.atan2(y, x), r = Math.hypot(x, y);
      const turn = name === "spiral_arms" ? a - r / 5 * 1.75 * 2 * Math.PI : a - Math.PI / 4;
      const k = ((Math.floor(((turn / (2 * Math.PI)) % 1 + 1) % 1 * 3 + 0.5)) % 3);
      image.data.set([...classColour(k, Math.min(1, r / 2)), 255], 4 * (i * n + j));
      continue;
    } else if (name === "plane") t = (x + y) / 10;
    else t = Math.sin(x * 0.8) * Math.sin(y * 1.2);
    image.data.set([...colour(t), 255], 4 * (i * n + j));
  }
  canvas.getContext("2d").putImageData(image, 0, 0);
}

window.addEventListener("resize", () => state.frame && drawLinks(state.frame.weights));
bindControls();
connect();
