// nnlearn playground: the page draws what the server's nnlearn session sends.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { settings: null, choices: null, running: false, data: null, frame: null,
                frames: 0, runs: [], run: null, bp: null };
const PARAMS = new URLSearchParams(location.search);
// the teacher's read-only view of a student's tab: /?watch=SESSION&teacher=TOKEN.  The
// token is kept in this tab's sessionStorage (a reload still connects) and taken out of
// the address bar at once: the view is made to be projected, and the token can send
// challenges to every student.
const WATCH = PARAMS.get("watch"), TEACHER = keepTeacherToken(PARAMS.get("teacher"));
function keepTeacherToken(token) {
  if (!WATCH) return token;
  try {
    if (token) sessionStorage.setItem("nnlearn-teacher", token);
    else token = sessionStorage.getItem("nnlearn-teacher");
  } catch (error) { return token; }     // no storage (a privacy mode): keep the address
  history.replaceState(null, "", `${location.pathname}?watch=${encodeURIComponent(WATCH)}`);
  return token;
}
const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const DROPOUTS = [0, 0.1, 0.2, 0.3, 0.5];
const SCHEDULE_LABELS = { none: "constant", step: "halve /100 ep.", exponential: "exponential",
                          inverse_time: "1/t", cosine: "cosine restarts" };
