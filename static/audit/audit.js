/* The audit's window form: typing a date means custom dates, so the period preset clears
   (a preset would otherwise win over the dates). Without this script the preset still wins. */
(function () {
  "use strict";
  var preset = document.getElementById("id_preset");
  if (!preset) return;
  ["id_start", "id_end"].forEach(function (id) {
    var input = document.getElementById(id);
    if (input) input.addEventListener("change", function () { if (input.value) preset.value = ""; });
  });
})();
