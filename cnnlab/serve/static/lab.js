// The browser lab: one page on the JSON API of cnnlab/serve/app.py. No build step, no network
// beyond this server. State: the chosen model, its description, and the current input (the
// bytes of an image file, as a data URL, sent with every request and converted by the server).
// Every text from the server (class and layer names come from checkpoint files) reaches the
// page as text: elements are built with el() and textContent, never from HTML strings.
const $ = (id) => document.getElementById(id);
const S = { model: null, desc: null, task: "classify", image: null, truth: null, layers: [], sel: null, pred: null };
let busy = 0;

async function call(path, body) {
  busy++; $("status").textContent = "working…";
  try {
    const opts = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model: S.model, ...body }),
    };
    const r = await fetch(path, opts);
    const j = await r.json();
    if (!r.ok) throw new Error(j.error || `HTTP ${r.status}`);
    $("error").hidden = true;
    return j;
  } catch (e) {
    $("error").textContent = e.message; $("error").hidden = false; throw e;
  } finally {
    if (--busy === 0) $("status").textContent = "";
  }
}
const q = (o) => new URLSearchParams({ model: S.model, ...o }).toString();
const fmt = (v, d = 4) => Number(v).toFixed(d);
// an element with attributes and children (strings become text nodes, never markup)
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children); return e;
};

// ---- model ------------------------------------------------------------------------------
async function loadModels() {
  const c = await call("/api/models");
  for (const m of c.models) $("model").append(new Option(m.label, m.id, false, m.id === c.default));
  $("model").onchange = () => chooseModel($("model").value);
  await chooseModel(c.default);
}

async function chooseModel(id) {
  S.model = id;
  const d = S.desc = await call(`/api/model?${q({})}`);
  const [c, h, w] = d.input_shape;
  $("model-info").textContent = `${d.model}: input ${c}×${h}×${w}, ${d.classes.length} ${d.task === "caption" ? "words" : "classes"}, ` +
    `${d.totals.params.toLocaleString()} parameters${d.data ? ", trained on " + d.data : ""}`;
  const arch = $("arch"); arch.replaceChildren();
  for (const L of d.layers) {
    const rf = L.rf_size ? L.rf_size.map((v) => +v.toFixed(1)).join("×") : "–";
    const li = el("li", { class: L.type }, el("b", {}, L.name), " ", el("span", { class: "t" }, L.type),
      el("div", { class: "d" }, el("span", {}, L.output_shape.join("×")),
        el("span", {}, L.params ? L.params.toLocaleString() + " p" : ""),
        el("span", { title: "receptive field" }, `RF ${rf}`)));
    li.onclick = () => document.getElementById(`layer-${L.index}`)?.scrollIntoView({ behavior: "smooth" });
    arch.append(li);
  }
  $("cm-target").replaceChildren();
  d.classes.forEach((n, i) => $("cm-target").append(new Option(`${i}: ${n}`, i)));
  for (const s of ["ex-target", "at-target"]) {
    const sel = $(s); sel.replaceChildren();
    sel.append(new Option(s === "ex-target" ? "the predicted class" : "none (untargeted)", ""));
    d.classes.forEach((n, i) => sel.append(new Option(`${i}: ${n}`, i)));
  }
  // what the model answers decides the panels: class scores (classify), or a scene view by
  // its task (segment: mask and legend; detect: boxes; caption: words), /api/scene
  S.task = d.task || "classify";
  const classify = S.task === "classify";
  $("pred-panel").hidden = !classify; $("scene-panel").hidden = classify;
  $("attack-panel").hidden = !classify; $("class-panel").hidden = !classify;
  $("explain-panel").hidden = !(classify || S.task === "segment"); // a segmenter: Grad-CAM of a class
  for (const o of $("ex-method").options) o.disabled = !classify && o.value !== "gradcam";
  if ($("ex-method").selectedOptions[0].disabled) $("ex-method").value = "gradcam";
  const small = c * h * w <= 3 * 32 * 32; // the server runs minimal and one-pixel on small inputs only
  for (const o of $("at-method").options) if (o.value === "minimal" || o.value === "one-pixel") o.disabled = !small;
  if ($("at-method").selectedOptions[0].disabled) $("at-method").value = "fgsm";
  $("draw-box").hidden = c !== 1;
  $("draw-note").textContent = !classify ? `a scene: the whole canvas, resized to ${h}×${w}` :
    d.data === "mnist" || d.data === "mnist-subset" ?
    "centred as MNIST: 20×20 box, centre of mass" : "centred as Fashion-MNIST: fills the 28×28 frame";
  $("test-row").hidden = !d.has_test_set;
  $("detail").hidden = true; S.sel = null;
  // nothing of the previous model stays: its job, explanation, attack and class model
  if (job) call(`/api/jobs/${job}/cancel`, {}).catch(() => {});
  job = null; $("cm-cancel").disabled = true; $("cm-start").disabled = false; $("cm-progress").value = 0;
  for (const id of ["ex-out", "at-out", "cm-out", "pred", "maps", "scene-out", "legend", "scene-note"]) $(id).replaceChildren();
  if (d.has_test_set) await loadTest(0);
  else { clearCanvas(); setImage(blankImage(h, w), null, true); }
}

