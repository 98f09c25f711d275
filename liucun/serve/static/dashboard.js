/* liucun dashboard: draws the charts whose data the page embeds as JSON (#chart-data)
   with the vendored Chart.js. No network access: everything is on this origin.
   A series that names its colour (a model's, from liucun.look.model_color) keeps it. */
(function () {
  "use strict";
  var node = document.getElementById("chart-data");
  if (!node || typeof Chart === "undefined") return;
  var specs = JSON.parse(node.textContent || "[]");
  var PALETTE = ["#2c7fb8", "#c0392b", "#27ae60", "#e67e22", "#8e44ad", "#7f8c8d", "#16a085"];
  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Microsoft YaHei', sans-serif";
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function pct(v) { return (v * 100).toFixed(0) + "%"; }
  function faded(hex, a) {
    var m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
    if (!m) return hex;
    return "rgba(" + parseInt(m[1], 16) + "," + parseInt(m[2], 16) + "," + parseInt(m[3], 16) + "," + a + ")";
  }
  function num(v) { return typeof v === "number" ? v.toLocaleString(undefined, { maximumFractionDigits: 2 }) : v; }

  function bar(s) {
    var datasets = s.datasets.map(function (d, i) {
      var colour = d.color || (s.colors && s.datasets.length === 1 ? s.colors : PALETTE[i % PALETTE.length]);
      return { label: d.label, data: d.data, backgroundColor: colour, borderWidth: 0 };
    });
    var value = { ticks: { callback: s.percent ? pct : num }, beginAtZero: true };
    var scales = s.horizontal ? { x: value, y: { ticks: { autoSkip: false } } } : { y: value };
    return {
      type: "bar",
      data: { labels: s.labels, datasets: datasets },
      options: {
        indexAxis: s.horizontal ? "y" : "x",
        scales: scales,
        plugins: {
          legend: { display: s.datasets.length > 1 },
          tooltip: { callbacks: { label: function (c) {
            var v = s.horizontal ? c.parsed.x : c.parsed.y;
            return c.dataset.label + ": " + (s.percent ? (v * 100).toFixed(1) + "%" : num(v));
          } } }
        }
      }
    };
  }

  function unit(s) {
    var datasets = [{
      label: s.reference, data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], borderColor: s.reference_color || "#999",
      borderDash: [4, 3], pointRadius: 0, showLine: true, fill: false
    }];
    s.series.forEach(function (ser, i) {
      var colour = ser.color || PALETTE[i % PALETTE.length];
      datasets.push({
        label: ser.label, data: ser.points, borderColor: colour,
        backgroundColor: colour, showLine: true, fill: false,
        pointRadius: ser.dots ? 3 : 0, borderWidth: 2
      });
    });
    var axis = function (title) {
      return { type: "linear", min: 0, max: 1, title: { display: true, text: title } };
    };
    return { type: "scatter", data: { datasets: datasets }, options: { scales: { x: axis(s.x), y: axis(s.y) } } };
  }

  function interval(s) {
    var ranges = s.labels.map(function (_, i) {
      var lo = s.low[i], hi = s.high[i];
      return lo === null || hi === null ? null : [lo, hi];
    });
    return {
      type: "bar",
      data: {
        labels: s.labels,
        datasets: [
          { type: "line", label: s.label, data: s.mid, showLine: false, borderColor: s.color || "#222",
            backgroundColor: s.color || "#222", pointRadius: 5 },
          { label: s.interval, data: ranges, backgroundColor: s.color ? faded(s.color, 0.3) : "rgba(44,127,184,0.35)",
            barPercentage: 0.4 }
        ]
      },
      options: {
        scales: { y: { ticks: { callback: num } } },
        plugins: { tooltip: { callbacks: { label: function (c) {
          var r = c.raw;
          if (Array.isArray(r)) return c.dataset.label + ": [" + num(r[0]) + ", " + num(r[1]) + "]";
          return c.dataset.label + ": " + num(r);
        } } } }
      }
    };
  }

  var build = { bar: bar, unit: unit, interval: interval };
  specs.forEach(function (s) {
    var canvas = document.getElementById(s.id);
    if (!canvas || !build[s.kind]) return;
    try { new Chart(canvas, build[s.kind](s)); } catch (e) { /* a chart must not break the page */ }
  });
})();
