/* Conversion dashboard: the rate per rep as bars with the 95% Wilson interval drawn as
   whiskers and the team rate as a dashed line, by a tiny Chart.js plugin (no third-party
   plugin). The figures come from the page (json_script) and are all in the table below. */
(function () {
  "use strict";

  var COLOURS = { below: "#ba2121", above: "#2e7d32", within: "#417690" };

  function pct(value) {
    return value === null ? "–" : (value * 100).toFixed(1) + "%";
  }

  /* Draws, after the bars, a whisker from ci_low to ci_high across each bar (horizontal bars:
     the value axis is x) and a dashed vertical line at the reference rate. */
  var wilsonWhiskers = {
    id: "wilsonWhiskers",
    afterDatasetsDraw: function (chart, args, options) {
      var ctx = chart.ctx;
      var scale = chart.scales.x;
      var area = chart.chartArea;
      var bars = chart.getDatasetMeta(0).data;
      ctx.save();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = options.color || "#222";
      (options.intervals || []).forEach(function (interval, i) {
        var bar = bars[i];
        if (!interval || !bar) { return; }
        var low = scale.getPixelForValue(interval[0]);
        var high = scale.getPixelForValue(interval[1]);
        var y = bar.y;
        var cap = Math.max(3, Math.min(7, bar.height / 3));
        ctx.beginPath();
        ctx.moveTo(low, y); ctx.lineTo(high, y);
        ctx.moveTo(low, y - cap); ctx.lineTo(low, y + cap);
        ctx.moveTo(high, y - cap); ctx.lineTo(high, y + cap);
        ctx.stroke();
      });
      if (typeof options.reference === "number") {
        var x = scale.getPixelForValue(options.reference);
        ctx.setLineDash([5, 4]);
        ctx.strokeStyle = options.referenceColor || "#555";
        ctx.beginPath();
        ctx.moveTo(x, area.top); ctx.lineTo(x, area.bottom);
        ctx.stroke();
      }
      ctx.restore();
    }
  };

  function draw() {
    var source = document.getElementById("conversion-data");
    var canvas = document.getElementById("chart-conversion-reps");
    if (!source || !canvas || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var reps = data.per_rep;
    canvas.parentNode.style.height = Math.max(12, 4 + reps.length * 2.2) + "rem";
    var highest = Math.max.apply(null, [0.1].concat(reps.map(function (r) { return r.ci_high || 0; })));

    new Chart(canvas, {
      type: "bar",
      data: {
        labels: reps.map(function (r) { return r.rep; }),
        datasets: [{
          label: "Conversion rate",
          data: reps.map(function (r) { return r.rate; }),
          backgroundColor: reps.map(function (r) { return COLOURS[r.vs_team] || COLOURS.within; })
        }]
      },
      plugins: [wilsonWhiskers],
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: "y",
        scales: {
          x: {
            min: 0,
            // Room for the widest whisker, in steps of 10 points, never past 100%.
            max: Math.min(1, Math.ceil(highest * 10) / 10),
            ticks: { callback: function (value) { return Math.round(value * 100) + "%"; } },
            title: { display: true, text: "converted / leads owned" }
          }
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (item) {
                var r = reps[item.dataIndex];
                if (!r.leads) { return "no leads"; }
                return pct(r.rate) + " (" + r.converted + " of " + r.leads + "), 95% interval " +
                  pct(r.ci_low) + "–" + pct(r.ci_high);
              }
            }
          },
          wilsonWhiskers: {
            intervals: reps.map(function (r) { return r.leads ? [r.ci_low, r.ci_high] : null; }),
            reference: data.overall.rate,
            color: "#222",
            referenceColor: "#555"
          }
        }
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
