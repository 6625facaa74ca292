/* Draws the dashboard charts from the figures the page embeds (json_script); the same numbers
   are in the tables below each chart, so nothing is lost without JavaScript. */
(function () {
  "use strict";

  function minutes(seconds) {
    return seconds === null ? null : Math.round(seconds / 6) / 10;
  }

  function draw() {
    var source = document.getElementById("response-time-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var common = { responsive: true, maintainAspectRatio: false, animation: false };

    new Chart(document.getElementById("chart-histogram"), {
      type: "bar",
      data: {
        labels: data.histogram.map(function (r) { return r.bucket; }),
        datasets: [{ label: "Leads", data: data.histogram.map(function (r) { return r.count; }), backgroundColor: "#417690" }]
      },
      options: Object.assign({}, common, { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } })
    });

    new Chart(document.getElementById("chart-daily"), {
      data: {
        labels: data.daily.map(function (r) { return r.date.slice(5); }),
        datasets: [
          { type: "line", label: "Median (min)", data: data.daily.map(function (r) { return minutes(r.median_seconds); }), borderColor: "#ba2121", backgroundColor: "#ba2121", yAxisID: "y", spanGaps: true },
          { type: "bar", label: "Leads", data: data.daily.map(function (r) { return r.leads; }), backgroundColor: "rgba(65,118,144,.35)", yAxisID: "y1" }
        ]
      },
      options: Object.assign({}, common, {
        scales: {
          y: { beginAtZero: true, position: "left", title: { display: true, text: "minutes" } },
          y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, ticks: { precision: 0 } }
        }
      })
    });

    var reps = data.per_rep;
    var box = document.getElementById("chart-reps").parentNode;
    box.style.height = Math.max(12, 3 + reps.length * 2.2) + "rem";
    new Chart(document.getElementById("chart-reps"), {
      type: "bar",
      data: {
        labels: reps.map(function (r) { return r.rep; }),
        datasets: [
          { label: "Median (min)", data: reps.map(function (r) { return minutes(r.median_seconds); }), backgroundColor: "#417690" },
          { label: "p90 (min)", data: reps.map(function (r) { return minutes(r.p90_seconds); }), backgroundColor: "#f5dd5d" }
        ]
      },
      options: Object.assign({}, common, { indexAxis: "y", scales: { x: { beginAtZero: true, title: { display: true, text: "minutes" } } } })
    });
  }

  /* A preset wins over dates on the server: typing a date switches the period to custom
     dates, choosing a preset clears the dates, so the form sends what the person sees. */
  function linkPeriod() {
    var preset = document.getElementById("id_preset");
    var dates = [document.getElementById("id_start"), document.getElementById("id_end")];
    if (!preset || !dates[0] || !dates[1]) { return; }
    dates.forEach(function (input) {
      input.addEventListener("change", function () { if (input.value) { preset.value = ""; } });
    });
    preset.addEventListener("change", function () {
      if (preset.value) { dates.forEach(function (input) { input.value = ""; }); }
    });
  }

  function start() {
    linkPeriod();
    draw();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