// ---- input ------------------------------------------------------------------------------
function blankImage(h, w) {
  const c = el("canvas", { width: w, height: h }); const g = c.getContext("2d");
  g.fillStyle = "#808080"; g.fillRect(0, 0, w, h); return c.toDataURL("image/png");
}

async function loadTest(index) {
  const t = await call(`/api/test-image?${q({ index })}`);
  $("test-index").value = t.index; $("test-index").max = t.n - 1;
  setImage(t.image, t.label, true, t.class);
}

function setImage(dataUrl, truth, settled, text = null) {
  S.image = dataUrl; S.truth = truth; // text: a captioner's true caption
  $("truth").textContent = truth !== null ? `true label: ${truth}: ${S.desc.classes[truth]}` :
    text !== null ? `true caption: ${text}` : "";
  refresh(settled);
}

let inflight = false, pending = null;
async function refresh(settled) {
  // while drawing, drop intermediate frames: at most one request in flight, the latest next
  if (inflight) { pending = pending || settled; return; }
  inflight = true;
  try {
    if (S.task === "classify") {
      const p = await call("/api/predict", { image: S.image, topk: 5 });
      S.pred = p.top[0].index;
      $("input-img").src = p.input;
      drawBars($("pred"), p.top, S.truth);
    } else {
      const r = await call("/api/scene", { image: S.image });
      $("input-img").src = r.input;
      drawScene(r);
    }
    const f = await call("/api/features", { image: S.image });
    drawMaps(f.layers);
    if (S.sel) await showDetail(S.sel.layer, S.sel.channel, S.sel.unit);
    if (settled && !$("explain-panel").hidden) await explain();
    if (settled && S.task === "classify") await attack();
  } catch (e) { /* shown in the error bar */ } finally {
    inflight = false;
    if (pending !== null) { const s = pending; pending = null; refresh(s); }
  }
}

function drawBars(ol, top, truth) {
  ol.replaceChildren();
  top.forEach((t, k) => {
    const bar = el("i"); bar.style.width = `${(100 * t.p).toFixed(1)}%`; // CSSOM: allowed by the CSP
    ol.append(el("li", { class: (k === 0 ? "top " : "") + (t.index === truth ? "truth" : "") },
      el("span", { title: t.class }, t.class), el("span", { class: "bar" }, bar),
      el("span", {}, `${(100 * t.p).toFixed(1)}%`)));
  });
}

