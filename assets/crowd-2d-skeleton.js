/*
 * <crowd-2d-skeleton>: label human poses (or any keypoint rig) on one image for
 * SageMaker Ground Truth. A dependency-free classic script: load it with
 * <script src>, or fetch it and inject it as an inline script (classic or module),
 * as the public component's loader does. Attribute API compatible with the public
 * crowd-2d-skeleton; the worker's answer is written into the enclosing
 * <crowd-form> (or <form>) as hidden inputs named by the worker-submission
 * contract (docs/contracts.md; handlers/submission.py reads them, a test ties the
 * two lists). Everything taken from attributes reaches the page as
 * text (textContent, canvas text, CSSOM), never as HTML.
 */
(() => {
  "use strict";

  const TAG = "crowd-2d-skeleton";
  if (customElements.get(TAG)) return;

  const SETTINGS_KEY = `${TAG}:settings:v1`;
  // The worker-submission fields: handlers.submission.SUBMISSION_FIELDS, in order.
  const FIELDS = [
    "updated_annotations",
    "original_annotations",
    "image_s3_uri",
    "image_name",
    "image_width",
    "image_height",
    "no_changes_needed",
    "total_time_in_seconds",
  ];
  // Distinct hues for uniqueSkeletonColors="true" (Tableau 10, reordered so
  // neighbours differ most).
  const PALETTE = ["#E15759", "#4E79A7", "#59A14F", "#F28E2B", "#B07AA1",
    "#76B7B2", "#EDC948", "#FF9DA7", "#9C755F", "#BAB0AC"];
  const LINE_COLOR = "#F4F4F4";
  const DRAG_THRESHOLD = 4; // CSS px a press may wander and still be a click
  const HIT_SLOP = 4; // CSS px around a marker that still grabs it for a drag
  const MAX_HISTORY = 500;
  const VISIBLE = 2;
  const OCCLUDED = 1;

  // One table drives the key handling, the in-component help and the README.
  const KEYS = [
    ["Click", "place the next keypoint (a click on an empty image starts a person)"],
    ["Shift+Click", "place the next keypoint as occluded (COCO v=1)"],
    ["N", "skip the next keypoint: not in the image"],
    ["O", "toggle occluded on the selected keypoint"],
    ["Drag a keypoint", "move it; Shift+drag moves the whole skeleton"],
    ["V, then drag", "place a whole skeleton from the template box"],
    ["B", "start a new person with the next click"],
    ["W / S", "previous / next keypoint class (↑ / ↓ when nothing is selected)"],
    ["A / D", "previous / next unplaced keypoint (← / → when nothing is selected)"],
    ["1 … 9, 0", "choose keypoint class 1 … 10 as the next to place"],
    ["Arrows", "nudge the selected keypoint 1 px (Shift: 10 px)"],
    ["Delete / Backspace", "delete the selected keypoint (Shift: its whole skeleton)"],
    ["F", "mirror the selected skeleton's left/right labels"],
    ["G", "swap the selected keypoint with its left/right counterpart"],
    ["H", "hide / show the selected skeleton"],
    ["M", "hide / show all skeletons"],
    ["Ctrl/Cmd+Z or ,", "undo"],
    ["Shift+Ctrl/Cmd+Z, Ctrl+Y or .", "redo"],
    ["Wheel, C / +, X / −", "zoom in and out around the pointer"],
    ["Z", "fit the image"],
    ["Drag the image, Space+drag, right- or middle-drag", "pan"],
    ["Esc", "cancel: deselect, leave whole-skeleton mode"],
    ["Q", "back to placing keypoints"],
  ];

  // ---------------------------------------------------------------- validation
  class AttributeError extends Error {}

  const show = (v) => {
    const s = JSON.stringify(v);
    if (s === undefined) return String(v);
    return s.length > 60 ? `${s.slice(0, 57)}…` : s;
  };
  const fail = (path, message) => {
    throw new AttributeError(`${path}: ${message}`);
  };
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

  function parseJson(text, attr) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return fail(attr, `not valid JSON (${e.message})`);
    }
  }
  function label(v, path) {
    if (typeof v !== "string" || !v.trim()) fail(path, `expected a non-empty string, got ${show(v)}`);
    return v;
  }
  function number(v, path) {
    if (typeof v !== "number" || !Number.isFinite(v)) fail(path, `expected a number, got ${show(v)}`);
    return v;
  }
  function color(v, path) {
    if (v === undefined || v === null || v === "") return null;
    if (typeof v !== "string" || !CSS.supports("color", v)) {
      fail(path, `expected a CSS colour such as "#D62728", got ${show(v)}`);
    }
    return v;
  }
  function list(v, path, what) {
    if (!Array.isArray(v)) fail(path, `expected a list of ${what}, got ${show(v)}`);
    return v;
  }

  function parseClasses(text) {
    const A = "keypointClasses";
    if (text === null || !text.trim()) fail(A, "missing; it lists the keypoints to place, in order");
    const raw = list(parseJson(text, A), A, "keypoint classes");
    if (!raw.length) fail(A, "the list is empty");
    const seen = new Map();
    const classes = raw.map((c, i) => {
      const at = `${A}[${i}]`;
      if (!isObject(c)) fail(at, `expected an object with label, x and y, got ${show(c)}`);
      const name = label(c.label, `${at}.label`);
      if (seen.has(name)) fail(`${at}.label`, `duplicate label ${show(name)} (also ${A}[${seen.get(name)}])`);
      seen.set(name, i);
      const hasXY = c.x !== undefined || c.y !== undefined;
      return {
        label: name,
        color: color(c.color, `${at}.color`),
        x: hasXY ? number(c.x, `${at}.x`) : null,
        y: hasXY ? number(c.y, `${at}.y`) : null,
        mirror: c.mirror === undefined || c.mirror === null ? null : label(c.mirror, `${at}.mirror`),
      };
    });
    const byLabel = new Map(classes.map((c) => [c.label, c]));
    classes.forEach((c, i) => {
      if (c.mirror === null) return;
      const other = byLabel.get(c.mirror);
      const at = `${A}[${i}].mirror`;
      if (!other) fail(at, `${show(c.mirror)} is not a label in ${A}`);
      if (other === c) fail(at, "a keypoint cannot mirror itself");
      if (other.mirror !== null && other.mirror !== c.label) {
        fail(at, `${show(c.mirror)} mirrors ${show(other.mirror)}, not ${show(c.label)}`);
      }
    });
    for (const c of classes) {
      if (c.mirror !== null) byLabel.get(c.mirror).mirror = c.label;
    }
    // Like the rig model: left_X <-> right_X when no explicit counterpart is given.
    for (const c of classes) {
      if (c.mirror !== null) continue;
      const m = /^(left|right)_(.+)$/.exec(c.label);
      const other = m && byLabel.get(`${m[1] === "left" ? "right" : "left"}_${m[2]}`);
      if (other && other.mirror === null) {
        c.mirror = other.label;
        other.mirror = c.label;
      }
    }
    return classes;
  }

  function parseRig(text, byLabel) {
    const A = "skeletonRig";
    if (text === null || !text.trim()) return [];
    return list(parseJson(text, A), A, "[label, label, colour?] lines").map((line, i) => {
      const at = `${A}[${i}]`;
      if (!Array.isArray(line) || line.length < 2 || line.length > 3) {
        fail(at, `expected [label, label] or [label, label, colour], got ${show(line)}`);
      }
      for (const j of [0, 1]) {
        label(line[j], `${at}[${j}]`);
        if (!byLabel.has(line[j])) fail(`${at}[${j}]`, `${show(line[j])} is not a label in keypointClasses`);
      }
      if (line[0] === line[1]) fail(at, `a line needs two different keypoints, got ${show(line[0])} twice`);
      return { a: line[0], b: line[1], color: color(line[2], `${at}[2]`) };
    });
  }

  function parseBox(text, classes) {
    const A = "skeletonBoundingBox";
    const placed = classes.filter((c) => c.x !== null);
    if (placed.length !== classes.length) return null; // no template positions: no whole-skeleton tool
    if (text === null || !text.trim()) {
      const xs = placed.map((c) => c.x);
      const ys = placed.map((c) => c.y);
      const box = { left: Math.min(...xs), top: Math.min(...ys), right: Math.max(...xs), bottom: Math.max(...ys) };
      return box.right > box.left && box.bottom > box.top ? box : null;
    }
    const raw = parseJson(text, A);
    if (!isObject(raw)) fail(A, `expected an object with left, top, right, bottom, got ${show(raw)}`);
    const box = {
      left: raw.left === undefined ? 0 : number(raw.left, `${A}.left`),
      top: raw.top === undefined ? 0 : number(raw.top, `${A}.top`),
      right: number(raw.right, `${A}.right`),
      bottom: number(raw.bottom, `${A}.bottom`),
    };
    if (box.right <= box.left || box.bottom <= box.top) fail(A, "right must exceed left and bottom must exceed top");
    return box;
  }

  function parseColors(text) {
    const A = "uniqueSkeletonColors";
    if (text === null || !text.trim() || text.trim() === "false") return null;
    if (text.trim() === "true") return PALETTE;
    const raw = list(parseJson(text, A), A, "colours (or true)");
    if (!raw.length) fail(A, "the list is empty");
    return raw.map((c, i) => color(label(c, `${A}[${i}]`), `${A}[${i}]`));
  }

  function parseIssues(text) {
    const A = "annotationIssues";
    if (text === null || !text.trim()) return [];
    return list(parseJson(text, A), A, '{"reason": text} objects').map((issue, i) => {
      if (typeof issue === "string") return issue;
      if (!isObject(issue)) fail(`${A}[${i}]`, `expected {"reason": text}, got ${show(issue)}`);
      return label(issue.reason, `${A}[${i}].reason`);
    });
  }

  // Pre-annotations: [{name?, annotations: [{label, x, y, visibility?}], ...extra}].
  // Unknown labels are kept aside (and reported) so the submission loses nothing.
  function parseInitial(text, byLabel, warnings) {
    const A = "initialValues";
    if (text === null || !text.trim() || text.trim() === "null") return [];
    let raw = parseJson(text, A);
    if (typeof raw === "string") raw = parseJson(raw, A); // tolerate one extra level of JSON encoding
    if (raw === null) return [];
    return list(raw, A, "skeletons").map((s, i) => {
      const at = `${A}[${i}]`;
      if (!isObject(s)) fail(at, `expected a skeleton {name, annotations}, got ${show(s)}`);
      const { name = "", annotations, ...extra } = s;
      if (typeof name !== "string") fail(`${at}.name`, `expected a string, got ${show(name)}`);
      const points = new Map();
      const skipped = new Set(); // visibility 0: COCO's "not labeled", kept as "not in image"
      const unknown = [];
      list(annotations, `${at}.annotations`, "keypoints").forEach((p, j) => {
        const pat = `${at}.annotations[${j}]`;
        if (!isObject(p)) fail(pat, `expected {label, x, y}, got ${show(p)}`);
        const { label: l, x, y, visibility = VISIBLE, ...rest } = p;
        label(l, `${pat}.label`);
        number(x, `${pat}.x`);
        number(y, `${pat}.y`);
        if (![0, 1, 2].includes(visibility)) fail(`${pat}.visibility`, `expected 0, 1 or 2, got ${show(visibility)}`);
        if (!byLabel.has(l)) {
          unknown.push(p);
          warnings.push(`${pat}.label: ${show(l)} is not a keypoint of this rig; kept unchanged in the submission`);
        } else if (points.has(l)) {
          warnings.push(`${pat}.label: ${show(l)} appears twice in this skeleton; the first one is used`);
        } else if (visibility === 0) {
          skipped.add(l);
        } else {
          points.set(l, { x, y, v: visibility, extra: rest });
        }
      });
      return { name, points, skipped, unknown, extra };
    });
  }

  // ------------------------------------------------------------------ helpers
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  // "https://bucket.s3.region.amazonaws.com/key?X-Amz-..." -> "s3://bucket/key" (also
  // path-style URLs); used only when a template written for the public component
  // gives no imageS3Uri. Anything else: the URL without its query string.
  function s3UriFromUrl(url) {
    if (!url) return "";
    if (url.startsWith("s3://")) return url;
    try {
      const u = new URL(url, location.href);
      const path = decodeURIComponent(u.pathname.slice(1));
      const host = /^(.+)\.s3[.-]([a-z0-9-]+\.)?amazonaws\.com$/.exec(u.hostname);
      if (host) return `s3://${host[1]}/${path}`;
      if (/^s3[.-]([a-z0-9-]+\.)?amazonaws\.com$/.test(u.hostname)) return `s3://${path}`;
      return `${u.origin}${u.pathname}`;
    } catch {
      return url.split("?")[0];
    }
  }

  // The image's file name: an S3 key's last segment as it is (keys are raw text:
  // "100%.jpg" is a valid name), a URL's decoded.
  function fileName(uri) {
    const last = uri.split("/").pop() || "";
    if (uri.startsWith("s3://")) return last;
    try {
      return decodeURIComponent(last);
    } catch {
      return last;
    }
  }

  // ---------------------------------------------------------- left/right swaps
  // The same three tests as the post-annotation QA (handlers/qa.py) with the same
  // thresholds, so the worker and the reviewer are told the same thing. This line is
  // handlers/swap_rules.json verbatim (a test keeps them equal).
  const SWAP_RULES = {"crossed_ratio": 0.75, "crossed_min_gain": 0.05, "piece_min_length": 0.02, "piece_opposite_cos": -0.5};

  // From the rig: mirrored line pairs [a, b, a', b'], cross-pieces (left/right pairs
  // joined by a line of their own) and the other pairs ("limbs"), each with the line
  // pairs towards the body that judge it.
  function swapGeometry(pairs, lines) {
    const mirror = new Map(pairs.flatMap(([a, b]) => [[a, b], [b, a]]));
    const key = (a, b) => (a < b ? [a, b] : [b, a]).join("\u0000");
    const drawn = new Set(lines.map((l) => key(l.a, l.b)));
    const linePairs = [];
    const seen = new Set();
    for (const { a, b } of lines) {
      const ma = mirror.get(a);
      const mb = mirror.get(b);
      if (!ma || !mb) continue;
      const own = key(a, b);
      const other = key(ma, mb);
      if (own === other || !drawn.has(other) || seen.has(own)) continue;
      seen.add(own).add(other);
      linePairs.push([a, b, ma, mb]);
    }
    const pieces = pairs.filter(([l, r]) => drawn.has(key(l, r)));
    // Steps from the cross-pieces along the lines: a limb is judged on its lines
    // towards the body (hip-knee for the knees), where a swap starts.
    const depth = new Map(pieces.flat().map((l) => [l, 0]));
    for (let frontier = [...depth.keys()]; frontier.length;) {
      const next = [];
      for (const l of frontier) {
        for (const { a, b } of lines) {
          for (const [here, there] of [[a, b], [b, a]]) {
            if (here === l && !depth.has(there)) { depth.set(there, depth.get(l) + 1); next.push(there); }
          }
        }
      }
      frontier = next;
    }
    const limbs = pairs.filter((p) => !pieces.includes(p)).map(([l, r]) => {
      const incident = [...linePairs.keys()].filter((i) => linePairs[i].includes(l) || linePairs[i].includes(r));
      const level = depth.get(l);
      const towards = level === undefined ? [] : incident.filter((i) =>
        linePairs[i].some((end) => end !== l && end !== r && (depth.get(end) ?? level) < level));
      return [l, r, towards.length ? towards : incident];
    });
    return { linePairs, pieces, limbs };
  }

  // One skeleton's suspected swap ({lines, pairs}, as the QA flag lists them) or null.
  // `points`: label -> {x, y} of the labeled keypoints, as submitted.
  function findSwap(points, geo) {
    if (points.size < 3) return null;
    const R = SWAP_RULES;
    const pts = [...points.values()];
    const span = (k) => Math.max(...pts.map((p) => p[k])) - Math.min(...pts.map((p) => p[k]));
    const size = Math.hypot(span("x"), span("y"));
    if (!(size > 0)) return null;
    const d = (p, q) => Math.hypot(p.x - q.x, p.y - q.y);
    // [drawn, crossed] lengths of a line pair, or null when a point is missing.
    const lengths = (lp) => {
      const [pa, pb, pma, pmb] = lp.map((l) => points.get(l));
      return pa && pb && pma && pmb ? [d(pa, pb) + d(pma, pmb), d(pa, pmb) + d(pma, pb)] : null;
    };
    const vector = ([l, r]) => {
      const pl = points.get(l);
      const pr = points.get(r);
      return pl && pr ? { x: pr.x - pl.x, y: pr.y - pl.y } : null;
    };
    const lines = [];
    for (const lp of geo.linePairs) {
      const len = lengths(lp);
      if (len && len[1] < R.crossed_ratio * len[0] && len[0] - len[1] > R.crossed_min_gain * size) {
        lines.push(lp.slice(0, 2), lp.slice(2));
      }
    }
    const minLength = R.piece_min_length * size;
    const dirs = [];
    for (const pair of geo.pieces) {
      const v = vector(pair);
      const n = v && Math.hypot(v.x, v.y);
      if (v && n >= minLength && n > 0) dirs.push({ pair, x: v.x / n, y: v.y / n });
    }
    const opposite = (u, v) => u.x * v.x + u.y * v.y < R.piece_opposite_cos;
    const pairs = dirs.length < 2 ? []
      : dirs.filter((u) => dirs.filter((v) => opposite(u, v)).length * 2 > dirs.length - 1).map((u) => u.pair);
    let cx = 0;
    let cy = 0;
    for (const u of dirs) if (!pairs.includes(u.pair)) { cx += u.x; cy += u.y; }
    const norm = Math.hypot(cx, cy);
    if (norm) {
      for (const [l, r, incident] of geo.limbs) {
        const v = vector([l, r]);
        const along = v && v.x * cx + v.y * cy;
        if (!v || along >= 0) continue;
        const n = Math.hypot(v.x, v.y);
        if (n < minLength || along / (n * norm) >= R.piece_opposite_cos) continue;
        const gains = incident.map((i) => lengths(geo.linePairs[i])).filter(Boolean);
        if (gains.length && gains.reduce((sum, [a, b]) => sum + a - b, 0) > 0) pairs.push([l, r]);
      }
    }
    return lines.length || pairs.length ? { lines, pairs } : null;
  }

  // The QA flag's message, word for word.
  function swapText({ lines, pairs }) {
    const why = [];
    if (lines.length) why.push(`lines ${lines.map((l) => l.join("-")).join(", ")} cross over`);
    if (pairs.length) why.push(`${pairs.map((p) => p.join("/")).join(", ")} point the opposite way to the other left/right pairs`);
    return `left and right look swapped: ${why.join("; ")}`;
  }

  const STYLE = `
:host{display:block;position:relative;height:var(--crowd-2d-skeleton-height,calc(100vh - 24px));min-height:360px;
  font:13px/1.35 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f24;--accent:#0a66c2}
*{box-sizing:border-box}
[hidden]{display:none!important}
.root{display:grid;grid-template:auto 1fr auto/1fr 270px;height:100%;border:1px solid #c9ced6;background:#fff}
.bar,.foot{grid-column:1/3;display:flex;flex-wrap:wrap;gap:4px;align-items:center;padding:4px 6px;background:#f3f5f8}
.bar{border-bottom:1px solid #c9ced6}.foot{border-top:1px solid #c9ced6}
button{font:inherit;padding:3px 8px;border:1px solid #aeb6c2;border-radius:4px;background:#fff;color:inherit;cursor:pointer}
button:hover{background:#e8eef7}button[aria-pressed=true]{background:#dbe7f7;border-color:var(--accent)}
button:focus-visible,input:focus-visible,summary:focus-visible,.stage:focus-visible{outline:2px solid var(--accent);outline-offset:1px}
button:disabled{opacity:.5;cursor:default}
kbd{font:11px ui-monospace,monospace;padding:0 3px;border:1px solid #aeb6c2;border-radius:3px;background:#fff;color:#444}
.sep{width:1px;height:20px;background:#c9ced6;margin:0 2px}
.status,.status2{flex:1 1 0;min-width:0;color:#444;font-variant-numeric:tabular-nums;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.status{text-align:right}
.stage{position:relative;overflow:hidden;background:#2b2e33;touch-action:none;cursor:crosshair;outline:none;min-height:0}
.stage.pan{cursor:grab}.stage.panning{cursor:grabbing}.stage.box{cursor:cell}
.stage img{position:absolute;left:0;top:0;transform-origin:0 0;user-select:none;pointer-events:none;max-width:none}
.stage img.px{image-rendering:pixelated}
canvas{position:absolute;left:0;top:0;pointer-events:none}
.hint{position:absolute;left:0;top:0;pointer-events:none;padding:1px 6px;border-radius:3px;background:rgba(0,0,0,.78);color:#fff;
  font-size:12px;white-space:nowrap;will-change:transform}
.hint b{font-weight:600}.hint i{color:#ffd27a;font-style:normal}
.side{overflow:auto;border-left:1px solid #c9ced6;padding:6px}
.side h2{font-size:13px;margin:4px 0 6px}
.card{border:1px solid #d6dbe3;border-radius:5px;margin-bottom:6px}
.card.active{border-color:var(--accent);box-shadow:0 0 0 1px var(--accent)}
.head{display:flex;gap:3px;align-items:center;padding:3px}
.head input{flex:1;min-width:0;font:inherit;padding:2px 4px;border:1px solid transparent;border-radius:3px}
.head input:hover,.head input:focus{border-color:#aeb6c2}
.head button,.rows button.eye{padding:1px 5px}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;border:1px solid #0006;flex:none}
.count{font-size:11px;color:#555;font-variant-numeric:tabular-nums}
.rows{list-style:none;margin:0;padding:0 3px 3px}
.rows li{display:flex;gap:2px}
.row{flex:1;display:flex;gap:5px;align-items:center;text-align:left;border-color:transparent;padding:1px 4px;min-width:0}
.row .lbl{flex:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.row.next{border-color:var(--accent);background:#eef4fc}.row.sel{background:#ffe9b3}
.state{font-size:11px;color:#555}.state.missing{color:#b3261e}
.msgs{margin:0;padding:0 0 0 16px}
.warn{color:#7a4b00;background:#fff6dd;border:1px solid #f0d58c;border-radius:4px;padding:4px 6px;margin:0 0 6px}
.issues{color:#5b2a86;background:#f5eefc;border:1px solid #d7c3ee;border-radius:4px;padding:4px 6px;margin:0 0 6px}
.error{position:absolute;inset:12px;overflow:auto;background:#fdecea;border:1px solid #e5a29b;color:#8c1d18;border-radius:6px;padding:12px 16px}
.error h2{margin:0 0 6px;font-size:15px}
.confirm{position:absolute;right:8px;bottom:48px;max-width:420px;background:#fff;border:1px solid #aeb6c2;border-radius:6px;
  box-shadow:0 4px 18px #0004;padding:10px 12px;z-index:2}
.confirm p{margin:0 0 8px}
details{max-width:100%}summary{cursor:pointer;padding:2px 6px;border:1px solid transparent;border-radius:4px}
details[open]>.panel{position:absolute;z-index:3;top:34px;right:8px;width:min(620px,calc(100% - 16px));max-height:70%;overflow:auto;
  background:#fff;border:1px solid #aeb6c2;border-radius:6px;box-shadow:0 4px 18px #0004;padding:8px 12px}
.instr[open]>.panel,.insights[open]>.panel{left:8px;right:auto}
.keys{border-collapse:collapse;width:100%}.keys td{padding:2px 6px;vertical-align:top;border-bottom:1px solid #eef0f3}
.keys td:first-child{width:40%;font-weight:600}
label.check{display:inline-flex;gap:4px;align-items:center}
.submit{background:var(--accent);border-color:var(--accent);color:#fff;font-weight:600;padding:4px 16px}
.submit:hover{background:#084f96}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;

  const SHELL = `
