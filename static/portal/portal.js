/* Routing Portal pages: progressive enhancement in plain JavaScript, no dependency.
 * - SLA countdowns stay current (every 30 s) and turn red when overdue.
 * - Forms marked data-async post with fetch and swap in what the server answers
 *   (JSON: {ok, message, html, remove, errors}); without this script they post normally.
 */
(function () {
  "use strict";

  function span(seconds) {
    var minutes = Math.floor(Math.abs(seconds) / 60);
    if (minutes < 1) return "less than a minute";
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
    var parts = [];
    if (days) parts.push(days + " d");
    if (hours) parts.push(hours + " h");
    if (mins && !days) parts.push(mins + " min");
    return parts.join(" ");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var left = (due - now) / 1000;
      el.textContent = left >= 0 ? "due in " + span(left) : "overdue by " + span(left);
      el.classList.toggle("overdue", left < 0);
      var card = el.closest(".lead-card");
      if (card) card.classList.toggle("is-overdue", left < 0);
    });
  }

  function announce(message, ok) {
    var live = document.getElementById("live-messages");
    if (!live || !message) return;
    live.innerHTML = "";
    var item = document.createElement("p");
    item.className = "message" + (ok ? "" : " error");
    item.textContent = message;
    live.appendChild(item);
  }

  function showErrors(form, errors) {
    var box = form.querySelector(".form-errors");
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    var lines = [];
    Object.keys(errors || {}).forEach(function (name) {
      var field = form.querySelector('[name="' + name + '"], [name$="-' + name + '"]');
      if (field) field.setAttribute("aria-invalid", "true");
      lines = lines.concat(errors[name]);
    });
    if (box) box.textContent = lines.join(" ");
  }

  function submitAsync(event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-async]")) return;
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
    var holder = form.closest("[data-lead]");
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Portal-Fragment": "1", "Accept": "application/json" }
    }).then(function (response) {
      if (response.redirected) {
        // The session ended (sign-in page): go there, and come back here after.
        window.location.assign(response.url);
        return { ok: false, message: "" };
      }
      return response.json().catch(function () {
        return { ok: false, message: "Something went wrong (" + response.status + "). Reload the page and try again." };
      });
    }).then(function (answer) {
      announce(answer.message, answer.ok);
      if (answer.errors) { showErrors(form, answer.errors); }
      var remove = answer.remove || (answer.ok && form.getAttribute("data-on-done") === "remove");
      if (holder && remove) {
        holder.remove();
      } else if (holder && answer.ok && answer.html) {
        var wrap = document.createElement("div");
        wrap.innerHTML = answer.html.trim();
        var fresh = wrap.firstElementChild;
        holder.replaceWith(fresh);
        tick();
        var heading = fresh.querySelector("h2 a, h2");
        if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
      }
    }).catch(function () {
      announce("The portal did not answer. Check your connection and try again.", false);
    }).finally(function () {
      if (button && document.body.contains(button)) { button.disabled = false; button.removeAttribute("aria-busy"); }
    });
  }

  function checkAll(event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-check-all]")) return;
    var name = box.getAttribute("data-check-all");
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (each) {
      each.checked = box.checked;
    });
  }

  document.addEventListener("submit", submitAsync);
  document.addEventListener("change", checkAll);
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 30000);
  });
})();
