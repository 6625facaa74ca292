/* Draws the distribution-balance chart (leads received beside leads expected, per rep) from
   the figures the page embeds (json_script); the same numbers are in the table below it. */
(function () {
  "use strict";

  var COLOURS = { starved: "#ba2121", flooded: "#c98a00" };

  function draw() {
    var source = document.getElementById("balance-data");
    var canvas = document.getElementById("chart-balance");
    if (!source || !canvas || typeof Chart === "undefined") { return; }
    var reps = JSON.parse(source.textContent).per_rep;
    canvas.parentNode.style.height = Math.max(12, 4 + reps.length * 2.4) + "rem";
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: reps.map(function (r) { return r.flag ? r.rep + " (" + r.flag + ")" : r.rep; }),
        datasets: [
          {
            label: "Received",
            data: reps.map(function (r) { return r.leads; }),
            backgroundColor: reps.map(function (r) { return COLOURS[r.flag] || "#417690"; })
          },
          {
            label: "Expected",
            data: reps.map(function (r) { return r.expected_leads; }),
            backgroundColor: "rgba(65,118,144,.25)",
            borderColor: "#417690",
            borderWidth: 1
          }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: "y",
        scales: { x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "leads" } } }
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