// ---- scenes: one renderer per task (the answer's shape is in cnnlab/serve/scene.py) --------
const hex = (c) => (/^#[0-9a-fA-F]{6}$/.test(c) ? c : "#888888"); // a colour, never anything else
const pct = (f) => `${(100 * f).toFixed(1)}%`;
function swatch(colour) { const s = el("span", { class: "swatch" }); s.style.backgroundColor = hex(colour); return s; }
const SCENES = {
  segment(r) {
    $("scene-title").textContent = "Predicted mask";
    $("scene-out").replaceChildren(fig(r.overlay, "mask over the input"), fig(r.mask, "mask"));
    $("legend").replaceChildren(...r.legend.map((c) => {
      const li = el("li", { "data-class": c.index, title: "Grad-CAM of this class" },
        swatch(c.colour), `${c.index}: ${c.class}`, el("span", { class: "small" }, pct(c.fraction)));
      li.onclick = () => { $("ex-target").value = String(c.index); explain().catch(() => {}); };
      return li;
    }));
    $("scene-note").textContent = r.legend.length ? `mean confidence ${fmt(r.confidence, 3)}` : "background everywhere";
  },
  detect(r) {
    $("scene-title").textContent = "Detected objects";
    const [, H, W] = S.desc.input_shape, c = el("canvas", { width: 4 * W, height: 4 * H }), cg = c.getContext("2d");
    const img = new Image();
    img.onload = () => {
      cg.imageSmoothingEnabled = false; cg.drawImage(img, 0, 0, c.width, c.height);
      cg.font = "12px system-ui"; cg.lineWidth = 2;
      for (const b of r.boxes) {
        const [x1, y1, x2, y2] = b.box.map((v) => 4 * v);
        cg.strokeStyle = cg.fillStyle = hex(b.colour); cg.strokeRect(x1, y1, x2 - x1, y2 - y1);
        cg.fillText(`${b.class} ${fmt(b.score, 2)}`, x1 + 2, Math.max(12, y1 - 3)); // canvas text: never markup
      }
    };
    img.src = r.input;
    $("scene-out").replaceChildren(c);
    $("legend").replaceChildren(...r.boxes.map((b) => el("li", {}, swatch(b.colour), `${b.class}`,
      el("span", { class: "small" }, `score ${fmt(b.score, 3)}`))));
    $("scene-note").textContent = `${r.boxes.length} boxes`;
  },
  caption(r) {
    $("scene-title").textContent = "Caption";
    $("scene-out").replaceChildren(el("p", { class: "words" }, el("b", {}, r.words.join(" ") || "(empty)")),
      ...(r.attention || []).map((src, i) => fig(src, r.words[i] ?? "<end>"))); // one map per written word
    $("legend").replaceChildren();
    $("scene-note").textContent = (r.attention?.length ? "where the attention looked for each word; " : "no attention maps (no attention in this model); ") +
      `beam ${r.beam}, log-probability ${fmt(r.log_prob, 2)}`;
  },
};
function drawScene(r) {
  const show = SCENES[r.task];
  if (show) show(r);
  else { $("scene-out").replaceChildren(); $("scene-note").textContent = `no view for task ${r.task}`; }
}

// drawing: white strokes on black, as the data sets show objects
const cv = $("draw"), g = cv.getContext("2d");
function clearCanvas() { g.fillStyle = "#000"; g.fillRect(0, 0, cv.width, cv.height); }
let drawing = false, last = null, lastSent = 0;
const pos = (e) => { const r = cv.getBoundingClientRect(); return [(e.clientX - r.left) * cv.width / r.width, (e.clientY - r.top) * cv.height / r.height]; };
cv.onpointerdown = (e) => { drawing = true; last = pos(e); cv.setPointerCapture(e.pointerId); stroke(e); };
cv.onpointermove = (e) => { if (drawing) stroke(e); };
cv.onpointerup = () => { drawing = false; setImage(centred(), null, true); };
function stroke(e) {
  const p = pos(e);
  g.strokeStyle = "#fff"; g.lineWidth = 22; g.lineCap = "round";
  g.beginPath(); g.moveTo(...last); g.lineTo(...p); g.stroke(); last = p;
  const now = performance.now();
  if (now - lastSent > 120) { lastSent = now; setImage(centred(), null, false); }
}
$("clear").onclick = () => { clearCanvas(); setImage(centred(), null, true); };

// the drawing as the data set's 28x28 images are made: MNIST fits the digit's box in 20x20
// and puts its centre of mass at the centre; Fashion-MNIST scales the object's box to fill
// the frame (longest side 28), centred
function centred() {
  const [, H, W] = S.desc.input_shape;
  if (S.task !== "classify") { // a scene: items where they were drawn, the canvas resized
    const out = el("canvas", { width: W, height: H }), o = out.getContext("2d");
    o.imageSmoothingQuality = "high"; o.drawImage(cv, 0, 0, W, H);
    return out.toDataURL("image/png");
  }
  const px = g.getImageData(0, 0, cv.width, cv.height).data;
  let x0 = cv.width, y0 = cv.height, x1 = -1, y1 = -1;
  for (let y = 0; y < cv.height; y++) for (let x = 0; x < cv.width; x++)
    if (px[4 * (y * cv.width + x)] > 0) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const out = el("canvas", { width: W, height: H }), o = out.getContext("2d");
  o.fillStyle = "#000"; o.fillRect(0, 0, W, H);
  if (x1 < 0) return out.toDataURL("image/png");
  const mnist = S.desc.data === "mnist" || S.desc.data === "mnist-subset";
  const box = mnist ? 20 * H / 28 : H, bw = x1 - x0 + 1, bh = y1 - y0 + 1, s = box / Math.max(bw, bh);
  const sw = bw * s, sh = bh * s;
  o.imageSmoothingQuality = "high";
  if (!mnist) { o.drawImage(cv, x0, y0, bw, bh, (W - sw) / 2, (H - sh) / 2, sw, sh); return out.toDataURL("image/png"); }
  const t = el("canvas", { width: W, height: H }), tg = t.getContext("2d");
  tg.drawImage(cv, x0, y0, bw, bh, 0, 0, sw, sh);
  const d = tg.getImageData(0, 0, W, H).data; let m = 0, mx = 0, my = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) { const v = d[4 * (y * W + x)]; m += v; mx += v * (x + .5); my += v * (y + .5); }
  o.drawImage(t, Math.round(W / 2 - mx / m), Math.round(H / 2 - my / m));
  return out.toDataURL("image/png");
}

