/* Routing Portal admin: the target picker (#14), on rule_builder.js's shared box.
 * The lead's own territory, a territory's team or chosen reps (with weights when the strategy
 * reads them); nothing for a strategy that takes no target. */
(function () {
  "use strict";

  var rb = window.rpRuleBuilder;
  var Box = rb.Box, el = rb.el, option = rb.option, isPlainObject = rb.isPlainObject;
  var humanField = rb.humanField, formatNumber = rb.formatNumber, loadRegions = rb.loadRegions;

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

  rb.register("target", function (root, options) {
    var picker = new Target(root, options);
    picker.start("Target");
    picker.watchStrategy();
  });
})();
