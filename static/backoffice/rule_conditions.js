/* Routing Portal admin: the condition builder (#14), on rule_builder.js's shared box.
 * Rows of field / operator / value, "any of" and "all of" groups as the grammar nests them,
 * value pickers that fit the field, and a live sentence. */
(function () {
  "use strict";

  var rb = window.rpRuleBuilder;
  var Box = rb.Box, el = rb.el, option = rb.option, isPlainObject = rb.isPlainObject;
  var humanField = rb.humanField, formatNumber = rb.formatNumber, loadRegions = rb.loadRegions;

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

  /* The country a region list opens on: the region's own, else the first country the rule
     names (country = DE, country in (DE, AT)), else the US. */
  Conditions.prototype.regionCountry = function (value) {
    if (typeof value === "string" && value.indexOf("-") > 0) return value.split("-")[0];
    var named = null;
    (function walk(nodes) {
      nodes.forEach(function (n) {
        if (named) return;
        if (n.group) walk(n.members);
        else if (n.field === "country") {
          var v = Array.isArray(n.value) ? n.value[0] : n.value;
          if (typeof v === "string" && /^[A-Za-z]{2}$/.test(v)) named = v.toUpperCase();
        }
      });
    })(this.nodes || []);
    return named || "US";
  };

  Conditions.prototype.regionPicker = function (value, onChange) {
    var url = this.root.getAttribute("data-options-url");
    var country = this.regionCountry(value);
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

  rb.register("conditions", function (root, options) { new Conditions(root, options).start("Conditions"); });
})();