$("upload").onchange = (e) => {
  const f = e.target.files[0]; if (!f) return;
  const r = new FileReader(); r.onload = () => setImage(r.result, null, true); r.readAsDataURL(f);
};
$("test-load").onclick = () => loadTest(+$("test-index").value);
$("test-random").onclick = () => loadTest(Math.floor(Math.random() * (+$("test-index").max + 1 || 10000)));

// ---- inside the network -----------------------------------------------------------------
const TILE = 34; // px per feature-map tile
function drawMaps(layers) {
  S.layers = layers;
  const box = $("maps"); box.replaceChildren();
  for (const L of layers) {
    const total = L.shape.length === 3 ? L.shape[0] : 1;
    const div = el("div", { class: "layer", id: `layer-${L.index}` }, el("h3", {}, el("b", {}, L.name),
      ` ${L.type} · ${L.shape.join("×")}${L.channels < total ? ` (first ${L.channels} channels)` : ""}`));
    const tiles = el("div", { class: "tiles" });
    const [h, w] = L.tile, strip = L.shape.length !== 3;
    const tw = TILE, th = Math.max(1, Math.round(TILE * h / w));
    for (let ch = 0; ch < L.channels; ch++) {
      const t = el("div", { class: "tile" + (strip ? " strip" : ""), "data-channel": ch,
        title: `channel ${ch}: ${fmt(L.ranges[ch][0], 3)} … ${fmt(L.ranges[ch][1], 3)}` });
      t.style.backgroundImage = `url(${L.sprite})`;
      if (strip) t.style.backgroundSize = "100% 100%";
      else {
        t.style.width = `${tw}px`; t.style.height = `${th}px`;
        t.style.backgroundSize = `${tw}px ${th * L.channels}px`; t.style.backgroundPosition = `0 -${ch * th}px`;
      }
      if (S.sel && S.sel.layer === L.index && S.sel.channel === ch) t.classList.add("sel");
      t.onclick = () => showDetail(L.index, ch, null).then(() => $("detail").scrollIntoView({ block: "nearest" }));
      tiles.append(t);
    }
    div.append(tiles); box.append(div);
  }
}

async function spriteImage(L) {
  if (!L.img) { L.img = new Image(); L.img.src = L.sprite; await L.img.decode(); }
  return L.img;
}

