/* Market replay of a case's window, drawn with the vendored uPlot.
 *
 * The server sends one row per record (a top-of-book update or an order event),
 * sorted by time: best bid, best ask and mid are stepped lines; each order event is
 * a marker whose colour says whose it is (AMM orange, clients blue, others grey) and
 * whose shape says what happened (open circle: new or replace, cross: cancel,
 * filled triangle: fill). Events the case's alerts name are drawn larger. The
 * flagged span is shaded, each alert's own window a little darker. Drag across the
 * chart to zoom; double-click or "Reset" to zoom out. A long window arrives
 * thinned; zooming in fetches the zoomed span again at full detail. Times are UTC.
 */
(function () {
  "use strict";

  var COLOURS = { amm: "#d9480f", client: "#1c64c8", other: "#8a94a3" };
  var KINDS = [
    ["amm_order", "AMM new/replace", "amm", "circle"],
    ["amm_cancel", "AMM cancel", "amm", "cross"],
    ["amm_fill", "AMM fill", "amm", "triangle"],
    ["client_order", "Client new/replace", "client", "circle"],
    ["client_cancel", "Client cancel", "client", "cross"],
    ["client_fill", "Client fill", "client", "triangle"],
    ["other_event", "Other accounts", "other", "dot"],
  ];

  function pad(n, w) { n = String(n); while (n.length < w) { n = "0" + n; } return n; }
  function utc(t) {
    var d = new Date(t * 1000);
    return pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" +
      pad(d.getUTCSeconds(), 2) + "." + pad(d.getUTCMilliseconds(), 3);
  }

  // 24-hour UTC tick labels: the date and time on the first tick (and when the day
  // changes); after it, seconds with milliseconds when ticks are under a second apart.
  function timeLabels(u, ticks, axisIdx, space, incr) {
    var lastDay = null;
    return ticks.map(function (t) {
      var d = new Date(t * 1000);
      var day = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1, 2) + "-" + pad(d.getUTCDate(), 2);
      var full = utc(t);
      if (day !== lastDay) {
        lastDay = day;
        return day + "\n" + (incr < 1 ? full : full.slice(0, 8));
      }
      return incr < 1 ? ":" + full.slice(6) : full.slice(0, 8);
    });
  }

  var state = { d: null, full: null, u: null, bidFF: [], askFF: [], fetched: null, timer: null };

  function markerPaths(shape) {
    return function (u, seriesIdx, idx0, idx1) {
      var stroke = new Path2D();
      var fill = shape === "cross" ? null : new Path2D();
      var xs = u.data[0];
      var ys = u.data[seriesIdx];
      var inCase = state.d.in_case;
      var scaleY = u.series[seriesIdx].scale;
      var base = Math.max(3, 4 * (window.devicePixelRatio || 1));
      for (var i = idx0; i <= idx1; i++) {
        var y = ys[i];
        if (y == null) { continue; }
        var cx = u.valToPos(xs[i], "x", true);
        var cy = u.valToPos(y, scaleY, true);
        var r = inCase[i] ? base * 1.7 : base;
        if (shape === "circle" || shape === "dot") {
          var rr = shape === "dot" ? r * 0.6 : r;
          stroke.moveTo(cx + rr, cy);
          stroke.arc(cx, cy, rr, 0, 2 * Math.PI);
          fill.moveTo(cx + rr, cy);
          fill.arc(cx, cy, rr, 0, 2 * Math.PI);
        } else if (shape === "cross") {
          stroke.moveTo(cx - r, cy - r); stroke.lineTo(cx + r, cy + r);
          stroke.moveTo(cx - r, cy + r); stroke.lineTo(cx + r, cy - r);
        } else {
          var p = new Path2D();
          p.moveTo(cx, cy - r * 1.15); p.lineTo(cx + r, cy + r * 0.85);
          p.lineTo(cx - r, cy + r * 0.85); p.closePath();
          stroke.addPath(p); fill.addPath(p);
        }
      }
      return { stroke: stroke, fill: fill, clip: null, flags: 3 };
    };
  }

  function forwardFill(values) {
    var out = new Array(values.length), last = null;
    for (var i = 0; i < values.length; i++) { if (values[i] != null) { last = values[i]; } out[i] = last; }
    return out;
  }

  function aligned(d) {
    var data = [d.t, d.bid, d.ask, d.mid];
    KINDS.forEach(function (k) { data.push(d.events[k[0]]); });
    return data;
  }

  function use(d) {
    state.d = d;
    state.bidFF = forwardFill(d.bid);
    state.askFF = forwardFill(d.ask);
    var el = document.getElementById("replay");
    var bookPoints = 0, eventPoints = 0;
    for (var i = 0; i < d.t.length; i++) {
      if (d.bid[i] != null || d.ask[i] != null) { bookPoints++; }
      if (d.info[i]) { eventPoints++; }
    }
    el.dataset.bookPoints = String(bookPoints);
    el.dataset.eventPoints = String(eventPoints);
    el.dataset.detail = d === state.full ? (d.thinned ? "thinned" : "full") : "zoomed";
    var note = document.getElementById("replay-note");
    if (note) {
      note.textContent = d === state.full ? (d.message || "") + (d.thinned ? " Zoom in to see every update." : "")
        : "Showing every update of the zoomed span.";
    }
  }

  // A thinned chart asks for the zoomed span again, at full detail.
  function refine(src) {
    var u = state.u, full = state.full;
    if (!full.thinned) { return; }
    var min = u.scales.x.min, max = u.scales.x.max;
    var span = full.full_range[1] - full.full_range[0];
    var first = full.t[0], last = full.t[full.t.length - 1];
    // Showing (nearly) the whole window, or all of its data: the thinned series is right.
    if (max - min >= span * 0.95 || (min <= first && max >= last)) {
      if (state.d !== full) { use(full); u.setData(aligned(full), false); u.setScale("x", { min: min, max: max }); }
      state.fetched = null;
      return;
    }
    var key = min.toFixed(3) + ":" + max.toFixed(3);
    if (state.fetched === key) { return; }
    state.fetched = key;
    fetch(src + "?start=" + encodeURIComponent(min) + "&end=" + encodeURIComponent(max),
      { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d || state.fetched !== key) { return; }
        use(d);
        u.setData(aligned(d), false);
        u.setScale("x", { min: min, max: max });
      });
  }

  function draw(el, d) {
    var width = Math.max(320, el.clientWidth);
    var series = [
      {},
      { label: "Best bid", stroke: "#1d7a3c", width: 1.5, spanGaps: true,
        paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } },
      { label: "Best ask", stroke: "#a61b1b", width: 1.5, spanGaps: true,
        paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } },
      { label: "Mid", stroke: "#5b6675", width: 1, dash: [4, 4], spanGaps: true,
        paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } },
    ];
    KINDS.forEach(function (k) {
      var colour = COLOURS[k[2]];
      series.push({
        label: k[1],
        stroke: colour,
        show: k[2] !== "other",
        paths: function () { return null; },
        points: {
          show: true,
          stroke: colour,
          width: 1.5,
          fill: k[3] === "circle" ? "#ffffff" : colour,
          paths: markerPaths(k[3]),
        },
      });
    });
    state.full = d;
    use(d);
    var info = document.getElementById("replay-info");
    var flag = d.flag;

    function shade(u, a, b, colour) {
      var x0 = Math.max(u.bbox.left, u.valToPos(a, "x", true));
      var x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(b, "x", true));
      if (x1 < x0) { return; }
      u.ctx.fillStyle = colour;
      u.ctx.fillRect(x0, u.bbox.top, Math.max(2, x1 - x0), u.bbox.height);
    }

    var opts = {
      width: width,
      height: 380,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      scales: { x: { time: true } },
      series: series,
      legend: { live: false },
      cursor: { drag: { x: true, y: false, setScale: true } },
      axes: [{ values: timeLabels, space: 80 }, { label: "price", size: 70 }],
      hooks: {
        drawClear: [function (u) {
          u.ctx.save();
          if (flag) { shade(u, flag[0], flag[1], "rgba(220, 38, 38, 0.10)"); }
          (state.full.windows || []).forEach(function (w) { shade(u, w[0], w[1], "rgba(220, 38, 38, 0.12)"); });
          u.ctx.restore();
        }],
        setCursor: [function (u) {
          var i = u.cursor.idx, cur = state.d;
          if (i == null || !info || !cur || i >= cur.t.length) { return; }
          var bid = state.bidFF[i], ask = state.askFF[i];
          var book = "bid " + (bid == null ? "-" : bid) + " / ask " + (ask == null ? "-" : ask);
          info.textContent = utc(cur.t[i]) + " UTC  " + book + (cur.info[i] ? "  |  " + cur.info[i] : "");
        }],
        setScale: [function (u, key) {
          if (key !== "x" || !state.u) { return; }
          clearTimeout(state.timer);
          state.timer = setTimeout(function () { refine(el.dataset.src); }, 250);
        }],
      },
    };
    el.innerHTML = "";
    var u = new uPlot(opts, aligned(d), el);
    state.u = u;
    window.mmsurvReplay = u;
    el.dataset.rendered = "1";

    // Double-click zooms out to the whole window (uPlot alone would stop at the data
    // of a zoomed request).
    u.over.addEventListener("dblclick", function () {
      u.setScale("x", { min: d.full_range[0], max: d.full_range[1] });
    });
    var reset = document.getElementById("replay-reset");
    if (reset) {
      reset.addEventListener("click", function () { u.setScale("x", { min: d.full_range[0], max: d.full_range[1] }); });
    }
    var zoomFlag = document.getElementById("replay-zoom-flag");
    if (zoomFlag && flag) {
      zoomFlag.addEventListener("click", function () {
        var padS = Math.max(1, (flag[1] - flag[0]) * 0.1);
        u.setScale("x", { min: flag[0] - padS, max: flag[1] + padS });
      });
    }
    window.addEventListener("resize", function () {
      u.setSize({ width: Math.max(320, el.clientWidth), height: 380 });
    });
  }

  function start() {
    var el = document.getElementById("replay");
    if (!el) { return; }
    fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) { return r.json().then(function (b) { throw new Error(b.detail || r.statusText); }); }
        return r.json();
      })
      .then(function (d) {
        if (!d.t.length) {
          el.textContent = d.message || "No market data in this window.";
          el.dataset.rendered = "empty";
          return;
        }
        draw(el, d);
      })
      .catch(function (err) {
        el.textContent = "The market replay could not be loaded: " + err.message;
        el.dataset.rendered = "error";
      });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
