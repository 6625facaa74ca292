/* Routing Portal admin: the rule form's condition builder and target picker (#14).
 *
 * Plain script, no build step, no dependency. Each `.rp-builder` box wraps a JSON textarea
 * (the value the form submits, and the editor when JavaScript is off). The builder edits that
 * JSON as rows and writes it back on every change; the server validates it exactly as the API
 * does and its errors come back on the textarea's data-error-paths ({"0.value": [...]}), which
 * the builder shows beside the row they name. Fields, ops and value shapes come from the
 * server (the engine's grammar) through the admin's builder-options endpoint.
 *
 * This file holds what both editors share (the box, its toolbar and raw JSON view, errors by
 * path, the options) and starts them; rule_conditions.js and rule_target.js are the editors.
 */
(function () {
  "use strict";

  var optionsCache = {};
  var regionCache = {};

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("the builder's options did not load (" + response.status + ")");
        return response.json();
      });
  }

  function loadOptions(url) {
    if (!optionsCache[url]) optionsCache[url] = getJSON(url);
    return optionsCache[url];
  }

  function loadRegions(url, country) {
    var key = url + "|" + country;
    if (!regionCache[key]) {
      regionCache[key] = getJSON(url + "?country=" + encodeURIComponent(country)).then(function (data) {
        return data.regions;
      });
    }
    return regionCache[key];
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else if (key === "value") node.value = value;
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function option(value, label, selected) {
    return el("option", { value: value, text: label, selected: !!selected });
  }

  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function humanField(name) {
    if (name.indexOf("extra.") === 0) return "custom attribute " + name.slice(6);
    return name.replace(/_/g, " ");
  }

  function formatNumber(value) {
    return typeof value === "number" ? value.toLocaleString("en-US") : String(value);
  }

  function parseErrors(textarea) {
    try {
      return JSON.parse(textarea.getAttribute("data-error-paths") || "{}");
    } catch (e) {
      return {};
    }
  }

  /* ---------------------------------------------------------------- the shared box ---- */

  function Box(root, options) {
    this.root = root;
    this.options = options;
    this.ui = root.querySelector(".rp-builder-ui");
    this.textarea = root.querySelector("textarea");
    this.errors = parseErrors(this.textarea);
    this.raw = false;
  }

  Box.prototype.toolbar = function (title) {
    var self = this;
    this.preview = el("p", { class: "rp-preview", "aria-live": "polite" });
    this.notice = el("p", { class: "rp-notice", hidden: true, role: "alert" });
    this.rawButton = el("button", {
      type: "button",
      class: "button rp-raw-toggle",
      "aria-pressed": "false",
      text: "Raw JSON",
      onclick: function () { self.toggleRaw(); },
    });
    return el("div", { class: "rp-toolbar" }, [el("strong", { text: title }), this.rawButton]);
  };

  Box.prototype.write = function (value) {
    this.textarea.value = value === null ? "" : JSON.stringify(value, null, 2);
    this.showPreview();
  };

  Box.prototype.say = function (text) {
    this.notice.textContent = text || "";
    this.notice.hidden = !text;
  };

  Box.prototype.toggleRaw = function (force) {
    var raw = force === undefined ? !this.raw : force;
    if (!raw) {
      var problem = this.load(this.textarea.value);
      if (problem) {
        this.say(problem);
        raw = true;
      } else {
        this.say("");
        this.render();
      }
    }
    this.raw = raw;
    this.root.classList.toggle("rp-show-raw", raw);
    this.rawButton.setAttribute("aria-pressed", raw ? "true" : "false");
    this.rawButton.textContent = raw ? "Back to the builder" : "Raw JSON";
  };

  Box.prototype.start = function (title) {
    this.ui.appendChild(this.toolbar(title));
    this.ui.appendChild(this.notice);
    this.body = el("div", { class: "rp-body" });
    this.ui.appendChild(this.body);
    this.ui.appendChild(this.preview);
    this.ui.hidden = false;
    this.root.classList.add("rp-builder-on");
    var problem = this.load(this.textarea.value);
    if (problem) {
      this.say(problem);
      this.toggleRaw(true);
    } else {
      this.render();
    }
  };

  Box.prototype.errorList = function (messages) {
    if (!messages.length) return null;
    return el("ul", { class: "errorlist rp-row-errors" }, messages.map(function (m) {
      return el("li", { text: m });
    }));
  };

  /* Errors at `path` itself or below it (when `deep`); each is shown once. */
  Box.prototype.takeErrors = function (path, deep) {
    var found = [];
    var self = this;
    Object.keys(this.errors).forEach(function (key) {
      if (self.shown[key]) return;
      if (key === path || (deep && key.indexOf(path === "" ? "" : path + ".") === 0)) {
        self.shown[key] = true;
        found = found.concat(self.errors[key]);
      }
    });
    return found;
  };

  /* ------------------------------------------------------------------------ start ---- */

  // rule_conditions.js and rule_target.js register their editor by the box's data-builder
  var kinds = {};

  function start(root) {
    var kind = kinds[root.getAttribute("data-builder")];
    if (!kind) return;
    loadOptions(root.getAttribute("data-options-url")).then(function (options) {
      kind(root, options);
    }).catch(function (error) {
      var note = el("p", { class: "rp-notice", role: "alert", text: String(error.message || error) + "; edit the JSON below." });
      root.insertBefore(note, root.firstChild);
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".rp-builder"), start);
  }

  window.rpRuleBuilder = {
    Box: Box,
    el: el,
    option: option,
    isPlainObject: isPlainObject,
    humanField: humanField,
    formatNumber: formatNumber,
    loadRegions: loadRegions,
    register: function (name, kind) { kinds[name] = kind; },
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