async function showDetail(layer, channel, unit) {
  const L = S.layers[layer]; if (!L) return;
  S.sel = { layer, channel, unit };
  document.querySelectorAll("#maps .tile.sel").forEach((i) => i.classList.remove("sel"));
  document.querySelector(`#layer-${layer} .tile[data-channel="${spatialChannel(L, channel)}"]`)?.classList.add("sel");
  $("detail").hidden = false;
  const spatial = L.shape.length === 3, [h, w] = spatial ? L.shape.slice(1) : [1, L.shape[L.shape.length - 1]];
  $("detail-title").textContent = spatial ? `${L.name}, channel ${channel} (${h}×${w})` : `${L.name} (${w} values)`;
  const big = $("big"), bg = big.getContext("2d"), cell = Math.max(1, Math.floor(280 / Math.max(h, w)));
  big.width = w * cell; big.height = h * cell;
  const img = await spriteImage(L), k = spatialChannel(L, channel);
  bg.imageSmoothingEnabled = false; bg.drawImage(img, 0, k * h, w, h, 0, 0, big.width, big.height);
  big.onclick = (e) => {
    const r = big.getBoundingClientRect();
    const col = Math.floor((e.clientX - r.left) * big.width / r.width / cell), row = Math.floor((e.clientY - r.top) * big.height / r.height / cell);
    showDetail(layer, spatial ? channel : col, [row, col]);
  };
  const [row, col] = unit || [0, 0];
  if (unit) { bg.strokeStyle = "#e8453c"; bg.lineWidth = 2; bg.strokeRect(col * cell + 1, row * cell + 1, cell - 2, cell - 2); }
  await showFilters(layer);
  showTopImages(layer, spatial ? channel : (unit ? unit[1] : null));
  if (!unit) { $("unit-info").textContent = "click a unit"; $("arith").replaceChildren(); drawRF(null); return; }
  const u = await call("/api/unit", { image: S.image, layer, channel: spatial ? channel : col, row: spatial ? row : 0, col: spatial ? col : 0 });
  $("unit-info").replaceChildren(`unit (${spatial ? `${channel}, ${row}, ${col}` : col}) = `, el("b", {}, fmt(u.value)),
    u.rf ? `; receptive field rows ${u.rf.rows[0]}–${u.rf.rows[1]}, cols ${u.rf.cols[0]}–${u.rf.cols[1]}` : "");
  drawRF(u.rf);
  if (spatial && layer === S.desc.first_conv) await showArithmetic(channel, row, col);
  else $("arith").replaceChildren();
}

const spatialChannel = (L, channel) => (L.shape.length === 3 ? channel : 0);

function drawRF(rf) {
  const c = $("input-rf"), cg = c.getContext("2d"); cg.clearRect(0, 0, c.width, c.height);
  if (!rf) return;
  const [, H, W] = S.desc.input_shape, sx = c.width / W, sy = c.height / H;
  cg.strokeStyle = "#e8453c"; cg.lineWidth = 2; cg.fillStyle = "rgba(232,69,60,.15)";
  const x = rf.cols[0] * sx, y = rf.rows[0] * sy, w = (rf.cols[1] - rf.cols[0] + 1) * sx, h = (rf.rows[1] - rf.rows[0] + 1) * sy;
  cg.fillRect(x, y, w, h); cg.strokeRect(x + 1, y + 1, w - 2, h - 2);
}

async function showFilters(layer) {
  const L = S.layers[layer];
  if (!S.desc.layers[layer].conv) { $("filters-box").hidden = true; return; }
  const f = await call(`/api/filters?${q({ layer })}`);
  $("filters-box").hidden = false;
  $("filters-box").querySelector("h3").textContent = `Filters ${f.shape.join("×")}`;
  const box = $("filters"); box.replaceChildren();
  f.tiles.forEach((src, i) => box.append(el("img", { src, title: `filter ${i}`, class: i === S.sel.channel ? "sel" : "" })));
}

// the test images that excite the chosen channel (or vector unit) most; fetched once per choice
async function showTopImages(layer, channel) {
  const key = `${S.model}:${layer}:${channel}`;
  if (!S.desc.has_test_set || channel === null) { $("top-box").hidden = true; S.topKey = null; return; }
  if (S.topKey === key) return;
  S.topKey = key; $("top-box").hidden = false;
  $("top-title").textContent = "Test images that excite it most (searching…)"; $("top").replaceChildren();
  let t;
  try { t = await call(`/api/top-images?${q({ layer, channel, k: 8, limit: 1000 })}`); } catch (e) { return; }
  if (S.topKey !== key) return;
  $("top-title").textContent = `Test images that excite channel ${channel} most (of the first ${t.searched})`;
  for (const im of t.images)
    $("top").append(el("img", { src: im.image, title: `#${im.index}: ${im.class ?? ""}, max ${fmt(im.score, 3)}`, alt: im.class ?? "" }));
}

async function showArithmetic(channel, row, col) {
  const a = await call("/api/arithmetic", { image: S.image, channel, row, col });
  const table = (m) => el("table", {}, ...m.map((r) => el("tr", {}, ...r.map((v) => el("td", {}, fmt(v, 2))))));
  const chans = a.window.length > 3 ? 1 : a.window.length;
  const cells = el("div", { class: "row" });
  for (let c = 0; c < chans; c++) cells.append(
    el("div", {}, el("div", { class: "small" }, `window of the layer's input${chans > 1 ? ", ch " + c : ""}`), table(a.window[c])),
    el("div", {}, el("div", { class: "small" }, `filter${chans > 1 ? " ch " + c : ""}`), table(a.weight[c])));
  $("arith").replaceChildren(el("h3", {}, `${a.name}: one output value`), cells,
    el("div", { class: "eq" }, `Σ window × filter = ${fmt(a.dot)}`, el("br"),
      `+ bias ${a.has_bias ? fmt(a.bias) : "0 (the layer has none)"}`, el("br"), "= ", el("b", {}, fmt(a.value)),
      `\u00a0 (the layer's output: ${fmt(a.activation)})`),
    el("div", { class: "small" }, `stride ${a.stride.join("×")}, padding ${a.padding.join("×")}${a.window.length > 3 ? `; ${a.window.length} input channels, the first shown` : ""}`));
}

