// Follows a running lead import (templates/admin/leads/lead/import_run.html): polls the
// run's JSON status each second, updates the bar and counts, reloads for the report.
(function () {
  "use strict";
  var box = document.getElementById("rp-import-progress");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector("progress");
  var counts = document.getElementById("rp-import-counts");
  var status = document.getElementById("rp-import-status");
  var labels = { pending: "Waiting for a worker", running: "Running" };

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (run) {
        bar.value = run.progress;
        counts.textContent = run.rows + " rows read: " + run.imported + " imported, " +
          run.duplicates + " duplicates, " + run.rejected + " rejected.";
        if (labels[run.status]) status.textContent = labels[run.status];
        if (run.status === "done" || run.status === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