const DATASET_LABELS = { circle: "Circle", xor: "Exclusive or", gaussian: "Gaussian",
                         spiral: "Spiral", plane: "Plane (reg.)",
                         gaussian_regression: "Gaussian (reg.)", spiral_arms: "Spiral arms",
                         blobs: "Blobs", custom: "Your data" };

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
// The server reads them (one error for each bad one, all shown); the page then rewrites
// the address from the settings in force, which drops the bad ones.
const VIEW_KEYS = ["discretize", "show_test", "show_train", "show_batch"];
function readViewOptions() {
  for (const key of VIEW_KEYS) if (PARAMS.has(key)) $(key).checked = PARAMS.get(key) === "1";
}
function urlHasSettings() {
  return [...PARAMS.keys()].some((k) => !["token", "teacher", "watch", ...VIEW_KEYS].includes(k));
}
function writeUrl() {
  const s = state.settings;
  if (!s || WATCH) return;
  const params = new URLSearchParams();
  if (TOKEN) params.set("token", TOKEN);
  for (const [key, value] of Object.entries(s)) {
    if (key === "dataset" && value === "custom") continue;  // uploaded points stay here
    if (Array.isArray(value) && !value.length && key === "layer_activations") continue;
    params.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  for (const key of VIEW_KEYS) params.set(key, $(key).checked ? "1" : "0");
  history.replaceState(null, "", `${location.pathname}?${params.toString().replace(/%2C/g, ",")}`);
}
function connect() {
  const query = WATCH ? `/watch?sid=${encodeURIComponent(WATCH)}&token=${encodeURIComponent(TEACHER || "")}`
                      : TOKEN ? `?token=${encodeURIComponent(TOKEN)}` : "";
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws${query}`);
  socket.onopen = () => { $("connection").textContent = "connected"; };
  socket.onclose = () => { $("connection").textContent = "disconnected (reload the page)";
                           setRunning(false); };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
}
function send(type, extra = {}) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type, ...extra }));
}
// The page sends each change alone ("changes"): the server applies it on top of the
// settings in force when it arrives, so changes made together, or beside a drawn point or
// a teacher's challenge, all take effect.  Until the server has answered the last one
// (its reply carries the message's number back), the page computes new changes (a
// layer's + clicked twice) from the confirmed settings with the changes on their way.
let pending = {}, sentNumber = 0;
function current() { return { ...state.settings, ...pending }; }
function sendSettings(changes) {
  const s = current(), delta = { ...changes };
  if (changes.hidden && s.layer_activations.length && !changes.layer_activations) {
    // one activation per layer: a new layer takes the last one's, a removed one goes
    const per = s.hidden.map((_, i) => s.layer_activations[i] || s.activation);
    delta.layer_activations = changes.hidden.map((_, i) => per[Math.min(i, per.length - 1)]);
  }
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  pending = { ...pending, ...delta };
  send("settings", { changes: delta, seq: ++sentNumber });
}
function settingsAnswered(message) {   // the reply to the last change sent, or a challenge
  if (message.type === "challenge" || message.seq === sentNumber) pending = {};
}

function receive(message) {
  switch (message.type) {
    case "session":
      state.choices = message.choices;
      state.number = message.number;
      state.sid = message.id;
      fillChoices();
      readViewOptions();
      if (message.watch) {
        document.body.classList.add("readonly");
        showBanner(`Watching ${message.name}'s network (read-only)`);
      } else {
        $("student_row").hidden = !message.classroom;
        if (urlHasSettings()) send("url", { query: location.search });
      }
      break;
    case "data":
      hideError();
      settingsAnswered(message);
      state.data = message;
      state.settings = message.settings;
      showSettings();
      buildNetwork();
      writeUrl();
      if (state.runs.length) showRuns();
      if (state.bp) send("backprop", { index: Math.min(state.bp.message.index, message.train.length - 1) });
      break;
    case "frame":
      state.frame = message;
      state.frames += 1;
      recordRun(message);
      if (state.bp && !state.running && message.epoch !== state.bp.message.epoch)
        send("backprop", { index: state.bp.message.index });   // the numbers after this step
      drawFrame();
      break;
    case "status":
      setRunning(message.running);
      break;
    case "export":
      showExport(message);
      break;
    case "error":
      settingsAnswered(message);   // a refused change: the server's settings are in force
      if (!state.choices) {      // refused before any session (a full classroom): no page
        document.body.classList.add("readonly");
        lockControls();
        showError(message.message.charAt(0).toUpperCase() + message.message.slice(1));
        break;
      }
      showError(message.message);
      break;
    case "url_errors":
      if (message.errors.length)
        showError(["Some settings in the address were left out:", ...message.errors]);
      break;
    case "challenge":
      settingsAnswered(message);   // the teacher's settings replace any change on its way
      showBanner(`Challenge ${message.number} from the teacher: reach the lowest test loss ` +
                 `on this data (${describe(message.settings)}). The network is yours to change.`);
      break;
    case "backprop": {   // a new point starts at step 1; the same point keeps its step
      const same = state.bp && state.bp.message.index === message.index;
      state.bp = { message, step: same ? Math.min(state.bp.step, message.steps.length - 1) : 0 };
      showBackprop();
      break;
    }
  }
  if (WATCH && (message.type === "session" || message.type === "data")) lockControls();
}
function lockControls() {    // the read-only view: nothing can be changed
  for (const el of document.querySelectorAll("header button, header select, main button, main input, main select"))
    el.disabled = true;
}
function showBanner(text) { $("banner").textContent = text; $("banner").hidden = false; }
function describe(s) {
  const name = DATASET_LABELS[s.dataset] || s.dataset;
  return `${name}${s.dataset === "spiral_arms" || s.dataset === "blobs" ? `, ${s.classes} classes` : ""}, ` +
         `noise ${s.noise}, ${s.train_ratio}% training`;
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
  options($("schedule"), c.schedules, (v) => SCHEDULE_LABELS[v] || v);
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
      const loss = current().loss;
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
                    "regularization_rate", "dropout", "schedule"]) $(id).value = String(s[id]);
  $("schedule").disabled = !state.choices.scheduled_optimizers.includes(s.optimizer);
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
  for (const id of ["regularization", "loss", "schedule"])
    $(id).onchange = () => sendSettings({ [id]: $(id).value });
  $("optimizer").onchange = () => {   // a few optimizers take a plain learning rate only
    const optimizer = $("optimizer").value;
    const takes = state.choices.scheduled_optimizers.includes(optimizer);
    sendSettings(takes ? { optimizer } : { optimizer, schedule: "none" });
  };
  // the activation of every hidden layer (each layer's own menu overrides it)
  $("activation").onchange = () => sendSettings({ activation: $("activation").value, layer_activations: [] });
  $("student_name").onchange = () => send("name", { name: $("student_name").value });
  $("classes").onchange = () => sendSettings({ classes: Number($("classes").value) });
  $("problem").onchange = () => {   // TF Playground's problem type: the data sets of that kind
    const regression = $("problem").value === "regression";
    const first = state.choices.datasets.find((d) => state.choices.regression.includes(d) === regression);
    sendSettings({ dataset: first, loss: "auto" });
  };
  for (const id of VIEW_KEYS) $(id).onchange = () => { drawFrame(); writeUrl(); };
  $("csv_file").onchange = readCsvFile;
  $("csv_use").onclick = () => send("upload", { csv: state.csv, x1: $("csv_x1").value, name: state.csvName,
                                                x2: $("csv_x2").value, target: $("csv_target").value });
  $("output_map").onclick = (event) => {
    if (!state.data) return;
    const canvas = $("output_map"), box = canvas.getBoundingClientRect(), e = state.data.extent;
    const x = ((event.clientX - box.left) / box.width) * 2 * e - e;
    const y = e - ((event.clientY - box.top) / box.height) * 2 * e;
    if (state.bp) {   // step mode: the training point nearest the click
      let best = 0, distance = Infinity;
      state.data.train.forEach(([px, py], i) => {
        const d = (px - x) ** 2 + (py - y) ** 2;
        if (d < distance) { distance = d; best = i; }
      });
      send("backprop", { index: best });
      return;
    }
    if (!$("draw_mode").checked) return;
    send("add_point", { x: Math.round(x * 1000) / 1000, y: Math.round(y * 1000) / 1000,
                        label: Number($("draw_label").value) });
  };
  for (const id of ["train_ratio", "noise", "batch_size"]) {
    $(id).oninput = () => { $(id + "_out").textContent = $(id).value; };
    $(id).onchange = () => sendSettings({ [id]: Number($(id).value) });
  }
  $("run").onclick = () => {
    if (state.bp) toggleBackprop();   // training moves on: the step mode's numbers would be stale
    send(state.running ? "pause" : "run");
  };
  $("step").onclick = () => send("step");
  $("reset").onclick = () => send("reset");
  $("regenerate").onclick = () => send("regenerate");
  $("export").onclick = () => send("export");
  $("add_layer").onclick = () => {
    const hidden = current().hidden;
    sendSettings({ hidden: [...hidden, hidden[hidden.length - 1] || 2] });
  };
  $("remove_layer").onclick = () => sendSettings({ hidden: current().hidden.slice(0, -1) });
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
    showError(`'${file.name}' is too large (${file.size.toLocaleString("en")} bytes; at most ${limit.toLocaleString("en")})`);
    return;
  }
  file.text().then((text) => {
    state.csv = text;
    state.csvName = file.name;
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
function showError(text) {   // one message, or several (one line each)
  $("error").textContent = Array.isArray(text) ? text.join("\n") : text;
  $("error").hidden = false;
}
function hideError() { $("error").hidden = true; }
function showExport(message) {
  $("download_model").href = message.model_url;
  $("download_data").href = message.data_url;
  $("download_model").hidden = $("download_data").hidden = false;
  // the ONNX file beside them, or what to install for it
  $("download_onnx").href = message.onnx_url;
  $("download_onnx").hidden = Boolean(message.onnx_missing);
  $("onnx_missing").textContent = message.onnx_missing ? `ONNX: ${message.onnx_missing}` : "";
  $("onnx_missing").hidden = !message.onnx_missing;
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
    const resize = (by) => sendSettings({ hidden: current().hidden.map((n, i) =>
      i === layer ? Math.max(1, Math.min(state.choices.max_neurons, n + by)) : n) });
    plus.onclick = () => resize(1);
    minus.onclick = () => resize(-1);
    const nodes = Array.from({ length: units }, () => node("")[0]);
    state.nodes.push(nodes);
    const menu = document.createElement("select");   // this layer's activation
    menu.className = "layer-activation";
    menu.title = `Activation of layer ${layer + 1}`;
    options(menu, state.choices.activations);
    menu.value = s.layer_activations[layer] || s.activation;
    menu.onchange = () => {
      const now = current(), per = now.hidden.map((_, i) => now.layer_activations[i] || now.activation);
      if (layer < per.length) per[layer] = menu.value;   // (a layer removed meanwhile: no)
      sendSettings({ layer_activations: per });
    };
    buttons.append(menu);
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
  drawAxes();
}
// the output map's axes: the plane's -6..6, or an uploaded file's columns in their units
function drawAxes() {
  const axes = state.data.axes, ticks = [-6, -3, 0, 3, 6];
  const label = (axis, t) => (axis ? niceNumber(axis.low + (t + 5) / 10 * (axis.high - axis.low)) : String(t));
  [...$("x_ticks").children].forEach((span, i) => { span.textContent = label(axes && axes[0], ticks[i]); });
  [...$("y_ticks").children].forEach((span, i) => { span.textContent = label(axes && axes[1], ticks[4 - i]); });
  $("x_name").textContent = axes ? axes[0].name : "x1";
  $("y_name").textContent = axes ? axes[1].name : "x2";
}
function drawLinks(weights) {
  // Two paths per weight: the visible line and a wider invisible one to point at.  They
  // are made once per network shape and then updated in place, frame after frame: a
  // line remade at every frame (about 18 a second in training) was gone before the
  // mouse button came up, so a click on a weight almost never reached it.
  const svg = $("links"), box = $("net").getBoundingClientRect();
  const centre = (el) => {
    const r = el.getBoundingClientRect();
    return [r.left - box.left + r.width / 2, r.top - box.top + r.height / 2, r.width / 2];
  };
  const links = [];
  weights.forEach((matrix, layer) => {
    const from = state.nodes[layer], to = state.nodes[layer + 1];
    if (!from || !to) return;
    matrix.forEach((row, i) => row.forEach((w, j) => {
      if (!from[i] || !to[j]) return;
      const [x1, y1, r1] = centre(from[i]), [x2, y2, r2] = centre(to[j]);
      const mid = (x1 + x2) / 2;
      links.push({ layer, i, j, w, d: `M${x1 + r1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - r2},${y2}` });
    }));
  });
  const shape = links.map((l) => `${l.layer}.${l.i}.${l.j}`).join(" ");
  if (svg.dataset.shape !== shape) {
    svg.innerHTML = links.map(() => '<path fill="none" opacity="0.75"/><path class="weight"/>')
                         .join("") + '<g class="bp-marks"></g>';   // drawBackprop's numbers
    svg.dataset.shape = shape;
    for (const path of svg.querySelectorAll(".weight")) {
      path.onmousemove = (event) => {
        const tip = $("weight_tip");
        tip.textContent = `weight ${Number(path.dataset.value).toFixed(3)} (click to edit)`;
        tip.style.left = `${event.pageX + 12}px`;
        tip.style.top = `${event.pageY + 12}px`;
        tip.hidden = false;
      };
      path.onmouseleave = () => { $("weight_tip").hidden = true; };
      path.onclick = (event) => openWeightEditor(path, event);
    }
  }
  const paths = svg.children;
  links.forEach((link, k) => {
    const line = paths[2 * k], target = paths[2 * k + 1];
    const [r, g, b] = colour(link.w > 0 ? 1 : -1);
    line.setAttribute("d", link.d);
    line.setAttribute("stroke", `rgb(${r},${g},${b})`);
    line.setAttribute("stroke-width", Math.min(6, 0.4 + Math.abs(link.w) * 1.5).toFixed(2));
    target.setAttribute("d", link.d);
    Object.assign(target.dataset, { layer: link.layer, row: link.i, column: link.j,
                                    value: link.w });
  });
}

function openWeightEditor(path, event) {   // an inline field where the weight was clicked
  if (WATCH) return;
  const editor = $("weight_editor"), input = $("weight_value");
  editor.dataset.layer = path.dataset.layer;
  editor.dataset.row = path.dataset.row;
  editor.dataset.column = path.dataset.column;
  $("weight_where").textContent = `w${Number(path.dataset.row) + 1},${Number(path.dataset.column) + 1} ` +
                                  `of layer ${Number(path.dataset.layer) + 1}`;
  input.value = Number(path.dataset.value).toFixed(3);
  editor.style.left = `${event.pageX + 8}px`;
  editor.style.top = `${event.pageY + 8}px`;
  editor.hidden = false;
  $("weight_tip").hidden = true;
  input.focus();
  input.select();
}
function bindWeightEditor() {
  const editor = $("weight_editor"), input = $("weight_value");
  editor.onsubmit = (event) => {
    event.preventDefault();
    const value = Number(input.value);
    if (input.value.trim() === "" || !Number.isFinite(value)) { input.setCustomValidity("a number"); input.reportValidity(); return; }
    input.setCustomValidity("");
    send("set_weight", { layer: Number(editor.dataset.layer), row: Number(editor.dataset.row),
                         column: Number(editor.dataset.column), value });
    editor.hidden = true;
  };
  input.oninput = () => input.setCustomValidity("");
  input.onkeydown = (event) => { if (event.key === "Escape") editor.hidden = true; };
  $("weight_cancel").onclick = () => { editor.hidden = true; };
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
  if (state.bp) {   // step mode: the chosen training point
    const point = state.data.train[state.bp.message.index];
    if (point) {
      ctx.beginPath();
      ctx.arc(px(point[0]), py(point[1]), 9, 0, 2 * Math.PI);
      ctx.lineWidth = 3;
      ctx.strokeStyle = "#b2321f";
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
// curves on labelled axes: epoch along x, loss up y (the loss chart, the comparison)
function niceNumber(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}
function drawCurves(canvas, series, { left = 36, bottom = 24, font = 10 } = {}) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, top = 6, right = 8;
  ctx.clearRect(0, 0, W, H);
  const points = series.flatMap((s) => s.points.filter((p) => p[1] !== null && Number.isFinite(p[1])));
  if (!points.length) return;
  const x0 = Math.min(...points.map((p) => p[0])), x1 = Math.max(...points.map((p) => p[0]), x0 + 1);
  const y1 = Math.max(...points.map((p) => p[1])) || 1;
  const px = (x) => left + (x - x0) / (x1 - x0) * (W - left - right);
  const py = (y) => top + (1 - y / y1) * (H - top - bottom);
  ctx.strokeStyle = "#bbb"; ctx.lineWidth = 1; ctx.setLineDash([]);
  ctx.beginPath(); ctx.moveTo(left, top); ctx.lineTo(left, H - bottom); ctx.lineTo(W - right, H - bottom); ctx.stroke();
  ctx.fillStyle = "#666"; ctx.font = `${font}px system-ui, sans-serif`;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  ctx.fillText(niceNumber(y1), left - 3, py(y1));
  ctx.fillText("0", left - 3, py(0));
  ctx.textBaseline = "top";
  ctx.textAlign = "left"; ctx.fillText(String(x0), left, H - bottom + 2);
  ctx.textAlign = "right"; ctx.fillText(String(x1), W - right, H - bottom + 2);
  ctx.textAlign = "center"; ctx.fillText("epoch", (left + W - right) / 2, H - bottom + 2);
  ctx.save(); ctx.translate(font / 2 + 1, (top + H - bottom) / 2); ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle"; ctx.fillText("loss", 0, 0); ctx.restore();
  for (const s of series) {
    ctx.beginPath();
    let started = false;
    for (const [x, y] of s.points) {
      if (y === null || !Number.isFinite(y)) { started = false; continue; }
      started ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y));
      started = true;
    }
    ctx.strokeStyle = s.colour; ctx.lineWidth = s.width || 1.5; ctx.setLineDash(s.dash || []);
    ctx.stroke();
  }
  ctx.setLineDash([]);
}
function drawLossChart(history) {
  const epochs = history.epoch || history.test_loss.map((_, i) => i);
  drawCurves($("loss_chart"), [
    { points: epochs.map((e, i) => [e, history.train_loss[i]]), colour: "#999" },
    { points: epochs.map((e, i) => [e, history.test_loss[i]]), colour: "#000" }]);
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
  if (f.output_class) {   // the class colours mixed by their probabilities, paler
    pixel = mixedClassPixel(f.output_probs.map(decodeBytes), state.data.classes);   // where less sure
  } else {
    const scale = outputScale();
    pixel = (i, v) => colour(discrete ? Math.sign(scale(v)) : scale(v));
  }
  const hover = state.hover && hoveredMap(state.hover);
  if (hover) drawMap($("output_map"), hover, symmetric(hover));  // the neuron, enlarged
  else if (discrete && f.output_class)   // each canvas pixel's likeliest class, from the
    drawDiscrete($("output_map"), f.output_probs.map(decodeBytes),   // interpolated maps
                 (ps) => classColour(ps.indexOf(Math.max(...ps)), 1));
  else if (discrete) {
    const scale = outputScale();
    drawDiscrete($("output_map"), [output], ([v]) => colour(Math.sign(scale(v))));
  } else drawMap($("output_map"), output, null, pixel, true);
  drawPoints();
  if (!f.output_class) drawMap(state.nodes[state.nodes.length - 1][0], output, null, pixel);
  f.neurons.forEach((layer, l) => layer.forEach((map, j) => {
    const canvas = state.nodes[l + 1] && state.nodes[l + 1][j];
    if (canvas) { const v = decode(map); drawMap(canvas, v, symmetric(v)); }
  }));
  drawLinks(f.weights);
  drawBackprop();
  drawLossChart(f.history);
}

// a discretized map without staircase edges: the maps (n x n) interpolated (bilinear) at
// every pixel of the canvas, then coloured, rather than each grid cell coloured and enlarged
function drawDiscrete(canvas, maps, colourOf) {
  const n = Math.round(Math.sqrt(maps[0].length)), W = canvas.width, H = canvas.height;
  const image = new ImageData(W, H), at = new Array(maps.length);
  for (let py = 0; py < H; py++) {
    const gy = Math.min(n - 1, Math.max(0, (py + 0.5) / H * n - 0.5));
    const y0 = Math.floor(gy), y1 = Math.min(n - 1, y0 + 1), fy = gy - y0;
    for (let px = 0; px < W; px++) {
      const gx = Math.min(n - 1, Math.max(0, (px + 0.5) / W * n - 0.5));
      const x0 = Math.floor(gx), x1 = Math.min(n - 1, x0 + 1), fx = gx - x0;
      for (let m = 0; m < maps.length; m++) {
        const v = maps[m];
        at[m] = (v[y0 * n + x0] * (1 - fx) + v[y0 * n + x1] * fx) * (1 - fy) +
                (v[y1 * n + x0] * (1 - fx) + v[y1 * n + x1] * fx) * fy;
      }
      const [r, g, b] = colourOf(at);
      image.data.set([r, g, b, 255], 4 * (py * W + px));
    }
  }
  canvas.getContext("2d").putImageData(image, 0, 0);
}
function mixedClassPixel(probs, k) {
  return (i) => {
    let top = 0;
    const rgb = [0, 0, 0];
    probs.forEach((p, c) => {
      const u = p[i] / 255, colour = CLASS_COLOURS[c % CLASS_COLOURS.length];
      top = Math.max(top, u);
      for (let m = 0; m < 3; m++) rgb[m] += u * colour[m];
    });
    const total = probs.reduce((t, p) => t + p[i] / 255, 0) || 1;
    return mix(WHITE, rgb.map((v) => v / total), Math.max(0, (top - 1 / k) / (1 - 1 / k)));
  };
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

// -- run history: every network this tab trained, to compare and restore ---------------------
const RUN_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const MAX_RUNS = 20;
function runKey() { return JSON.stringify(state.settings) + "|" + state.data.train.length; }
function recordRun(f) {
  if (!state.data || WATCH) return;
  const key = runKey();
  let run = state.run;
  if (!run || run.key !== key || f.epoch < run.epoch || (f.epoch === 0 && run.epoch > 0)) {
    if (run && run.epoch > 0) archiveRun(run);
    run = state.run = { key, id: null, settings: { ...state.settings }, task: state.data.task,
                        classes: state.data.classes, curve: [], epoch: -1, final: null };
  }
  if (f.epoch > run.epoch) run.curve.push([f.epoch, f.train.loss, f.test.loss]);
  if (run.curve.length > 1000)   // bounded: every other point of a long run
    run.curve = run.curve.filter((_, i) => i % 2 === 0 || i === run.curve.length - 1);
  if (run.id === null && f.epoch > 0) run.id = state.runCount = (state.runCount || 0) + 1;
  run.epoch = f.epoch;
  run.final = { output: f.output, output_class: f.output_class, output_probs: f.output_probs,
                epoch: f.epoch, train: f.train.loss, test: f.test.loss };
  if (run.epoch > 0) showRuns();
}
function archiveRun(run) {
  state.runs.push(run);
  if (state.runs.length > MAX_RUNS) state.runs.shift();
  saveRuns();
}
// the runs outlive a reload of the tab (sessionStorage is the tab's own)
const RUNS_KEY = `nnlearn-runs:${location.host}`;
function saveRuns() {
  if (WATCH) return;
  const runs = [...state.runs, ...(state.run && state.run.epoch > 0 ? [state.run] : [])];
  try {
    sessionStorage.setItem(RUNS_KEY, JSON.stringify({ count: state.runCount || 0, runs }));
  } catch (err) { /* storage full or disabled: the runs stay in this page only */ }
}
function loadRuns() {
  if (WATCH) return;
  try {
    const saved = JSON.parse(sessionStorage.getItem(RUNS_KEY) || "null");
    if (!saved || !Array.isArray(saved.runs)) return;
    state.runs = saved.runs.slice(-MAX_RUNS);
    state.runCount = saved.count;
  } catch (err) { /* unreadable: start afresh */ }
}
window.addEventListener("pagehide", saveRuns);
function runLabel(run) {
  const s = run.settings;
  const acts = s.layer_activations.length ? s.layer_activations.join("/") : s.activation;
  return `${DATASET_LABELS[s.dataset] || s.dataset} · ${s.hidden.join("-")} ${acts} · ` +
         `${s.optimizer} ${s.learning_rate}`;
}
function showRuns() {
  const list = $("runs"), runs = [...state.runs, ...(state.run && state.run.epoch > 0 ? [state.run] : [])];
  const checked = new Set([...list.querySelectorAll("input:checked")].map((b) => Number(b.dataset.run)));
  list.innerHTML = "";
  for (const run of runs.slice().reverse()) {
    const item = document.createElement("li");
    item.dataset.run = run.id;
    const thumb = document.createElement("canvas");
    thumb.width = thumb.height = 36;
    drawRunMap(thumb, run);
    const text = document.createElement("span");
    text.className = "run-text";
    text.innerHTML = `<b>Run ${run.id}</b>${run === state.run ? " (current)" : ""}<br>${escapeHtml(runLabel(run))}<br>` +
                     `epoch ${run.final.epoch} · test loss ${fmt(run.final.test)}`;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.title = "Compare this run";
    box.dataset.run = run.id;
    box.checked = checked.has(run.id);
    box.onchange = updateCompareButton;
    const restore = document.createElement("button");
    restore.textContent = "Restore";
    restore.className = "restore";
    restore.title = "Train this run's network again (same settings and seed)";
    restore.onclick = () => { send("pause"); sendSettings(run.settings); };
    item.append(box, thumb, text, restore);
    list.append(item);
  }
  updateCompareButton();
}
function updateCompareButton() {
  const n = $("runs").querySelectorAll("input:checked").length;
  $("compare").disabled = n < 2 || WATCH;
  $("compare").textContent = n >= 2 ? `Compare ${n}` : "Compare";
}
function findRun(id) {
  return [...state.runs, state.run].find((r) => r && r.id === id);
}
function drawRunMap(canvas, run) {
  const f = run.final, output = decode(f.output);
  const pixel = f.output_probs ? mixedClassPixel(f.output_probs.map(decodeBytes), run.classes)
    : (i, v) => colour(run.task === "classification" ? 2 * v - 1 : v);
  drawMap(canvas, output, null, pixel);
}
function showComparison() {
  const ids = [...$("runs").querySelectorAll("input:checked")].map((b) => Number(b.dataset.run));
  const runs = ids.map(findRun).filter(Boolean).sort((a, b) => a.id - b.id);
  const series = [];
  $("compare_legend").innerHTML = "";
  $("compare_maps").innerHTML = "";
  runs.forEach((run, k) => {
    const c = RUN_COLOURS[k % RUN_COLOURS.length];
    series.push({ points: run.curve.map((p) => [p[0], p[2]]), colour: c, width: 2 });
    series.push({ points: run.curve.map((p) => [p[0], p[1]]), colour: c, dash: [4, 3], width: 1 });
    const entry = document.createElement("div");
    entry.innerHTML = `<i style="background:${c}"></i>Run ${run.id}: ${escapeHtml(runLabel(run))} — ` +
                      `test loss ${fmt(run.final.test)} at epoch ${run.final.epoch}`;
    $("compare_legend").append(entry);
    const figure = document.createElement("figure");
    const map = document.createElement("canvas");
    map.width = map.height = 150;
    drawRunMap(map, run);
    const caption = document.createElement("figcaption");
    caption.innerHTML = `<i style="background:${c}"></i>Run ${run.id}`;
    const restore = document.createElement("button");
    restore.textContent = "Restore";
    restore.onclick = () => { $("compare_dialog").close(); send("pause"); sendSettings(run.settings); };
    figure.append(map, caption, restore);
    $("compare_maps").append(figure);
  });
  $("compare_dialog").showModal();
  drawCurves($("compare_chart"), series, { left: 44, bottom: 26, font: 12 });
}

// -- backpropagation, step by step (the numbers come from the server's engine) --------------
function toggleBackprop() {
  if (state.bp) {
    state.bp = null;
    $("bp_panel").hidden = true;
    $("bp_toggle").classList.remove("on");
    document.querySelector("section.network").classList.remove("stepping");
    drawFrame();
    return;
  }
  send("backprop", { index: 0 });
}
function showBackprop() {
  const { message, step } = state.bp, steps = message.steps, current = steps[step];
  $("bp_panel").hidden = false;
  $("bp_toggle").classList.add("on");
  document.querySelector("section.network").classList.add("stepping");
  const [x, y] = message.point;
  const target = state.data.task === "classification" ? (state.data.class_names[message.target] ?? message.target)
                                                       : fmt4(message.target);
  $("bp_point").textContent = `training point ${message.index + 1}: (${fmt4(x)}, ${fmt4(y)}), target ${target}`;
  $("bp_count").textContent = `step ${step + 1} of ${steps.length}`;
  $("bp_phase").textContent = current.kind === "forward" ? "forward pass" : current.kind === "loss" ? "loss"
                              : "backward pass";
  $("bp_text").innerHTML = describeStep(current, message);
  const notes = [];
  if (message.penalty) notes.push("The regularization penalty's gradient, which training adds to each weight's, is not included.");
  if (message.dropout) notes.push("Dropout is off here, as when the network predicts.");
  $("bp_note").textContent = notes.join(" ");
  $("bp_first").disabled = $("bp_prev").disabled = step === 0;
  $("bp_next").disabled = $("bp_last").disabled = step === steps.length - 1;
  drawFrame();
}
// a number with `digits` decimals; one too small for them (a vanishing gradient) in
// scientific notation, so that it does not read as 0
function fmtDigits(v, digits) {
  if (v === null || v === undefined) return "NaN";
  v = Number(v);
  return v !== 0 && Math.abs(v) < 0.5 * 10 ** -digits ? v.toExponential(digits - 2) : v.toFixed(digits);
}
const fmt4 = (v) => fmtDigits(v, 4);
function layerName(l, message) {
  return l === message.activations.length - 1 ? "output" : `layer ${l + 1}`;
}
function describeStep(st, message) {
  const act = (l) => message.activations[l];
  const L = (l) => layerName(l, message);
  switch (st.kind) {
    case "forward":
      return `<b>Forward</b>, ${L(st.layer)} neuron ${st.neuron + 1}: z = &Sigma; w&middot;a + b = ${fmt4(st.z)}; ` +
             `a = ${act(st.layer)}(z) = <b>${fmt4(st.a)}</b>`;
    case "loss":
      return `<b>Loss</b> (${message.loss}) of the output against the target ${fmt4(st.target)}: L = <b>${fmt4(st.value)}</b>`;
    case "delta":
      if (st.dL_da === null)
        return `<b>Backward</b>, ${L(st.layer)} neuron ${st.neuron + 1}: &part;L/&part;z = <b>${fmt4(st.dL_dz)}</b> ` +
               `(${act(st.layer)} with cross-entropy, computed together: &part;L/&part;z = a &minus; y)`;
      return `<b>Backward</b>, ${L(st.layer)} neuron ${st.neuron + 1}: &part;L/&part;a = ${fmt4(st.dL_da)}` +
             `${st.layer === message.activations.length - 1 ? " (from the loss)" : " (&Sigma; over the layer above of w &middot; &part;L/&part;z)"}; ` +
             `&part;L/&part;z = ${act(st.layer)}&prime;(z) &middot; &part;L/&part;a = <b>${fmt4(st.dL_dz)}</b>`;
    case "weight": {  // the neuron's dL/dz, computed in the backward step before it
      const delta = message.steps.find((d) => d.kind === "delta" && d.layer === st.layer &&
                                              d.neuron === st.column);
      return `<b>Weight</b> w${st.row + 1},${st.column + 1} into ${L(st.layer)} (now ${fmt4(st.value)}): ` +
             `&part;L/&part;w = a &middot; &part;L/&part;z = ${fmt4(st.input)} &times; ` +
             `${delta ? fmt4(delta.dL_dz) : "&part;L/&part;z"} = <b>${fmt4(st.grad)}</b>`;
    }
    case "bias":
      return `<b>Bias</b> of ${L(st.layer)} neuron ${st.neuron + 1} (now ${fmt4(st.value)}): &part;L/&part;b = &part;L/&part;z = <b>${fmt4(st.grad)}</b>`;
  }
  return "";
}
function moveBackprop(to) {
  if (!state.bp) return;
  state.bp.step = Math.max(0, Math.min(state.bp.message.steps.length - 1, to));
  showBackprop();
}
function drawBackprop() {   // the numbers so far, written on the network
  const svg = $("links"), marks = svg.querySelector("g.bp-marks");
  if (marks) marks.innerHTML = "";
  if (!state.bp || !state.nodes || !marks) return;
  const box = $("net").getBoundingClientRect();
  const { message, step } = state.bp, steps = message.steps.slice(0, step + 1);
  const current = message.steps[step];
  const at = (el) => { const r = el.getBoundingClientRect(); return [r.left - box.left, r.top - box.top, r.width, r.height]; };
  let extra = "";
  const label = (el, text, cls, dy) => {
    if (!el) return;
    const [x, y, w, h] = at(el);
    extra += `<text class="bp ${cls}" x="${x + w / 2}" y="${y + h + dy}" text-anchor="middle">${text}</text>`;
  };
  message.inputs.forEach((v, i) => {   // the point's features, above each input's right side
    const el = state.nodes[0][i];
    if (!el) return;
    const [x, y, w] = at(el);
    extra += `<text class="bp bp-forward" x="${x + w + 2}" y="${y - 3}" text-anchor="start">${fmt3(v)}</text>`;
  });
  const values = new Map(), deltas = new Map();
  for (const st of steps) {
    if (st.kind === "forward") values.set(`${st.layer},${st.neuron}`, st.a);
    if (st.kind === "delta") deltas.set(`${st.layer},${st.neuron}`, st.dL_dz);
  }
  const outputNodes = state.nodes.length - 1;
  for (const [key, v] of values) {
    const [l, j] = key.split(",").map(Number);
    if (l + 1 === outputNodes && state.nodes[l + 1].length === 1 && j > 0) continue;
    label(state.nodes[l + 1][j], fmt3(v), "bp-forward", 11);
  }
  for (const [key, v] of deltas) {
    const [l, j] = key.split(",").map(Number);
    label(state.nodes[l + 1][j], `&delta; ${fmt3(v)}`, "bp-delta", 22);
  }
  const highlight = (el) => { if (el) { const [x, y, w, h] = at(el); extra += `<rect class="bp-focus" x="${x - 3}" y="${y - 3}" width="${w + 6}" height="${h + 6}" rx="4"/>`; } };
  if (current.kind === "forward" || current.kind === "delta") highlight(state.nodes[current.layer + 1][current.neuron]);
  if (current.kind === "bias") highlight(state.nodes[current.layer + 1][current.neuron]);
  if (current.kind === "weight") {
    const path = svg.querySelector(`path.weight[data-layer="${current.layer}"][data-row="${current.row}"][data-column="${current.column}"]`);
    if (path) {
      const d = path.getAttribute("d");
      extra += `<path class="bp-edge" d="${d}"/>`;
      const from = state.nodes[current.layer][current.row], to = state.nodes[current.layer + 1][current.column];
      if (from && to) {
        const [x1, y1, w1, h1] = at(from), [x2, y2, w2, h2] = at(to);
        const mx = (x1 + w1 + x2) / 2, my = (y1 + h1 / 2 + y2 + h2 / 2) / 2;
        extra += `<text class="bp bp-grad" x="${mx}" y="${my - 6}" text-anchor="middle">&part;L/&part;w ${fmt3(current.grad)}</text>`;
      }
    }
  }
  marks.innerHTML = extra;
}
const fmt3 = (v) => fmtDigits(v, 3);
function bindSteps() {
  $("bp_toggle").onclick = toggleBackprop;
  $("bp_first").onclick = () => moveBackprop(0);
  $("bp_prev").onclick = () => moveBackprop(state.bp.step - 1);
  $("bp_next").onclick = () => moveBackprop(state.bp.step + 1);
  $("bp_last").onclick = () => moveBackprop(Infinity);
  $("compare").onclick = showComparison;
  document.addEventListener("keydown", (event) => {
    if (!state.bp || event.target.closest("input, select, textarea")) return;
    if (event.key === "ArrowRight") moveBackprop(state.bp.step + 1);
    if (event.key === "ArrowLeft") moveBackprop(state.bp.step - 1);
  });
}

window.addEventListener("resize", () => state.frame && drawFrame());
bindControls();
bindWeightEditor();
bindSteps();
loadRuns();
connect();
