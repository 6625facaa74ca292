/* Routing Portal admin: the rule form's condition builder and target picker (#14).
 *
 * Plain script, no build step, no dependency. Each `.rp-builder` box wraps a JSON textarea
 * (the value the form submits, and the editor when JavaScript is off). The builder edits that
 * JSON as rows and writes it back on every change; the server validates it exactly as the API
 * does and its errors come back on the textarea's data-error-paths ({"0.value": [...]}), which
 * the builder shows beside the row they name. Fields, ops and value shapes come from the
 * server (the engine's grammar) through the admin's builder-options endpoint.
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

  /* ------------------------------------------------------------- condition builder ---- */

  function Conditions(root, options) {
    Box.call(this, root, options);
    this.fields = {};
    var self = this;
    options.fields.forEach(function (f) { self.fields[f.name] = f; });
    this.grammar = options.grammar;
  }
  Conditions.prototype = Object.create(Box.prototype);

  Conditions.prototype.load = function (text) {
    var value;
    if (!text.trim()) value = [];
    else {
      try {
        value = JSON.parse(text);
      } catch (e) {
        return "The JSON is not valid (" + e.message + "); fix it here or clear it.";
      }
    }
    if (!Array.isArray(value)) return "Conditions must be a list to be shown as rows; edit the JSON here.";
    var self = this;
    var bad = false;
    function node(raw) {
      if (!isPlainObject(raw)) { bad = true; return null; }
      var keys = Object.keys(raw);
      var group = self.grammar.groups.filter(function (g) { return g in raw; })[0];
      if (group) {
        if (keys.length !== 1 || !Array.isArray(raw[group])) { bad = true; return null; }
        return { group: group, members: raw[group].map(node) };
      }
      if (keys.some(function (k) { return ["field", "op", "value"].indexOf(k) < 0; })) { bad = true; return null; }
      if (typeof raw.field !== "string" || typeof raw.op !== "string") { bad = true; return null; }
      return { field: raw.field, op: raw.op, value: "value" in raw ? raw.value : true };
    }
    var nodes = value.map(node);
    if (bad) return "These conditions use a shape the builder does not draw; edit the JSON here.";
    this.nodes = nodes;
    return "";
  };

  Conditions.prototype.json = function () {
    function out(n) {
      if (n.group) { var g = {}; g[n.group] = n.members.map(out); return g; }
      return { field: n.field, op: n.op, value: n.value };
    }
    return this.nodes.map(out);
  };

  Conditions.prototype.changed = function (structural) {
    if (structural) {
      this.errors = {};  // the paths moved: the server's errors no longer point at the right rows
      this.render();
    }
    this.write(this.json());
  };

  Conditions.prototype.kindOf = function (field) {
    if (this.fields[field]) return this.fields[field].kind;
    return field.indexOf("extra.") === 0 ? "extra" : "text";
  };

  Conditions.prototype.pickerOf = function (field) {
    if (this.fields[field]) return this.fields[field].picker;
    return field.indexOf("extra.") === 0 ? "extra" : "text";
  };

  Conditions.prototype.opsOf = function (field) {
    return this.grammar.kind_ops[this.kindOf(field)] || [];
  };

  Conditions.prototype.defaultValue = function (op) {
    var shape = this.grammar.op_values[op];
    if (shape === "list") return [];
    if (shape === "boolean") return true;
    return "";
  };

  Conditions.prototype.fitValue = function (node) {
    var shape = this.grammar.op_values[node.op];
    if (shape === "list" && !Array.isArray(node.value)) {
      node.value = node.value === "" || node.value === null || typeof node.value === "boolean" ? [] : [node.value];
    } else if (shape === "boolean" && typeof node.value !== "boolean") {
      node.value = true;
    } else if (shape !== "list" && shape !== "boolean" && (Array.isArray(node.value) || typeof node.value === "boolean")) {
      node.value = Array.isArray(node.value) && node.value.length ? node.value[0] : "";
    }
  };

  Conditions.prototype.render = function () {
    var self = this;
    this.shown = {};
    this.body.textContent = "";
    var list = el("ol", { class: "rp-rows" });
    this.nodes.forEach(function (n, i) {
      list.appendChild(self.renderNode(n, String(i), self.nodes, i, "all"));
    });
    this.body.appendChild(list);
    if (!this.nodes.length) {
      list.appendChild(el("li", { class: "rp-empty", text: "No conditions: this rule takes every lead it sees." }));
    }
    this.body.appendChild(this.adders(this.nodes, "all"));
    // errors about the list as a whole stay in the form's own error list above the builder
    this.showPreview();
  };

  /* "+ condition" and "+ any of" under a list whose members all must hold (or, in an "any of"
     group, "+ all of"), so groups alternate as the grammar nests them. */
  Conditions.prototype.adders = function (members, joiner) {
    var self = this;
    var groupKind = joiner === "all" ? "any" : "all";
    function leaf() { return { field: "country", op: self.opsOf("country")[0], value: "" }; }
    return el("div", { class: "rp-adders" }, [
      el("button", {
        type: "button", class: "button rp-add-condition", text: "+ Condition",
        onclick: function () { members.push(leaf()); self.changed(true); },
      }),
      el("button", {
        type: "button", class: "button rp-add-group",
        text: groupKind === "any" ? "+ “Any of” group" : "+ “All of” group",
        title: groupKind === "any" ? "Conditions of which one must hold" : "Conditions that must all hold",
        onclick: function () { members.push({ group: groupKind, members: [leaf()] }); self.changed(true); },
      }),
    ]);
  };

  Conditions.prototype.removeButton = function (members, index, what) {
    var self = this;
    return el("button", {
      type: "button", class: "rp-remove", title: "Remove this " + what, "aria-label": "Remove this " + what,
      text: "×",
      onclick: function () { members.splice(index, 1); self.changed(true); },
    });
  };

  Conditions.prototype.renderNode = function (n, path, members, index, joiner) {
    var self = this;
    if (n.group) {
      var box = el("li", { class: "rp-group rp-group-" + n.group, "data-path": path });
      var title = n.group === "any" ? "Any of these holds:" : "All of these hold:";
      box.appendChild(el("div", { class: "rp-group-head" }, [el("span", { text: title }), this.removeButton(members, index, "group")]));
      var groupErrors = this.takeErrors(path, false).concat(this.takeErrors(path + "." + n.group, false));
      if (groupErrors.length) box.appendChild(this.errorList(groupErrors));
      var list = el("ol", { class: "rp-rows" });
      n.members.forEach(function (m, k) {
        list.appendChild(self.renderNode(m, path + "." + n.group + "." + k, n.members, k, n.group));
      });
      box.appendChild(list);
      box.appendChild(this.adders(n.members, n.group));
      if (joiner) box.classList.add("rp-in-" + joiner);
      return box;
    }
    var row = el("li", { class: "rp-row", "data-path": path });
    if (joiner) row.classList.add("rp-in-" + joiner);
    var line = el("div", { class: "rp-line" });
    line.appendChild(this.fieldPicker(n));
    line.appendChild(this.opPicker(n));
    line.appendChild(this.valueEditor(n));
    line.appendChild(this.removeButton(members, index, "condition"));
    row.appendChild(line);
    var errors = this.takeErrors(path, true);
    if (errors.length) {
      row.classList.add("rp-has-errors");
      row.appendChild(this.errorList(errors));
    }
    return row;
  };

  Conditions.prototype.fieldPicker = function (n) {
    var self = this;
    var isExtra = n.field.indexOf("extra.") === 0;
    var select = el("select", { class: "rp-field", "aria-label": "Field" });
    var known = false;
    this.options.fields.forEach(function (f) {
      if (f.name === n.field) known = true;
      select.appendChild(option(f.name, humanField(f.name), f.name === n.field));
    });
    select.appendChild(option("extra.", "custom attribute (extra.…)", isExtra));
    if (!known && !isExtra) select.appendChild(option(n.field, n.field + " (unknown field)", true));
    var key = el("input", {
      type: "text", class: "rp-extra-key", placeholder: "key, e.g. plan", "aria-label": "Custom attribute key",
      value: isExtra ? n.field.slice(6) : "", hidden: !isExtra,
      oninput: function () { n.field = "extra." + key.value.trim(); self.changed(false); },
    });
    select.addEventListener("change", function () {
      var before = self.pickerOf(n.field);
      n.field = select.value === "extra." ? "extra." + key.value.trim() : select.value;
      var ops = self.opsOf(n.field);
      if (ops.indexOf(n.op) < 0) { n.op = ops[0]; n.value = self.defaultValue(n.op); }
      else if (self.pickerOf(n.field) !== before) n.value = self.defaultValue(n.op);
      self.changed(true);
    });
    return el("span", { class: "rp-field-box" }, [select, key]);
  };

  Conditions.prototype.opPicker = function (n) {
    var self = this;
    var labels = this.options.op_labels;
    var ops = this.opsOf(n.field);
    var select = el("select", { class: "rp-op", "aria-label": "Operator" });
    ops.forEach(function (op) {
      select.appendChild(option(op, op === "exists" ? "is present / missing" : labels[op] || op, op === n.op));
    });
    if (ops.indexOf(n.op) < 0) select.appendChild(option(n.op, n.op + " (not for this field)", true));
    select.addEventListener("change", function () {
      n.op = select.value;
      self.fitValue(n);
      self.changed(true);
    });
    return select;
  };

  /* One value's control for the field's picker: a select of known codes, a number, a date... */
  Conditions.prototype.single = function (n, value, onChange) {
    var self = this;
    var picker = this.pickerOf(n.field);
    var shape = this.grammar.op_values[n.op];
    function choices(items, placeholder) {
      var select = el("select", { class: "rp-pick", "aria-label": "Value" }, [option("", placeholder, value === "")]);
      var found = false;
      items.forEach(function (item) {
        var code = item[0];
        if (code === value) found = true;
        select.appendChild(option(code, code + (item[1] ? " — " + item[1] : ""), code === value));
      });
      if (!found && value !== "" && value !== null) select.appendChild(option(value, value + " (unknown)", true));
      select.addEventListener("change", function () { onChange(select.value); });
      return select;
    }
    if (shape === "text") return this.textInput(picker, value, onChange);  // contains, starts with...
    if (shape === "territory" || picker === "territory") return choices(this.options.territories, "— territory —");
    if (picker === "country") return choices(this.options.countries, "— country —");
    if (picker === "language") return choices(this.options.languages, "— language —");
    if (picker === "region") return this.regionPicker(value, onChange);
    if ((picker === "number" || picker === "extra") && (shape === "number" || picker === "number") && shape !== "text") {
      var number = el("input", {
        type: "number", step: "any", class: "rp-pick rp-number", "aria-label": "Number",
        value: value === "" || value === null ? "" : String(value),
      });
      number.addEventListener("input", function () {
        var text = number.value.trim();
        onChange(text === "" ? "" : isNaN(Number(text)) ? text : Number(text));
      });
      return number;
    }
    if (picker === "datetime" && shape === "number") {
      var when = el("input", {
        type: "datetime-local", class: "rp-pick", "aria-label": "Date and time (UTC)",
        value: typeof value === "string" ? value.slice(0, 16) : "",
      });
      when.addEventListener("input", function () { onChange(when.value ? when.value + ":00Z" : ""); });
      return el("span", {}, [when, el("span", { class: "rp-hint", text: " UTC" })]);
    }
    return this.textInput(picker, value, onChange);
  };

  Conditions.prototype.textInput = function (picker, value, onChange) {
    var text = el("input", {
      type: "text", class: "rp-pick", "aria-label": "Value", value: value === null ? "" : String(value),
      list: picker === "source" ? this.sourcesList() : null,
      placeholder: picker === "source" ? "a lead source" : "",
    });
    text.addEventListener("input", function () { onChange(text.value); });
    return text;
  };

  Conditions.prototype.sourcesList = function () {
    var id = "rp-sources-list";
    if (!document.getElementById(id)) {
      document.body.appendChild(el("datalist", { id: id }, this.options.sources.map(function (s) {
        return el("option", { value: s });
      })));
    }
    return id;
  };

  Conditions.prototype.regionPicker = function (value, onChange) {
    var url = this.root.getAttribute("data-options-url");
    var country = typeof value === "string" && value.indexOf("-") > 0 ? value.split("-")[0] : "US";
    var countries = el("select", { class: "rp-region-country", "aria-label": "Country of the region" });
    this.options.countries.forEach(function (c) { countries.appendChild(option(c[0], c[0] + " — " + c[1], c[0] === country)); });
    var regions = el("select", { class: "rp-pick", "aria-label": "Region" });
    function fill() {
      regions.textContent = "";
      regions.appendChild(option("", "— region —", !value));
      loadRegions(url, countries.value).then(function (items) {
        var found = false;
        items.forEach(function (r) {
          if (r[0] === value) found = true;
          regions.appendChild(option(r[0], r[0] + " — " + r[1], r[0] === value));
        });
        if (!found && value) regions.appendChild(option(value, value + " (unknown)", true));
      });
    }
    countries.addEventListener("change", function () { value = ""; onChange(""); fill(); });
    regions.addEventListener("change", function () { value = regions.value; onChange(regions.value); });
    fill();
    return el("span", { class: "rp-region" }, [countries, regions]);
  };

  Conditions.prototype.valueEditor = function (n) {
    var self = this;
    var shape = this.grammar.op_values[n.op];
    if (shape === "boolean") {
      var select = el("select", { class: "rp-pick rp-exists", "aria-label": "Present or missing" }, [
        option("true", "is present", n.value === true),
        option("false", "is missing", n.value === false),
      ]);
      select.addEventListener("change", function () { n.value = select.value === "true"; self.changed(false); });
      return el("span", { class: "rp-value" }, [select]);
    }
    if (shape !== "list") {
      return el("span", { class: "rp-value" }, [this.single(n, n.value, function (v) { n.value = v; self.changed(false); })]);
    }
    var values = Array.isArray(n.value) ? n.value : [];
    n.value = values;
    var chips = el("span", { class: "rp-chips" });
    function drawChips() {
      chips.textContent = "";
      values.forEach(function (v, i) {
        chips.appendChild(el("span", { class: "rp-chip" }, [
          String(v),
          el("button", {
            type: "button", class: "rp-chip-remove", "aria-label": "Remove " + v, text: "×",
            onclick: function () { values.splice(i, 1); drawChips(); self.changed(false); },
          }),
        ]));
      });
    }
    var pending = "";
    var holder = el("span", { class: "rp-adder" });
    function add() {
      if (pending === "" || pending === null || values.indexOf(pending) >= 0) return;
      values.push(pending);
      drawChips();
      self.changed(false);
      pending = "";
      holder.textContent = "";
      holder.appendChild(fresh());
    }
    function fresh() {
      var control = self.single(n, "", function (v) { pending = v; });
      control.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); add(); }
      });
      return control;
    }
    holder.appendChild(fresh());
    drawChips();
    return el("span", { class: "rp-value rp-list" }, [
      chips, holder,
      el("button", { type: "button", class: "button rp-add-value", text: "Add", onclick: add }),
    ]);
  };

  Conditions.prototype.sentence = function (n) {
    var self = this;
    if (n.group) {
      var parts = n.members.map(function (m) { return self.sentence(m); });
      var joined = parts.join(n.group === "any" ? " or " : " and ");
      return parts.length > 1 ? "(" + joined + ")" : joined;
    }
    if (n.op === "exists") return humanField(n.field) + (n.value === false ? " is missing" : " is present");
    var label = this.options.op_labels[n.op] || n.op;
    var code = ["country", "region", "territory", "language"].indexOf(this.pickerOf(n.field)) >= 0 || n.op === "within";
    function word(v) {
      if (typeof v === "number") return formatNumber(v);
      if (v === "" || v === null) return "…";
      return code ? String(v) : "“" + v + "”";
    }
    var value = Array.isArray(n.value) ? "(" + (n.value.length ? n.value.map(word).join(", ") : "…") + ")" : word(n.value);
    return humanField(n.field) + " " + label + " " + value;
  };

  Conditions.prototype.showPreview = function () {
    if (!this.preview || !this.nodes) return;
    var self = this;
    var text = this.nodes.length
      ? this.nodes.map(function (n) { return self.sentence(n); }).join(" and ")
      : "every lead";
    this.preview.textContent = "Applies to: " + text.charAt(0).toUpperCase() + text.slice(1);
  };

  /* ---------------------------------------------------------------- target picker ---- */

  function Target(root, options) {
    Box.call(this, root, options);
    this.grammar = options.grammar;
    this.strategy = document.getElementById("id_strategy");
    this.kept = null;  // the target a targetless strategy set aside, restored when it changes back
  }
  Target.prototype = Object.create(Box.prototype);

  Target.prototype.strategyValue = function () {
    return this.strategy ? this.strategy.value : "";
  };

  Target.prototype.weighted = function () {
    return this.grammar.weighted_strategies.indexOf(this.strategyValue()) >= 0;
  };

  Target.prototype.targetless = function () {
    return this.grammar.targetless_strategies.indexOf(this.strategyValue()) >= 0;
  };

  Target.prototype.load = function (text) {
    var value = null;
    if (text.trim()) {
      try {
        value = JSON.parse(text);
      } catch (e) {
        return "The JSON is not valid (" + e.message + "); fix it here or clear it.";
      }
    }
    var state = { kind: "lead", territory: "", reps: {} };
    if (value === null) state.kind = this.targetless() ? "none" : "lead";
    else if (!isPlainObject(value) || Object.keys(value).length !== 1) {
      return "This target has a shape the picker does not draw; edit the JSON here.";
    } else if ("territory" in value) {
      if (value.territory === this.grammar.lead_target) state.kind = "lead";
      else { state.kind = "territory"; state.territory = value.territory; }
    } else if (Array.isArray(value.reps)) {
      state.kind = "reps";
      state.order = [];
      for (var i = 0; i < value.reps.length; i++) {
        var entry = typeof value.reps[i] === "string" ? { username: value.reps[i] } : value.reps[i];
        if (!isPlainObject(entry) || typeof entry.username !== "string") {
          return "This list of reps has a shape the picker does not draw; edit the JSON here.";
        }
        state.reps[entry.username] = "weight" in entry ? entry.weight : null;
        state.order.push(entry.username);
      }
    } else {
      return "This target has a shape the picker does not draw; edit the JSON here.";
    }
    this.state = state;
    return "";
  };

  Target.prototype.defaultWeight = function (username) {
    var rep = this.options.reps.filter(function (r) { return r[0] === username; })[0];
    return rep ? rep[2] : 1;
  };

  Target.prototype.json = function () {
    var s = this.state;
    var self = this;
    if (this.targetless() || s.kind === "none") return null;
    if (s.kind === "lead") return { territory: this.grammar.lead_target };
    if (s.kind === "territory") return { territory: s.territory };
    var names = (s.order || []).filter(function (u) { return u in s.reps; });
    return {
      reps: names.map(function (u) {
        var entry = { username: u };
        if (self.weighted()) entry.weight = s.reps[u] === null ? self.defaultWeight(u) : s.reps[u];
        return entry;
      }),
    };
  };

  Target.prototype.changed = function (structural) {
    if (structural) {
      this.errors = {};
      this.render();
    }
    this.write(this.json());
  };

  Target.prototype.render = function () {
    var self = this;
    var s = this.state;
    this.shown = {};
    this.body.textContent = "";
    if (this.targetless()) {
      this.body.appendChild(el("p", { class: "rp-targetless", text: "“" + this.strategyLabel() + "” needs no target: it gives the lead to the owner of the account its email domain belongs to." }));
    } else {
      var name = "rp-target-kind-" + (this.textarea.id || "target");
      var kinds = [
        ["lead", "The lead’s own territory", "its team; if no one there is eligible, its parent territory’s, and so on up"],
        ["territory", "A territory’s team", "the reps of one territory and of its sub-territories"],
        ["reps", "Chosen reps", "only the reps ticked below"],
      ];
      var fieldset = el("div", { class: "rp-target-kinds", role: "radiogroup", "aria-label": "Who gets the lead" });
      kinds.forEach(function (k) {
        var input = el("input", { type: "radio", name: name, value: k[0], checked: s.kind === k[0] });
        input.addEventListener("change", function () {
          s.kind = k[0];
          if (s.kind === "reps" && !s.order) s.order = [];
          self.changed(true);
        });
        fieldset.appendChild(el("label", { class: "rp-target-kind" }, [input, " ", el("strong", { text: k[1] }), el("span", { class: "rp-hint", text: " — " + k[2] })]));
      });
      this.body.appendChild(fieldset);
      if (s.kind === "territory") this.body.appendChild(this.territoryPicker());
      if (s.kind === "reps") this.body.appendChild(this.repPicker());
    }
    this.showPreview();
  };

  Target.prototype.strategyLabel = function () {
    var value = this.strategyValue();
    var found = this.options.strategies.filter(function (st) { return st[0] === value; })[0];
    return found ? found[1] : value;
  };

  Target.prototype.territoryPicker = function () {
    var self = this;
    var s = this.state;
    var select = el("select", { class: "rp-target-territory", "aria-label": "Territory" }, [option("", "— territory —", !s.territory)]);
    var found = false;
    this.options.territories.forEach(function (t) {
      if (t[0] === s.territory) found = true;
      var label = t[0] + " — " + t[1] + (t[2] ? " (in " + t[2] + ")" : "");
      select.appendChild(option(t[0], label, t[0] === s.territory));
    });
    if (!found && s.territory) select.appendChild(option(s.territory, s.territory + " (unknown)", true));
    select.addEventListener("change", function () { s.territory = select.value; self.changed(false); });
    var errors = this.takeErrors("territory", true);
    return el("div", { class: "rp-target-detail" + (errors.length ? " rp-has-errors" : "") }, [select, this.errorList(errors)]);
  };

  Target.prototype.repPicker = function () {
    var self = this;
    var s = this.state;
    var weighted = this.weighted();
    var table = el("table", { class: "rp-reps" });
    table.appendChild(el("thead", {}, [el("tr", {}, [
      el("th", { text: "Rep" }), weighted ? el("th", { text: "Weight" }) : null,
    ])]));
    var body = el("tbody");
    var known = this.options.reps.map(function (r) { return r[0]; });
    var rows = this.options.reps.slice();
    (s.order || []).forEach(function (u) { if (known.indexOf(u) < 0) rows.push([u, u + " (unknown rep)", 1, true]); });
    rows.forEach(function (rep) {
      var username = rep[0];
      var index = (s.order || []).indexOf(username);
      var ticked = username in s.reps;
      var box = el("input", { type: "checkbox", class: "rp-rep", value: username, checked: ticked, id: "rp-rep-" + username });
      var weight = el("input", {
        type: "number", min: "0", step: "1", class: "rp-weight", "aria-label": "Weight of " + username,
        value: String(ticked && s.reps[username] !== null ? s.reps[username] : rep[2]), disabled: !ticked,
      });
      box.addEventListener("change", function () {
        if (box.checked) { s.reps[username] = Number(weight.value); s.order.push(username); }
        else { delete s.reps[username]; s.order.splice(s.order.indexOf(username), 1); }
        weight.disabled = !box.checked;
        self.changed(false);
      });
      weight.addEventListener("input", function () {
        var n = Number(weight.value);
        s.reps[username] = weight.value.trim() === "" || isNaN(n) ? weight.value : n;
        self.changed(false);
      });
      var errors = index >= 0 ? self.takeErrors("reps." + index, true) : [];
      var label = el("label", { for: "rp-rep-" + username }, [
        " " + username, el("span", { class: "rp-hint", text: rep[1] !== username ? " — " + rep[1] : "" }),
        rep[3] ? null : el("span", { class: "rp-hint", text: " (inactive)" }),
      ]);
      body.appendChild(el("tr", { class: errors.length ? "rp-has-errors" : "" }, [
        el("td", {}, [box, label, self.errorList(errors)]),
        weighted ? el("td", {}, [weight]) : null,
      ]));
    });
    table.appendChild(body);
    var listErrors = this.takeErrors("reps", false);
    return el("div", { class: "rp-target-detail" }, [
      this.errorList(listErrors),
      table,
      weighted ? el("p", { class: "rp-hint", text: "Each rep gets a share of the leads in proportion to their weight; 0 gives none." }) : null,
    ]);
  };

  Target.prototype.showPreview = function () {
    if (!this.preview || !this.state) return;
    var s = this.state;
    var self = this;
    var text;
    if (this.targetless()) text = "the owner of the lead’s account";
    else if (s.kind === "lead") text = "the lead’s own territory, then its parents";
    else if (s.kind === "territory") text = s.territory ? "the team of " + s.territory + " (and its sub-territories)" : "a territory’s team (pick one)";
    else {
      var names = (s.order || []).filter(function (u) { return u in s.reps; }).map(function (u) {
        return self.weighted() ? u + " ×" + (s.reps[u] === null ? self.defaultWeight(u) : s.reps[u]) : u;
      });
      text = names.length ? names.join(", ") : "no one yet (tick reps)";
    }
    this.preview.textContent = "Goes to: " + text + (this.strategyValue() ? ", by " + this.strategyLabel().toLowerCase() : "");
  };

  Target.prototype.start = function (title) {
    Box.prototype.start.call(this, title);
    // a new rule's empty target reads as the picker's default (the lead's own territory)
    if (!this.raw && !this.textarea.value.trim() && !this.targetless()) this.write(this.json());
  };

  Target.prototype.watchStrategy = function () {
    var self = this;
    if (!this.strategy) return;
    this.strategy.addEventListener("change", function () {
      if (self.raw) return;
      if (self.targetless()) {
        if (self.state.kind !== "none") self.kept = self.state;
        self.state = { kind: "none", territory: "", reps: {} };
      } else if (self.state.kind === "none") {
        self.state = self.kept || { kind: "lead", territory: "", reps: {} };
      }
      self.changed(true);
    });
  };

  /* ------------------------------------------------------------------------ start ---- */

  function start(root) {
    var kind = root.getAttribute("data-builder");
    loadOptions(root.getAttribute("data-options-url")).then(function (options) {
      if (kind === "conditions") new Conditions(root, options).start("Conditions");
      else {
        var picker = new Target(root, options);
        picker.start("Target");
        picker.watchStrategy();
      }
    }).catch(function (error) {
      var note = el("p", { class: "rp-notice", role: "alert", text: String(error.message || error) + "; edit the JSON below." });
      root.insertBefore(note, root.firstChild);
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".rp-builder"), start);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