<div class="root">
  <div class="bar" role="toolbar" aria-label="Labeling tools">
    <details class="instr" hidden><summary>Instructions</summary><div class="panel"><slot name="instructions"></slot></div></details>
    <details class="insights" hidden><summary>Annotation insights</summary><div class="panel"><slot name="annotation-insights"></slot></div></details>
    <button type="button" data-act="undo" disabled aria-label="Undo (Ctrl+Z)" title="Undo (Ctrl+Z or ,)">↶ Undo</button>
    <button type="button" data-act="redo" disabled aria-label="Redo (Shift+Ctrl+Z)" title="Redo (Shift+Ctrl+Z, Ctrl+Y or .)">↷ Redo</button>
    <span class="sep"></span>
    <button type="button" data-act="newPerson" title="Start a new person with the next click (B)">+ Skeleton <kbd>B</kbd></button>
    <button type="button" data-act="template" aria-pressed="false" title="Drag a box to place a whole skeleton (V)">Whole skeleton <kbd>V</kbd></button>
    <button type="button" data-act="skip" title="The next keypoint is not in the image (N)">Skip <kbd>N</kbd></button>
    <button type="button" data-act="occlude" title="Toggle occluded on the selected keypoint (O)">Occluded <kbd>O</kbd></button>
    <button type="button" data-act="mirror" title="Mirror left/right labels of the selected skeleton (F)">Mirror L/R <kbd>F</kbd></button>
    <button type="button" data-act="remove" title="Delete the selected keypoint (Delete)">Delete</button>
    <button type="button" data-act="hideAll" aria-pressed="false" title="Hide or show all skeletons (M)">Hide all <kbd>M</kbd></button>
    <span class="sep"></span>
    <button type="button" data-act="zoomOut" aria-label="Zoom out" title="Zoom out (X or −)">−</button>
    <button type="button" data-act="zoomIn" aria-label="Zoom in" title="Zoom in (C or +)">+</button>
    <button type="button" data-act="fit" aria-label="Fit image" title="Fit the image (Z)">Fit</button>
    <details class="help"><summary>Keys</summary><div class="panel"><table class="keys"></table></div></details>
    <details class="settings"><summary>Settings</summary><div class="panel">
      <label>Keypoint size <input type="range" name="radius" min="3" max="12" step="1"></label><br>
      <label>Line width <input type="range" name="line" min="1" max="6" step="1"></label>
    </div></details>
    <span class="status" aria-hidden="true"></span>
  </div>
  <div class="stage" tabindex="0" role="application" aria-roledescription="keypoint labeling image"
    aria-label="Image. Click to place the next keypoint; the list on the right names each keypoint.">
    <img alt="" draggable="false" decoding="async"><canvas></canvas><div class="hint" hidden></div>
    <div class="error" role="alert" hidden><h2>This task cannot be shown</h2><ul class="msgs"></ul>
      <p>Please report this task to the requester instead of submitting it.</p></div>
  </div>
  <aside class="side" aria-label="Skeletons">
    <ul class="issues msgs" aria-label="Reviewer notes" hidden></ul>
    <ul class="warn msgs" aria-live="polite" hidden></ul>
    <h2 class="people"></h2>
    <div class="cards"></div>
  </aside>
  <div class="foot">
    <span class="sr" aria-live="polite"></span>
    <label class="check"><input type="checkbox" name="no-changes"> No changes needed</label>
    <span class="status2"></span>
    <button type="button" class="submit" data-act="submit">Submit</button>
  </div>
  <div class="confirm" role="alertdialog" aria-labelledby="cf-msg" hidden>
    <p id="cf-msg"></p>
    <button type="button" data-act="confirmSubmit">Submit anyway</button>
    <button type="button" data-act="cancelSubmit">Keep labeling</button>
  </div>
