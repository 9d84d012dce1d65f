/*
 * Draws every chart of a page: each element with class "muster-chart" and a
 * data-chart-options attribute (ECharts options as JSON, made by
 * node/reports/charts.py). No inline script is needed, so pages keep a strict
 * Content-Security-Policy. After drawing, the element gets data-chart-ready;
 * when it cannot be drawn, data-chart-error says why.
 */
(function () {
  "use strict";

  function draw(element) {
    var options;
    try {
      options = JSON.parse(element.getAttribute("data-chart-options"));
    } catch (error) {
      element.setAttribute("data-chart-error", "options");
      return null;
    }
    var renderer = element.getAttribute("data-chart-renderer") || "canvas";
    var chart = window.echarts.init(element, null, { renderer: renderer });
    chart.setOption(options);
    element.setAttribute("data-chart-ready", "true");
    return chart;
  }

  function start() {
    var elements = document.querySelectorAll(".muster-chart[data-chart-options]");
    if (typeof window.echarts === "undefined") {
      elements.forEach(function (element) {
        element.setAttribute("data-chart-error", "library");
      });
      return;
    }
    var charts = [];
    elements.forEach(function (element) {
      var chart = draw(element);
      if (chart !== null) {
        charts.push(chart);
      }
    });
    function resize() {
      charts.forEach(function (chart) {
        chart.resize();
      });
    }
    window.addEventListener("resize", resize);
    window.addEventListener("beforeprint", resize);
    window.addEventListener("afterprint", resize);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
