// The report pages' charts: each [data-chart] element names the <script type="application/json"> holding its
// ECharts option (reports/report_body.html). Drawn on load and after every htmx swap of the report body.
(function () {
  "use strict";
  function draw(root) {
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      var source = document.getElementById(element.dataset.chart);
      if (!source) { return; }
      if (typeof window.echarts === "undefined") {
        element.textContent = "图表组件（ECharts）未安装：请运行 scripts/run 或 scripts/test 下载；数据见下方表格。";
        element.classList.add("chart-missing");
        return;
      }
      var chart = window.echarts.getInstanceByDom(element) || window.echarts.init(element);
      chart.setOption(JSON.parse(source.textContent), true);
      element.dataset.drawn = "true";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target.parentNode || document); });
  window.addEventListener("resize", function () {
    if (typeof window.echarts === "undefined") { return; }
    document.querySelectorAll("[data-drawn]").forEach(function (element) {
      var chart = window.echarts.getInstanceByDom(element);
      if (chart) { chart.resize(); }
    });
  });
})();