</div>`;

  // ----------------------------------------------------------------- element
  class Crowd2dSkeleton extends HTMLElement {
    static get observedAttributes() {
      return ["imgsrc", "keypointclasses", "skeletonrig", "skeletonboundingbox", "initialvalues",
        "uniqueskeletoncolors", "annotationissues", "images3uri", "imagename"];
    }

    #ui = {};
    #abort = null; // aborts every listener added outside the shadow root
    #form = null;
    #configKey = null; // attribute snapshot the current state was built from
    #errors = [];
    #warnings = [];
    #issues = [];
    #ready = false;
    #readyAt = 0;
    // rig
    #classes = [];
    #byLabel = new Map();
    #lines = [];
    #swapGeo = null;
    #box = null;
    #colors = null;
    // image and view
    #w = 0;
    #h = 0;
    #s = 1; // screen px per image px
    #tx = 0;
    #ty = 0;
    #fitted = true; // keep fitting on resize until the worker zooms or pans
    #vw = 0;
    #vh = 0;
    // model (everything in #state is undoable)
    #state = { skeletons: [], cursor: null, selection: null, hideAll: false, serial: 0 };
    #original = [];
    #undo = [];
    #redo = [];
    #coalesce = null;
    #mode = "place";
    // interaction
    #gesture = null;
    #pointer = null; // last pointer position over the stage, CSS px
    #shift = false;
    #space = false;
    #frame = 0;
    #settings = { radius: 5, line: 2 };
    #confirmed = false;
    #suspects = new Map();

    constructor() {
      super();
      // Only the shadow tree here: createElement() must work before attributes exist.
      const root = this.attachShadow({ mode: "open" });
      const style = document.createElement("style");
      style.textContent = STYLE;
      const tpl = document.createElement("template");
      tpl.innerHTML = SHELL; // static markup, no data
      root.append(style, tpl.content);
      const q = (s) => root.querySelector(s);
      this.#ui = {
        root: q(".root"), stage: q(".stage"), img: q("img"), canvas: q("canvas"), hint: q(".hint"),
        error: q(".error"), errorList: q(".error .msgs"), warn: q(".warn"), issues: q(".issues"),
        cards: q(".cards"), people: q(".people"), status: q(".status"), status2: q(".status2"),
        live: q(".sr"), noChanges: q("input[name=no-changes]"), confirm: q(".confirm"),
        confirmMsg: q("#cf-msg"), keys: q(".keys"), submit: q(".submit"), instr: q(".instr"),
        insights: q(".insights"), template: q("[data-act=template]"), radius: q("input[name=radius]"), line: q("input[name=line]"),
      };
      for (const [k, d] of KEYS) {
        const tr = this.#ui.keys.insertRow();
        tr.insertCell().textContent = k;
        tr.insertCell().textContent = d;
      }
    }

    // ------------------------------------------------------------- lifecycle
    connectedCallback() {
      if (this.#abort) return; // already set up (connectedCallback may run twice)
      performance.mark(`${TAG}:connected`); // marks: where the time to ready goes (benchmarks/bench_ui.py)
      this.#abort = new AbortController();
      const signal = this.#abort.signal;
      const ui = this.#ui;
      const on = (target, type, fn, opts = {}) => target.addEventListener(type, fn, { signal, ...opts });
      on(document, "keydown", (e) => this.#onKeyDown(e));
      on(document, "keyup", (e) => this.#onKeyUp(e));
      on(window, "blur", () => { this.#space = false; this.#shift = false; this.#cursorStyle(); });
      on(ui.stage, "pointerdown", (e) => this.#onPointerDown(e));
      on(ui.stage, "pointermove", (e) => this.#onPointerMove(e));
      on(ui.stage, "pointerup", (e) => this.#onPointerUp(e));
      on(ui.stage, "pointercancel", (e) => this.#onPointerUp(e, true));
      on(ui.stage, "pointerleave", () => { this.#pointer = null; this.#updateHint(); this.#draw(); });
      on(ui.stage, "wheel", (e) => this.#onWheel(e), { passive: false });
      on(ui.stage, "contextmenu", (e) => e.preventDefault());
      on(ui.root, "click", (e) => this.#onClick(e));
      on(ui.root, "change", (e) => this.#onChange(e));
      // A slot with nothing in it hides its button, as in the public component. Ground
      // Truth streams the page, so the slotted element may be connected before its text
      // arrives: slotchange misses text added to an element already assigned, the
      // observer sees it.
      const syncSlots = () => {
        for (const box of [ui.instr, ui.insights]) {
          box.hidden = !box.querySelector("slot").assignedNodes().some((n) => n.textContent.trim());
        }
      };
      on(ui.root, "slotchange", syncSlots);
      const slotted = new MutationObserver(syncSlots);
      slotted.observe(this, { childList: true, subtree: true, characterData: true });
      signal.addEventListener("abort", () => slotted.disconnect());
      syncSlots();
      const resize = new ResizeObserver(() => this.#resize());
      resize.observe(ui.stage);
      signal.addEventListener("abort", () => resize.disconnect());
      this.#loadSettings();
      this.#form = this.closest("crowd-form, form");
      if (this.#form) on(this.#form, "submit", (e) => this.#onFormSubmit(e), { capture: true });
      ui.submit.hidden = !this.#form;
      this.#configure();
    }

    disconnectedCallback() {
      this.#abort?.abort();
      this.#abort = null;
      cancelAnimationFrame(this.#frame);
      this.#frame = 0;
      this.#gesture = null;
    }

    attributeChangedCallback() {
      if (this.#abort) queueMicrotask(() => this.#abort && this.#configure());
    }

    // -------------------------------------------------------------- public API
    /** The skeletons as they would be submitted (docs/contracts.md#skeleton). */
    get value() {
      return this.#out(this.#state.skeletons);
    }
    /** Everything a test or tool may want to inspect, as plain data. */
    get state() {
      const st = this.#state;
      return {
        ready: this.#ready, mode: this.#mode, errors: [...this.#errors], warnings: this.#warningTexts(),
        hideAll: st.hideAll, cursor: st.cursor && { ...st.cursor }, selection: st.selection && { ...st.selection },
        zoom: this.#s, width: this.#w, height: this.#h,
        skeletons: st.skeletons.map((s) => ({
          id: s.id, name: s.name, hidden: s.hidden, color: this.#skelColor(s),
          skipped: [...s.skipped], hiddenLabels: [...s.hiddenLabels], swap: this.#suspects.get(s.id) || null,
          points: Object.fromEntries([...s.points].map(([l, p]) => [l, { x: p.x, y: p.y, visibility: p.v }])),
        })),
      };
    }
    /** The hidden-input values written on submit, all strings. */
    get submission() {
      const skeletons = this.#out(this.#state.skeletons);
      const uri = this.getAttribute("imageS3Uri") || s3UriFromUrl(this.getAttribute("imgSrc"));
      const name = this.getAttribute("imageName") || fileName(uri);
      return {
        updated_annotations: JSON.stringify(skeletons),
        original_annotations: JSON.stringify(this.#out(this.#original)),
        image_s3_uri: uri,
        image_name: name,
        image_width: String(this.#w),
        image_height: String(this.#h),
        no_changes_needed: String(this.#ui.noChanges.checked),
        total_time_in_seconds: String(Math.max(0, Math.round((performance.now() - this.#readyAt) / 1000))),
      };
    }
    undo() { this.#history(this.#undo, this.#redo, "Undone"); }
    redo() { this.#history(this.#redo, this.#undo, "Redone"); }
    fit() { this.#fit(); }

    // ------------------------------------------------------------ configuration
    #configure() {
      // Reviewer notes may change without touching the worker's labels; anything else starts over.
      const key = this.constructor.observedAttributes.filter((a) => a !== "annotationissues")
        .map((a) => this.getAttribute(a)).join("\u0000");
      if (key === this.#configKey) {
        if (!this.#ready) return;
        try {
          this.#issues = parseIssues(this.getAttribute("annotationIssues"));
        } catch (e) {
          if (!(e instanceof AttributeError)) throw e;
          return this.#fatal([e.message]);
        }
        return this.#changed(false);
      }
      this.#configKey = key;
      this.#errors = [];
      this.#warnings = [];
      this.#ready = false;
      this.#undo = [];
      this.#redo = [];
      const attr = (n) => this.getAttribute(n);
      let initial = [];
      try {
        this.#classes = parseClasses(attr("keypointClasses"));
        this.#byLabel = new Map(this.#classes.map((c, i) => [c.label, i]));
        this.#lines = parseRig(attr("skeletonRig"), this.#byLabel);
        this.#swapGeo = swapGeometry(this.#mirrorPairs(), this.#lines);
        this.#box = parseBox(attr("skeletonBoundingBox"), this.#classes);
        this.#colors = parseColors(attr("uniqueSkeletonColors"));
        this.#issues = parseIssues(attr("annotationIssues"));
        initial = parseInitial(attr("initialValues"), this.#byLabel, this.#warnings);
        if (!attr("imgSrc")) fail("imgSrc", "missing; it must be the image URL (in Ground Truth: {{ task.input.image_s3_uri | grant_read_access }})");
      } catch (e) {
        if (!(e instanceof AttributeError)) throw e;
        return this.#fatal([e.message]);
      }
      const st = { skeletons: [], cursor: null, selection: null, hideAll: false, serial: 0 };
      for (const s of initial) {
        const sk = this.#newSkeleton(st, s.name);
        sk.points = s.points;
        sk.skipped = s.skipped;
        sk.unknown = s.unknown;
        sk.extra = s.extra;
      }
      this.#state = st;
      this.#ui.template.disabled = !this.#box;
      this.#ui.error.hidden = true;
      this.#ui.submit.disabled = false;
      this.#loadImage(attr("imgSrc"));
    }

    #fatal(messages) {
      this.#errors = messages;
      this.#ready = false;
      const ui = this.#ui;
      ui.errorList.replaceChildren(...messages.map((m) => el("li", "", m)));
      ui.error.hidden = false;
      ui.img.hidden = true;
      ui.submit.disabled = true;
      this.#draw();
      this.#emit("error", { messages: [...messages] });
    }

    async #loadImage(src) {
      const img = this.#ui.img;
      const key = this.#configKey;
      img.hidden = true;
      img.src = src;
      try {
        await img.decode();
        if (!img.naturalWidth) throw new Error("empty image");
      } catch {
        if (key === this.#configKey) {
          const shown = src.split("?")[0];
          this.#fatal([`imgSrc: the image could not be loaded from ${shown} (expired link, missing CORS on the bucket, or not an image)`]);
        }
        return;
      }
      if (key !== this.#configKey || !this.#abort) return;
      performance.mark(`${TAG}:image-decoded`);
      this.#w = img.naturalWidth;
      this.#h = img.naturalHeight;
      let moved = 0;
      for (const s of this.#state.skeletons) {
        for (const p of s.points.values()) {
          const x = clamp(p.x, 0, this.#w - 1);
          const y = clamp(p.y, 0, this.#h - 1);
          if (x !== p.x || y !== p.y) moved++;
          p.x = x;
          p.y = y;
        }
      }
      if (moved) this.#warnings.push(`${moved} pre-annotated keypoint(s) lay outside the image and were moved to its edge`);
      this.#original = structuredClone(this.#state.skeletons);
      this.#state.cursor = this.#firstGap();
      img.style.width = `${this.#w}px`;
      img.style.height = `${this.#h}px`;
      img.hidden = false;
      this.#resize();
      this.#fit();
      this.#ready = true;
      this.#readyAt = performance.now();
      this.#changed(false);
      this.#emit("ready", { width: this.#w, height: this.#h });
    }

    // ------------------------------------------------------------------- model
    #newSkeleton(st, name) {
      st.serial += 1;
      const s = {
        id: st.serial, name: name ?? `person ${st.serial}`, points: new Map(), skipped: new Set(),
        hidden: false, hiddenLabels: new Set(), unknown: [], extra: {},
      };
      st.skeletons.push(s);
      return s;
    }
    #skel(id) { return this.#state.skeletons.find((s) => s.id === id) || null; }
    #open(s, l) { return !s.points.has(l) && !s.skipped.has(l); }

    // The next keypoint to place in `s` after `label`: rig order, wrapping round
    // to earlier gaps; null when the skeleton is done.
    #nextIn(s, label) {
      const n = this.#classes.length;
      const start = label === null ? 0 : this.#byLabel.get(label) + 1;
      for (let k = 0; k < n; k++) {
        const l = this.#classes[(start + k) % n].label;
        if (this.#open(s, l)) return l;
      }
      return null;
    }
    #firstGap() {
      for (const s of this.#state.skeletons) {
        if (!s.points.size) continue;
        const l = this.#nextIn(s, null);
        if (l) return { skel: s.id, label: l };
      }
      return { skel: null, label: this.#classes[0].label };
    }
    #fixCursor() {
      const st = this.#state;
      const c = st.cursor;
      if (!c) { st.cursor = { skel: null, label: this.#classes[0].label }; return; }
      const s = c.skel === null ? null : this.#skel(c.skel);
      if (c.skel !== null && !s) { st.cursor = { skel: null, label: this.#classes[0].label }; return; }
      if (s && !this.#open(s, c.label)) {
        const l = this.#nextIn(s, c.label);
        st.cursor = l ? { skel: s.id, label: l } : { skel: null, label: this.#classes[0].label };
      }
      const sel = st.selection;
      if (sel && (!this.#skel(sel.skel) || (sel.label && !this.#skel(sel.skel).points.has(sel.label)))) st.selection = null;
    }

    // Every change to #state goes through here: one undo step per call.
    #mutate(fn, coalesceKey = null) {
      const before = structuredClone(this.#state);
      const now = performance.now();
      const merge = coalesceKey && this.#coalesce && this.#coalesce.key === coalesceKey && now - this.#coalesce.t < 1000;
      if (fn() === false) return false;
      if (!merge) this.#pushUndo(before);
      this.#coalesce = coalesceKey ? { key: coalesceKey, t: now } : null;
      this.#changed(true);
      return true;
    }
    #pushUndo(before) {
      this.#undo.push(before);
      if (this.#undo.length > MAX_HISTORY) this.#undo.shift();
      this.#redo = [];
    }
    #history(from, to, verb) {
      if (!this.#ready || !from.length) return;
      to.push(structuredClone(this.#state));
      this.#state = from.pop();
      this.#coalesce = null;
      this.#changed(true);
      this.#say(`${verb}.`);
    }

    #place(pt, occluded) {
      let placed = null;
      this.#mutate(() => {
        const st = this.#state;
        const c = st.cursor;
        const s = (c.skel !== null && this.#skel(c.skel)) || this.#newSkeleton(st);
        const x = clamp(pt.x, 0, this.#w - 1);
        const y = clamp(pt.y, 0, this.#h - 1);
        s.points.set(c.label, { x, y, v: occluded ? OCCLUDED : VISIBLE, extra: {} });
        s.skipped.delete(c.label);
        s.hiddenLabels.delete(c.label);
        s.hidden = false;
        st.hideAll = false;
        st.selection = { skel: s.id, label: c.label };
        const next = this.#nextIn(s, c.label);
        st.cursor = next ? { skel: s.id, label: next } : { skel: null, label: this.#classes[0].label };
        placed = { s, label: c.label, next };
      });
      const { s, label: l, next } = placed;
      this.#say(`Placed ${l}${occluded ? " (occluded)" : ""} of ${s.name}. ${next ? `Next: ${next}.` : "Skeleton done; the next click starts a new person."}`);
    }

    #skip() {
      let msg = "";
      this.#mutate(() => {
        const st = this.#state;
        const c = st.cursor;
        const s = (c.skel !== null && this.#skel(c.skel)) || this.#newSkeleton(st);
        s.skipped.add(c.label);
        const next = this.#nextIn(s, c.label);
        st.cursor = next ? { skel: s.id, label: next } : { skel: null, label: this.#classes[0].label };
        msg = `Skipped ${c.label}. ${next ? `Next: ${next}.` : "Skeleton done."}`;
      });
      this.#say(msg);
    }

    #placeTemplate(a, b) {
      const bb = this.#box;
      const x0 = Math.min(a.x, b.x);
      const y0 = Math.min(a.y, b.y);
      const sx = Math.abs(b.x - a.x) / (bb.right - bb.left);
      const sy = Math.abs(b.y - a.y) / (bb.bottom - bb.top);
      this.#mutate(() => {
        const st = this.#state;
        const c = st.cursor;
        let s = c.skel !== null && this.#skel(c.skel);
        if (!s || s.points.size) s = this.#newSkeleton(st);
        s.skipped.clear();
        for (const k of this.#classes) {
          s.points.set(k.label, {
            x: clamp(x0 + (k.x - bb.left) * sx, 0, this.#w - 1),
            y: clamp(y0 + (k.y - bb.top) * sy, 0, this.#h - 1),
            v: VISIBLE, extra: {},
          });
        }
        st.selection = { skel: s.id, label: null };
        st.cursor = { skel: null, label: this.#classes[0].label };
      });
      this.#setMode("place");
      this.#say("Placed a whole skeleton; drag its keypoints to adjust.");
    }

    #selected() {
      const sel = this.#state.selection;
      return sel ? this.#skel(sel.skel) : null;
    }
    // The skeleton a skeleton-wide action applies to: the selection's, else the one being labeled.
    #target() {
      const c = this.#state.cursor;
      return this.#selected() || (c && c.skel !== null && this.#skel(c.skel)) || null;
    }

    #remove(wholeSkeleton) {
      const sel = this.#state.selection;
      const s = this.#selected();
      if (!s) return this.#say("Select a keypoint or a skeleton first.");
      if (wholeSkeleton || !sel.label) {
        this.#mutate(() => {
          this.#state.skeletons = this.#state.skeletons.filter((k) => k !== s);
          this.#state.selection = null;
        });
        return this.#say(`Deleted ${s.name}.`);
      }
      this.#mutate(() => {
        s.points.delete(sel.label);
        this.#state.selection = null;
        this.#state.cursor = { skel: s.id, label: sel.label }; // a click puts it back
      });
      return this.#say(`Deleted ${sel.label}; the next click places it again.`);
    }

    #toggleOcclusion() {
      const sel = this.#state.selection;
      const s = this.#selected();
      if (!s || !sel.label) return this.#say("Select a keypoint first.");
      const p = s.points.get(sel.label);
      this.#mutate(() => { p.v = p.v === OCCLUDED ? VISIBLE : OCCLUDED; });
      return this.#say(`${sel.label} is now ${p.v === OCCLUDED ? "occluded" : "visible"}.`);
    }

    #swapPairs(s, pairs) {
      for (const [a, b] of pairs) {
        const pa = s.points.get(a);
        const pb = s.points.get(b);
        s.points.delete(a);
        s.points.delete(b);
        if (pb) s.points.set(a, pb);
        if (pa) s.points.set(b, pa);
        for (const set of [s.skipped, s.hiddenLabels]) {
          const ha = set.has(a);
          const hb = set.has(b);
          set.delete(a);
          set.delete(b);
          if (hb) set.add(a);
          if (ha) set.add(b);
        }
      }
    }
    #mirrorPairs() {
      return this.#classes.filter((c) => c.mirror && this.#byLabel.get(c.label) < this.#byLabel.get(c.mirror))
        .map((c) => [c.label, c.mirror]);
    }
    #mirror() {
      const s = this.#target();
      const pairs = this.#mirrorPairs();
      if (!s) return this.#say("Select a skeleton first.");
      if (!pairs.length) return this.#say("This rig has no left/right pairs.");
      this.#mutate(() => {
        this.#swapPairs(s, pairs);
        const sel = this.#state.selection;
        const m = sel && sel.skel === s.id && sel.label && this.#classes[this.#byLabel.get(sel.label)].mirror;
        if (m) sel.label = m; // the selection follows its point
      });
      return this.#say(`Mirrored the left/right labels of ${s.name}.`);
    }
    #swapSelected() {
      const sel = this.#state.selection;
      const s = this.#selected();
      const m = sel && sel.label && this.#classes[this.#byLabel.get(sel.label)].mirror;
      if (!s || !m) return this.#say("Select a keypoint that has a left/right counterpart.");
      this.#mutate(() => {
        this.#swapPairs(s, [[sel.label, m]]);
        if (s.points.has(m)) this.#state.selection = { skel: s.id, label: m };
      });
      return this.#say(`Swapped ${sel.label} and ${m}.`);
    }

    #nudge(dx, dy) {
      const sel = this.#state.selection;
      const p = sel && sel.label && this.#selected()?.points.get(sel.label);
      if (!p) return false;
      this.#mutate(() => {
        p.x = clamp(p.x + dx, 0, this.#w - 1);
        p.y = clamp(p.y + dy, 0, this.#h - 1);
      }, `nudge:${sel.skel}:${sel.label}`);
      return true;
    }

    #hide(kind, s, l) {
      this.#mutate(() => {
        const st = this.#state;
        if (kind === "all") st.hideAll = !st.hideAll;
        else if (kind === "skeleton") s.hidden = !s.hidden;
        else if (s.hiddenLabels.has(l)) s.hiddenLabels.delete(l);
        else s.hiddenLabels.add(l);
      });
    }

    #chooseLabel(step, unplacedOnly) {
      const st = this.#state;
      const c = st.cursor;
      const s = c.skel !== null ? this.#skel(c.skel) : null;
      const n = this.#classes.length;
      let i = this.#byLabel.get(c.label);
      for (let k = 0; k < n; k++) {
        i = (i + step + n) % n;
        const l = this.#classes[i].label;
        if (!unplacedOnly || !s || this.#open(s, l)) {
          this.#setCursor(s ? s.id : null, l);
          return;
        }
      }
    }
    #setCursor(skel, l) {
      const s = skel === null ? null : this.#skel(skel);
      if (s && s.points.has(l)) {
        this.#state.selection = { skel, label: l }; // already placed: select it instead
        this.#say(`${l} of ${s.name} is already placed and now selected; drag it to move it.`);
      } else {
        this.#state.cursor = { skel, label: l };
        if (s) s.skipped.delete(l);
        this.#say(`Next: ${l}.`);
      }
      this.#changed(false);
    }

    // Serialise skeletons: integer pixels inside the image, rig order, extras kept,
    // empty skeletons left out (they carry no information).
    #out(skeletons) {
      const w = this.#w;
      const h = this.#h;
      const ix = (v, max) => clamp(Math.round(v), 0, Math.max(0, max - 1));
      return skeletons.filter((s) => s.points.size || s.unknown.length).map((s) => {
        const annotations = this.#classes.filter((c) => s.points.has(c.label)).map((c) => {
          const p = s.points.get(c.label);
          return { ...p.extra, label: c.label, x: ix(p.x, w), y: ix(p.y, h), visibility: p.v };
        });
        return { ...s.extra, name: s.name, annotations: [...annotations, ...s.unknown] };
      });
    }

    // Suspected left/right swaps by skeleton id, judged on the points as submitted.
    #findSwaps() {
      const found = new Map();
      const ix = (v, max) => clamp(Math.round(v), 0, Math.max(0, max - 1));
      for (const s of this.#state.skeletons) {
        const points = new Map([...s.points].map(([l, p]) => [l, { x: ix(p.x, this.#w), y: ix(p.y, this.#h) }]));
        const swap = findSwap(points, this.#swapGeo);
        if (swap) found.set(s.id, swap);
      }
      return found;
    }

    // -------------------------------------------------------------------- view
    #toImage(p) { return { x: (p.x - this.#tx) / this.#s, y: (p.y - this.#ty) / this.#s }; }
    #toScreen(p) { return { x: p.x * this.#s + this.#tx, y: p.y * this.#s + this.#ty }; }
    #local(e) {
      const r = this.#ui.stage.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    }

    #resize() {
      const { stage, canvas } = this.#ui;
      const w = stage.clientWidth;
      const h = stage.clientHeight;
      if (w === this.#vw && h === this.#vh) return;
      this.#vw = w;
      this.#vh = h;
      const dpr = window.devicePixelRatio || 1;
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
      canvas.style.width = `${w}px`;
      canvas.style.height = `${h}px`;
      if (this.#fitted && this.#w) this.#fit();
      else this.#draw();
    }
    #fit() {
      if (!this.#w || !this.#vw) return;
      this.#s = Math.min(this.#vw / this.#w, this.#vh / this.#h) * 0.98;
      this.#tx = (this.#vw - this.#w * this.#s) / 2;
      this.#ty = (this.#vh - this.#h * this.#s) / 2;
      this.#fitted = true;
      this.#view();
    }
    #zoom(factor, at) {
      if (!this.#w) return;
      const p = at || this.#pointer || { x: this.#vw / 2, y: this.#vh / 2 };
      const fit = Math.min(this.#vw / this.#w, this.#vh / this.#h);
      const s = clamp(this.#s * factor, fit / 4, 40);
      this.#tx = p.x - ((p.x - this.#tx) * s) / this.#s;
      this.#ty = p.y - ((p.y - this.#ty) * s) / this.#s;
      this.#s = s;
      this.#fitted = false;
      this.#view();
    }
    #view() {
      const img = this.#ui.img;
      img.style.transform = `matrix(${this.#s},0,0,${this.#s},${this.#tx},${this.#ty})`;
      img.classList.toggle("px", this.#s >= 3);
      this.#updateHint();
      this.#status();
      this.#draw();
    }

    #draw() {
      if (!this.#frame) this.#frame = requestAnimationFrame(() => { this.#frame = 0; this.#paint(); });
    }
    #skelColor(s) {
      const c = this.#colors;
      return c ? c[(s.id - 1) % c.length] : null;
    }
    #paint() {
      const { canvas } = this.#ui;
      const ctx = canvas.getContext("2d");
      const dpr = canvas.width / (this.#vw || 1);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, this.#vw, this.#vh);
      if (!this.#ready) return;
      const st = this.#state;
      const r = this.#settings.radius;
      const lw = this.#settings.line;
      const sel = st.selection;
      const active = st.cursor.skel;
      if (!st.hideAll) {
        for (const s of st.skeletons) {
          if (s.hidden) continue;
          const own = this.#skelColor(s);
          const at = (l) => (s.points.has(l) && !s.hiddenLabels.has(l) ? s.points.get(l) : null);
          ctx.lineCap = "round";
          for (const ln of this.#lines) {
            const pa = at(ln.a);
            const pb = at(ln.b);
            if (!pa || !pb) continue;
            const a = this.#toScreen(pa);
            const b = this.#toScreen(pb);
            ctx.setLineDash(pa.v === OCCLUDED || pb.v === OCCLUDED ? [6, 4] : []);
            ctx.beginPath();
            ctx.moveTo(a.x, a.y);
            ctx.lineTo(b.x, b.y);
            ctx.strokeStyle = "rgba(0,0,0,.55)";
            ctx.lineWidth = lw + 2;
            ctx.stroke();
            ctx.strokeStyle = own || ln.color || LINE_COLOR;
            ctx.lineWidth = lw;
            ctx.stroke();
          }
          ctx.setLineDash([]);
          const swap = this.#suspects.get(s.id);
          const suspects = new Set(swap ? [...swap.lines, ...swap.pairs].flat() : []);
          let top = null;
          for (const c of this.#classes) {
            const p = at(c.label);
            if (!p) continue;
            const q = this.#toScreen(p);
            if (!top || q.y < top.y) top = q;
            const fill = own || c.color || PALETTE[this.#byLabel.get(c.label) % PALETTE.length];
            const isSel = sel && sel.skel === s.id && (sel.label === c.label || sel.label === null);
            const rr = isSel && sel.label ? r + 2 : r;
            ctx.beginPath();
            ctx.arc(q.x, q.y, rr, 0, Math.PI * 2);
            if (p.v === OCCLUDED) {
              // Hollow ring: the keypoint is labeled but hidden behind something.
              ctx.lineWidth = 4;
              ctx.strokeStyle = "rgba(0,0,0,.7)";
              ctx.stroke();
              ctx.lineWidth = 2;
              ctx.strokeStyle = fill;
              ctx.stroke();
            } else {
              ctx.fillStyle = fill;
              ctx.fill();
              ctx.lineWidth = 1.5;
              ctx.strokeStyle = "#fff";
              ctx.stroke();
            }
            if (isSel || suspects.has(c.label)) {
              ctx.beginPath();
              ctx.arc(q.x, q.y, rr + 4, 0, Math.PI * 2);
              ctx.lineWidth = 2;
              ctx.setLineDash(isSel ? [] : [3, 3]);
              ctx.strokeStyle = isSel ? "#FFD400" : "#FF8C00";
              ctx.stroke();
              ctx.setLineDash([]);
            }
          }
          if (top && st.skeletons.length > 1) {
            ctx.font = "600 12px system-ui,sans-serif";
            const text = s.name || `#${s.id}`;
            const tw = ctx.measureText(text).width;
            ctx.fillStyle = s.id === active ? "rgba(10,102,194,.9)" : "rgba(0,0,0,.65)";
            ctx.fillRect(top.x - tw / 2 - 4, top.y - r - 22, tw + 8, 16);
            ctx.fillStyle = "#fff";
            ctx.fillText(text, top.x - tw / 2, top.y - r - 10);
          }
        }
      }
      const g = this.#gesture;
      if (g && g.kind === "box" && g.moved) {
        const a = g.start;
        const b = g.last;
        ctx.setLineDash([6, 4]);
        ctx.lineWidth = 1.5;
        ctx.strokeStyle = "#FFD400";
        ctx.strokeRect(Math.min(a.x, b.x), Math.min(a.y, b.y), Math.abs(b.x - a.x), Math.abs(b.y - a.y));
        ctx.setLineDash([]);
      }
    }

    #updateHint() {
      const { hint } = this.#ui;
      const p = this.#pointer;
      const g = this.#gesture;
      if (!p || !this.#ready || (g && g.moved) || this.#space) { hint.hidden = true; return; }
      const c = this.#state.cursor;
      hint.replaceChildren();
      if (this.#mode === "template") {
        hint.append("drag a box: whole skeleton");
      } else {
        const s = c.skel !== null ? this.#skel(c.skel) : null;
        if (!s && this.#state.skeletons.some((k) => k.points.size)) hint.append("new skeleton: ");
        hint.append(el("b", "", c.label));
        hint.append(` ${this.#byLabel.get(c.label) + 1}/${this.#classes.length}`);
        if (this.#shift) hint.append(" ", el("i", "", "occluded"));
      }
      hint.hidden = false;
      // Beside the cursor, flipped to the other side near the right and bottom edges.
      const x = p.x + 14 + hint.offsetWidth > this.#vw ? p.x - 10 - hint.offsetWidth : p.x + 14;
      const y = p.y + 16 + hint.offsetHeight > this.#vh ? p.y - 12 - hint.offsetHeight : p.y + 16;
      hint.style.transform = `translate(${Math.round(x)}px,${Math.round(y)}px)`;
    }

    #status() {
      const { status } = this.#ui;
      const parts = [`${Math.round(this.#s * 100)}%`];
      if (this.#pointer && this.#w) {
        const q = this.#toImage(this.#pointer);
        if (q.x >= 0 && q.y >= 0 && q.x < this.#w && q.y < this.#h) parts.unshift(`${Math.floor(q.x)}, ${Math.floor(q.y)} px`);
      }
      status.textContent = parts.join(" · ");
    }

    #say(text) {
      this.#ui.live.textContent = text;
      this.#ui.status2.textContent = text;
    }

    #emit(name, detail) {
      this.dispatchEvent(new CustomEvent(`${TAG}:${name}`, { bubbles: true, composed: true, detail }));
    }

    #warningTexts() {
      const out = [...this.#warnings];
      for (const [id, swap] of this.#suspects) {
        out.push(`${this.#skel(id).name}: ${swapText(swap)} (select a keypoint and press G to swap it with its counterpart, or F to mirror the whole skeleton)`);
      }
      return out;
    }

    // After any change of the model: redraw, rebuild the side panel, refresh warnings.
    #changed(userEdit) {
      this.#fixCursor();
      this.#suspects = this.#findSwaps();
      const ui = this.#ui;
      const warnings = this.#warningTexts();
      ui.warn.replaceChildren(...warnings.map((w) => el("li", "", w)));
      ui.warn.hidden = !warnings.length;
      ui.issues.replaceChildren(...this.#issues.map((w) => el("li", "", w)));
      ui.issues.hidden = !this.#issues.length;
      ui.root.querySelector("[data-act=hideAll]").setAttribute("aria-pressed", String(this.#state.hideAll));
      ui.root.querySelector("[data-act=undo]").disabled = !this.#undo.length;
      ui.root.querySelector("[data-act=redo]").disabled = !this.#redo.length;
      this.#renderPanel();
      this.#updateHint();
      this.#draw();
      if (userEdit) {
        this.#confirmed = false;
        ui.confirm.hidden = true;
        this.#emit("change", { value: this.value });
      }
    }

    #renderPanel() {
      const st = this.#state;
      const ui = this.#ui;
      const n = this.#classes.length;
      const sel = st.selection;
      const expanded = new Set([st.cursor.skel, sel && sel.skel]);
      ui.people.textContent = `${st.skeletons.length} skeleton${st.skeletons.length === 1 ? "" : "s"}`;
      const cards = st.skeletons.map((s) => {
        const card = el("section", "card");
        card.dataset.skel = s.id;
        if (s.id === st.cursor.skel || (sel && sel.skel === s.id)) card.classList.add("active");
        const head = el("div", "head");
        const dot = el("button", "", "");
        dot.type = "button";
        dot.dataset.act = "selectSkeleton";
        dot.setAttribute("aria-label", `Select ${s.name || "skeleton"}`);
        const sw = el("span", "dot");
        sw.style.background = this.#skelColor(s) || "#888";
        dot.append(sw);
        const name = el("input");
        name.value = s.name;
        name.dataset.act = "rename";
        name.setAttribute("aria-label", `Name of skeleton ${s.id}`);
        const count = el("span", "count", `${s.points.size}/${n}`);
        const eye = el("button", "", s.hidden ? "Show" : "Hide");
        eye.type = "button";
        eye.dataset.act = "hideSkeleton";
        eye.setAttribute("aria-pressed", String(s.hidden));
        eye.setAttribute("aria-label", `Hide ${s.name}`);
        const del = el("button", "", "✕");
        del.type = "button";
        del.dataset.act = "deleteSkeleton";
        del.setAttribute("aria-label", `Delete ${s.name}`);
        head.append(dot, name, count, eye, del);
        card.append(head);
        if (expanded.has(s.id) || st.skeletons.length <= 2) {
          const rows = el("ol", "rows");
          this.#classes.forEach((c, i) => {
            const p = s.points.get(c.label);
            const state = p ? (p.v === OCCLUDED ? "occluded" : "visible") : s.skipped.has(c.label) ? "not in image" : "missing";
            const li = el("li");
            const row = el("button", "row");
            row.type = "button";
            row.dataset.act = "row";
            row.dataset.label = i;
            const isNext = st.cursor.skel === s.id && st.cursor.label === c.label;
            if (isNext) row.classList.add("next");
            if (sel && sel.skel === s.id && sel.label === c.label) row.classList.add("sel");
            const d = el("span", "dot");
            d.style.background = this.#skelColor(s) || c.color || PALETTE[i % PALETTE.length];
            row.append(d, el("span", "lbl", c.label), el("span", `state${p ? "" : " missing"}`, isNext ? "next" : state));
            row.setAttribute("aria-label", `${c.label}: ${state}${isNext ? ", placed by the next click" : ""}`);
            const hide = el("button", "eye", s.hiddenLabels.has(c.label) ? "○" : "●");
            hide.type = "button";
            hide.dataset.act = "hideKeypoint";
            hide.dataset.label = i;
            hide.setAttribute("aria-pressed", String(s.hiddenLabels.has(c.label)));
            hide.setAttribute("aria-label", `Hide ${c.label} of ${s.name}`);
            hide.disabled = !p;
            li.append(row, hide);
            rows.append(li);
          });
          card.append(rows);
        }
        return card;
      });
      // Rebuilding drops focus; give it back to the same control so keyboard use goes on.
      const f = this.shadowRoot.activeElement;
      const key = f && ui.cards.contains(f) && [f.dataset.act, f.closest(".card").dataset.skel, f.dataset.label];
      if (!cards.length) {
        cards.push(el("p", "count", `Click the image to place the first keypoint: ${this.#classes[0].label}.`));
      }
      ui.cards.replaceChildren(...cards);
      if (key) {
        const same = [...ui.cards.querySelectorAll("[data-act]")].find((c) =>
          c.dataset.act === key[0] && c.closest(".card").dataset.skel === key[1] && c.dataset.label === key[2]);
        (same || ui.stage).focus({ preventScroll: true });
      }
    }

    #setMode(mode) {
      this.#mode = mode;
      this.#ui.template.setAttribute("aria-pressed", String(mode === "template"));
      this.#cursorStyle();
      this.#updateHint();
    }
    #cursorStyle() {
      const cl = this.#ui.stage.classList;
      const g = this.#gesture;
      cl.toggle("pan", this.#space);
      cl.toggle("panning", !!(g && g.kind === "pan" && g.moved));
      cl.toggle("box", this.#mode === "template");
    }

    // ------------------------------------------------------------------ input
    #hitTest(p, slop) {
      const st = this.#state;
      if (st.hideAll) return null;
      let best = null;
      let bestD = this.#settings.radius + slop;
      for (const s of st.skeletons) {
        if (s.hidden) continue;
        for (const [l, pt] of s.points) {
          if (s.hiddenLabels.has(l)) continue;
          const q = this.#toScreen(pt);
          const d = Math.hypot(q.x - p.x, q.y - p.y);
          if (d <= bestD) {
            bestD = d;
            best = { skel: s.id, label: l };
          }
        }
      }
      return best;
    }

    #onPointerDown(e) {
      if (!this.#ready || this.#gesture) return;
      const p = this.#local(e);
      const pan = e.button === 1 || e.button === 2 || (e.button === 0 && this.#space);
      if (e.button !== 0 && !pan) return;
      e.preventDefault();
      this.#ui.stage.focus({ preventScroll: true });
      this.#ui.stage.setPointerCapture(e.pointerId);
      let kind = "pan";
      let hit = null;
      if (!pan) {
        if (this.#mode === "template") kind = "box";
        else {
          hit = this.#hitTest(p, HIT_SLOP);
          kind = hit ? (e.shiftKey ? "skeleton" : "point") : "click";
        }
      }
      this.#gesture = { kind, id: e.pointerId, start: p, last: p, moved: false, hit, shift: e.shiftKey, before: null };
    }

    #onPointerMove(e) {
      const p = this.#local(e);
      this.#pointer = p;
      this.#shift = e.shiftKey;
      const g = this.#gesture;
      if (!g || g.id !== e.pointerId) {
        this.#updateHint();
        this.#status();
        return;
      }
      if (!g.moved) {
        if (Math.hypot(p.x - g.start.x, p.y - g.start.y) < DRAG_THRESHOLD) return;
        g.moved = true;
        if (g.kind === "click") g.kind = "pan"; // moved: a drag on the image pans
        if (g.kind === "point" || g.kind === "skeleton") {
          g.before = structuredClone(this.#state);
          const pt = this.#skel(g.hit.skel).points.get(g.hit.label);
          const q = this.#toImage(g.start);
          g.offset = { x: pt.x - q.x, y: pt.y - q.y };
          this.#state.selection = { skel: g.hit.skel, label: g.kind === "point" ? g.hit.label : null };
        }
        this.#cursorStyle();
        this.#updateHint();
      }
      if (g.kind === "pan") {
        this.#tx += p.x - g.last.x;
        this.#ty += p.y - g.last.y;
        this.#fitted = false;
        g.last = p;
        this.#view();
        return;
      }
      g.last = p;
      const s = g.hit && this.#skel(g.hit.skel);
      if (g.kind === "point") {
        const q = this.#toImage(p);
        const pt = s.points.get(g.hit.label);
        pt.x = clamp(q.x + g.offset.x, 0, this.#w - 1);
        pt.y = clamp(q.y + g.offset.y, 0, this.#h - 1);
      } else if (g.kind === "skeleton") {
        const q = this.#toImage(p);
        const anchor = s.points.get(g.hit.label);
        let dx = q.x + g.offset.x - anchor.x;
        let dy = q.y + g.offset.y - anchor.y;
        const pts = [...s.points.values()];
        dx = clamp(dx, -Math.min(...pts.map((k) => k.x)), this.#w - 1 - Math.max(...pts.map((k) => k.x)));
        dy = clamp(dy, -Math.min(...pts.map((k) => k.y)), this.#h - 1 - Math.max(...pts.map((k) => k.y)));
        for (const k of pts) { k.x += dx; k.y += dy; }
      }
      this.#status();
      this.#draw();
    }

    #onPointerUp(e, cancelled = false) {
      const g = this.#gesture;
      if (!g || g.id !== e.pointerId) return;
      this.#gesture = null;
      if (this.#ui.stage.hasPointerCapture(e.pointerId)) this.#ui.stage.releasePointerCapture(e.pointerId);
      this.#cursorStyle();
      if (cancelled) {
        if (g.before) { this.#state = g.before; this.#changed(false); }
        return;
      }
      const p = this.#local(e);
      if (!g.moved) {
        const onMarker = g.hit && this.#hitTest(p, 1);
        if (g.kind === "click" || ((g.kind === "point" || g.kind === "skeleton") && !onMarker)) {
          this.#place(this.#toImage(p), e.shiftKey || g.shift);
        } else if (g.kind === "point" || g.kind === "skeleton") {
          this.#state.selection = { skel: g.hit.skel, label: g.hit.label };
          this.#changed(false);
          this.#say(`Selected ${g.hit.label} of ${this.#skel(g.hit.skel).name}. The next click still places ${this.#state.cursor.label}.`);
        } else if (g.kind === "box") this.#say("Drag a box (press, move, release) to place the whole skeleton.");
      } else if (g.kind === "point" || g.kind === "skeleton") {
        this.#pushUndo(g.before);
        this.#coalesce = null;
        this.#changed(true);
      } else if (g.kind === "box") {
        const a = this.#toImage(g.start);
        const b = this.#toImage(p);
        if (Math.abs(b.x - a.x) * this.#s < 8 || Math.abs(b.y - a.y) * this.#s < 8) this.#say("The box is too small; drag a larger one.");
        else this.#placeTemplate(a, b);
        this.#draw();
      }
      this.#updateHint();
    }

    #onWheel(e) {
      if (!this.#ready) return;
      e.preventDefault();
      const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? this.#vh : 1;
      this.#pointer = this.#local(e);
      this.#zoom(Math.exp(-e.deltaY * unit * 0.0015), this.#pointer);
    }

    #hotkeysActive(e) {
      if (!this.#ready) return false;
      const path = e.composedPath();
      const t = path[0];
      const toggle = t && t.tagName === "INPUT" && /^(checkbox|radio|button)$/.test(t.type);
      if (t && t.nodeType === 1 && !toggle && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) {
        return false; // typing into a field
      }
      if (path.includes(this)) {
        // Space and Enter belong to a focused button or checkbox of our own.
        return !((e.key === " " || e.key === "Enter") && (toggle || /^(BUTTON|SUMMARY)$/.test(t.tagName)));
      }
      const a = document.activeElement;
      return !a || a === document.body || a === document.documentElement;
    }

    #onKeyUp(e) {
      if (e.key === " " && this.#space) {
        this.#space = false;
        this.#cursorStyle();
        this.#updateHint();
      }
      if (e.key === "Shift") { this.#shift = false; this.#updateHint(); }
    }

    #onKeyDown(e) {
      if (!this.#hotkeysActive(e)) return;
      const k = e.key;
      if (k === "Shift") { this.#shift = true; this.#updateHint(); return; }
      if (e.ctrlKey || e.metaKey) {
        if (e.altKey) return;
        const lk = k.toLowerCase();
        if (lk === "z") this.#history(...(e.shiftKey ? [this.#redo, this.#undo, "Redone"] : [this.#undo, this.#redo, "Undone"]));
        else if (lk === "y" && !e.shiftKey) this.redo();
        else return;
        e.preventDefault();
        return;
      }
      if (e.altKey) return;
      const shift = e.shiftKey;
      const sel = this.#state.selection;
      const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      let handled = true;
      if (k in arrows) {
        const [dx, dy] = arrows[k];
        const step = shift ? 10 : 1;
        if (!(sel && sel.label && this.#nudge(dx * step, dy * step))) {
          if (shift) handled = false;
          else if (dy) this.#chooseLabel(dy, false);
          else this.#chooseLabel(dx, true);
        }
      } else if (k === "Delete" || k === "Backspace") this.#remove(shift);
      else if (shift && k !== "+") handled = false; // other Shift+key: not ours
      else if (k === " ") {
        if (!e.repeat) { this.#space = true; this.#cursorStyle(); this.#updateHint(); }
      } else if (k === "Escape") {
        this.#ui.confirm.hidden = true;
        if (this.#mode !== "place") this.#setMode("place");
        else if (sel) { this.#state.selection = null; this.#changed(false); }
        else handled = false;
      } else if (/^[0-9]$/.test(k)) {
        const i = k === "0" ? 9 : Number(k) - 1;
        if (i < this.#classes.length) this.#setCursor(this.#state.cursor.skel, this.#classes[i].label);
      } else {
        const act = {
          ",": () => this.undo(), ".": () => this.redo(),
          n: () => this.#skip(), o: () => this.#toggleOcclusion(), b: () => this.#act("newPerson"),
          v: () => this.#act("template"), q: () => this.#setMode("place"), f: () => this.#mirror(),
          g: () => this.#swapSelected(), h: () => { const s = this.#target(); if (s) this.#hide("skeleton", s); },
          m: () => this.#hide("all"), z: () => this.#fit(),
          c: () => this.#zoom(1.25), "+": () => this.#zoom(1.25), "=": () => this.#zoom(1.25),
          x: () => this.#zoom(0.8), "-": () => this.#zoom(0.8),
          w: () => this.#chooseLabel(-1, false), s: () => this.#chooseLabel(1, false),
          a: () => this.#chooseLabel(-1, true), d: () => this.#chooseLabel(1, true),
        }[k.length === 1 ? k.toLowerCase() : k]; // CapsLock letters arrive upper-case
        if (act) act();
        else handled = false;
      }
      if (handled) e.preventDefault();
    }

    #act(name, target) {
      if (!this.#ready && name !== "cancelSubmit") return;
      const st = this.#state;
      switch (name) {
        case "undo": return this.undo();
        case "redo": return this.redo();
        case "newPerson":
          st.cursor = { skel: null, label: this.#classes[0].label };
          st.selection = null;
          this.#setMode("place");
          this.#changed(false);
          return this.#say(`The next click starts a new person with ${this.#classes[0].label}.`);
        case "template":
          if (!this.#box) return this.#say("This rig has no template positions (x, y) for a whole skeleton.");
          this.#setMode(this.#mode === "template" ? "place" : "template");
          return this.#say(this.#mode === "template" ? "Drag a box around the person to place a whole skeleton." : "Placing keypoints.");
        case "skip": return this.#skip();
        case "occlude": return this.#toggleOcclusion();
        case "mirror": return this.#mirror();
        case "remove": return this.#remove(false);
        case "hideAll": return this.#hide("all");
        case "zoomIn": return this.#zoom(1.25, { x: this.#vw / 2, y: this.#vh / 2 });
        case "zoomOut": return this.#zoom(0.8, { x: this.#vw / 2, y: this.#vh / 2 });
        case "fit": return this.#fit();
        case "submit": return this.#submitClicked();
        case "confirmSubmit":
          this.#confirmed = true;
          this.#ui.confirm.hidden = true;
          return this.#submitForm();
        case "cancelSubmit":
          this.#ui.confirm.hidden = true;
          return this.#ui.stage.focus();
        default: break;
      }
      const card = target.closest(".card");
      const s = card && this.#skel(Number(card.dataset.skel));
      if (!s) return undefined;
      const l = target.dataset.label !== undefined ? this.#classes[Number(target.dataset.label)].label : null;
      switch (name) {
        case "selectSkeleton":
          st.selection = { skel: s.id, label: null };
          this.#changed(false);
          return this.#say(`Selected ${s.name}.`);
        case "hideSkeleton": return this.#hide("skeleton", s);
        case "deleteSkeleton":
          st.selection = { skel: s.id, label: null };
          return this.#remove(true);
        case "hideKeypoint": return this.#hide("keypoint", s, l);
        case "row": return this.#setCursor(s.id, l);
        default: return undefined;
      }
    }

    #onClick(e) {
      const t = e.target.closest("[data-act]");
      if (!t || t.tagName === "INPUT") return;
      this.#act(t.dataset.act, t);
    }

    #onChange(e) {
      const t = e.target;
      if (t.dataset.act === "rename") {
        const s = this.#skel(Number(t.closest(".card").dataset.skel));
        if (s && s.name !== t.value) this.#mutate(() => { s.name = t.value; });
      } else if (t === this.#ui.radius || t === this.#ui.line) {
        this.#settings[t.name] = Number(t.value);
        this.#saveSettings();
        this.#draw();
      }
    }

    // ------------------------------------------------------------------ settings
    #loadSettings() {
      try {
        const saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || "{}");
        if (Number.isFinite(saved.radius)) this.#settings.radius = clamp(saved.radius, 3, 12);
        if (Number.isFinite(saved.line)) this.#settings.line = clamp(saved.line, 1, 6);
      } catch { /* storage blocked (sandboxed frame) or corrupt: defaults */ }
      this.#ui.radius.value = this.#settings.radius;
      this.#ui.line.value = this.#settings.line;
    }
    #saveSettings() {
      try {
        localStorage.setItem(SETTINGS_KEY, JSON.stringify(this.#settings));
      } catch { /* storage blocked: settings last for this page only */ }
    }

    // -------------------------------------------------------------------- submit
    #missing() {
      const out = [];
      for (const s of this.#state.skeletons) {
        if (!s.points.size) continue;
        const gaps = this.#classes.filter((c) => this.#open(s, c.label)).map((c) => c.label);
        if (gaps.length) out.push(`${s.name}: ${gaps.length} missing (${gaps.slice(0, 4).join(", ")}${gaps.length > 4 ? ", …" : ""})`);
      }
      return out;
    }
    // Why the worker should look again before submitting, or "" when nothing is odd.
    #doubt() {
      const missing = this.#missing();
      if (missing.length) return `Some keypoints are neither placed nor skipped (N marks a keypoint as not in the image). ${missing.join("; ")}.`;
      const before = this.#out(this.#original).length;
      if (before && !this.value.length) return `This submits no skeletons and removes the ${before} this task started with.`;
      return "";
    }
    #askToConfirm(doubt) {
      const ui = this.#ui;
      ui.confirmMsg.textContent = `${doubt} Submit anyway?`;
      ui.confirm.hidden = false;
      ui.confirm.querySelector("[data-act=cancelSubmit]").focus();
    }
    #submitClicked() {
      const doubt = this.#confirmed ? "" : this.#doubt();
      if (doubt) return this.#askToConfirm(doubt);
      return this.#submitForm();
    }
    #submitForm() {
      const form = this.#form;
      if (!form || this.#errors.length) return;
      this.#confirmed = true;
      if (!this.#writeInputs(form)) return;
      // crowd-form's own submit() collects the inputs and fires "submit", as the
      // public component relies on; a plain form needs requestSubmit() for the event.
      if (form.localName !== "crowd-form" && form.requestSubmit) form.requestSubmit();
      else form.submit();
    }
    #onFormSubmit(e) {
      const doubt = this.#confirmed ? "" : this.#doubt();
      if (this.#errors.length || !this.#ready || doubt || !this.#writeInputs(this.#form)) {
        e.preventDefault();
        e.stopImmediatePropagation();
        if (doubt && this.#ready && !this.#errors.length) this.#askToConfirm(doubt);
      }
    }
    // One hidden input per field, reused if submit fires again (no duplicates).
    // False (and the reason shown beside Submit) when the answer cannot be written:
    // the form must never go out with stale or missing fields.
    #writeInputs(form) {
      let values;
      try {
        values = this.submission;
      } catch (e) {
        this.#say(`Submit failed: ${e.message}. Please report this task.`);
        return false;
      }
      for (const name of FIELDS) {
        let input = [...form.querySelectorAll("input[data-crowd-2d-skeleton]")].find((i) => i.name === name);
        if (!input) {
          input = document.createElement("input");
          input.type = "hidden";
          input.name = name;
          input.setAttribute("data-crowd-2d-skeleton", "");
          form.append(input);
        }
        input.value = values[name];
      }
      return true;
    }
  }

  customElements.get(TAG) || customElements.define(TAG, Crowd2dSkeleton);
})();