// ---- explanations and attacks -----------------------------------------------------------
const fig = (src, cap) => el("figure", {}, el("img", { src, alt: cap }), el("figcaption", {}, cap));
// the latest request wins: an older answer that arrives late is dropped
const seq = { explain: 0, attack: 0 };
async function explain() {
  const my = ++seq.explain;
  const e = await call("/api/explain", { image: S.image, method: $("ex-method").value, target: $("ex-target").value });
  if (my !== seq.explain) return;
  $("ex-out").replaceChildren(fig($("input-img").src, "input"), fig(e.map, `${e.method}`),
    fig(e.overlay, `overlay: class ${e.target} (${e.class})`));
}
async function attack() {
  const my = ++seq.attack;
  const a = await call("/api/attack", { image: S.image, method: $("at-method").value, eps: +$("at-eps").value, steps: +$("at-steps").value, target: $("at-target").value });
  if (my !== seq.attack) return;
  // what the bars show decides the verdict: fooled when the new top class is the target (or,
  // untargeted, differs from the clean prediction)
  const now = a.top[0].index, fooled = a.target === null ? now !== a.clean_class : now === a.target;
  const verdict = fooled ? el("span", { class: "fooled" }, "(fooled)") : (now === a.clean_class ? "(unchanged)" : "(changed, not to the target)");
  const bars = el("ol", { class: "bars", id: "at-pred" });
  $("at-out").replaceChildren(
    fig(a.adversarial, a.method === "fgsm" || a.method === "pgd" ? `adversarial (ε ${fmt(a.eps, 3)})` : "adversarial"),
    fig(a.difference, `difference ×${a.linf > 0 ? fmt(0.5 / a.linf, 1) : "–"}`),
    el("div", {}, el("h3", {}, "New prediction ", verdict), bars,
      el("p", { class: "small" }, `${a.method}${a.method === "pgd" ? `, ${a.steps} steps` : ""}: L∞ ${fmt(a.linf, 3)}, L2 ${fmt(a.l2, 3)}, ${a.changed_pixels} pixels changed`)));
  drawBars(bars, a.top, S.truth);
}
const safe = (f) => () => f().catch(() => {});
$("ex-method").onchange = safe(explain); $("ex-target").onchange = safe(explain);
$("at-method").onchange = safe(attack); $("at-target").onchange = safe(attack); $("at-steps").onchange = safe(attack);
$("at-eps").oninput = () => { $("at-eps-v").textContent = fmt($("at-eps").value, 3); };
$("at-eps").onchange = safe(attack);

// class models run as a job on the server: start, poll the progress, cancel
let job = null;
async function classModel() {
  const j = await call("/api/class-model", { target: $("cm-target").value, steps: +$("cm-steps").value });
  job = j.job; $("cm-cancel").disabled = false; $("cm-start").disabled = true;
  while (job === j.job) {
    const st = await call(`/api/jobs/${j.job}`);
    if (job !== j.job) return; // another model was picked while this poll was out
    $("cm-progress").max = st.total || 1; $("cm-progress").value = st.done;
    if (st.state === "running") { await new Promise((r) => setTimeout(r, 250)); continue; }
    job = null; $("cm-cancel").disabled = true; $("cm-start").disabled = false;
    if (st.state === "done") {
      const r = st.result;
      $("cm-out").replaceChildren(fig(r.image, `class ${r.target} (${r.class}): p = ${fmt(r.probability, 3)} after ${r.steps} steps`));
    } else $("cm-out").replaceChildren(el("p", { class: "small" }, `${st.state}${st.error ? ": " + st.error : ""}`));
  }
}
$("cm-start").onclick = safe(classModel);
$("cm-cancel").onclick = () => { if (job) call(`/api/jobs/${job}/cancel`, {}).catch(() => {}); };

clearCanvas();
loadModels().catch(() => {});
