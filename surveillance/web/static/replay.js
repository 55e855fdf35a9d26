/* Market replay of a case's window, drawn with the vendored uPlot.
 *
 * The server sends one row per record (a top-of-book update or an order event),
 * sorted by time: best bid, best ask and mid are stepped lines; each order event is
 * a marker whose colour says whose it is (AMM orange, clients blue, others grey) and
 * whose shape says what happened (open circle: new or replace, cross: cancel,
 * filled triangle: fill). Events the case's alerts name are drawn larger. The
 * flagged span is shaded. Drag across the chart to zoom; double-click or "Reset"
 * to zoom out. Times are UTC.
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

  function markerPaths(shape, inCase) {
    return function (u, seriesIdx, idx0, idx1) {
      var stroke = new Path2D();
      var fill = shape === "cross" ? null : new Path2D();
      var xs = u.data[0];
      var ys = u.data[seriesIdx];
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

  function draw(el, d) {
    var width = Math.max(320, el.clientWidth);
    var inCase = d.in_case;
    var series = [
      {},
      { label: "Best bid", stroke: "#1d7a3c", width: 1.5, spanGaps: true,
        paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } },
      { label: "Best ask", stroke: "#a61b1b", width: 1.5, spanGaps: true,
        paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } },
      { label: "Mid", stroke: "#5b6675", width: 1, dash: [4, 4], spanGaps: true,
        paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } },
    ];
    var data = [d.t, d.bid, d.ask, d.mid];
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
          paths: markerPaths(k[3], inCase),
        },
      });
      data.push(d.events[k[0]]);
    });
    var bidFF = forwardFill(d.bid), askFF = forwardFill(d.ask);
    var info = document.getElementById("replay-info");
    var flag = d.flag;
    var opts = {
      width: width,
      height: 380,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      scales: { x: { time: true } },
      series: series,
      legend: { live: false },
      cursor: { drag: { x: true, y: false, setScale: true } },
      axes: [{}, { label: d.quote ? "price (" + d.quote + ")" : "price", size: 70 }],
      hooks: {
        drawClear: [function (u) {
          if (!flag) { return; }
          var x0 = Math.max(u.bbox.left, u.valToPos(flag[0], "x", true));
          var x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(flag[1], "x", true));
          if (x1 < x0) { return; }
          u.ctx.save();
          u.ctx.fillStyle = "rgba(220, 38, 38, 0.14)";
          u.ctx.fillRect(x0, u.bbox.top, Math.max(2, x1 - x0), u.bbox.height);
          u.ctx.restore();
        }],
        setCursor: [function (u) {
          var i = u.cursor.idx;
          if (i == null || !info) { return; }
          var book = "bid " + (bidFF[i] == null ? "-" : bidFF[i]) + " / ask " + (askFF[i] == null ? "-" : askFF[i]);
          info.textContent = utc(d.t[i]) + " UTC  " + book + (d.info[i] ? "  |  " + d.info[i] : "");
        }],
      },
    };
    el.innerHTML = "";
    var u = new uPlot(opts, data, el);
    window.mmsurvReplay = u;
    var bookPoints = 0, eventPoints = 0;
    for (var i = 0; i < d.t.length; i++) {
      if (d.bid[i] != null || d.ask[i] != null) { bookPoints++; }
      if (d.info[i]) { eventPoints++; }
    }
    el.dataset.bookPoints = String(bookPoints);
    el.dataset.eventPoints = String(eventPoints);
    el.dataset.rendered = "1";

    var reset = document.getElementById("replay-reset");
    if (reset) {
      reset.addEventListener("click", function () { u.setScale("x", { min: d.range[0], max: d.range[1] }); });
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
        var note = document.getElementById("replay-note");
        if (note && d.message) { note.textContent = d.message; }
      })
      .catch(function (err) {
        el.textContent = "The market replay could not be loaded: " + err.message;
        el.dataset.rendered = "error";
      });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
