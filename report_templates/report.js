// Filtering and sorting for report.html. Everything is readable without it.
(function () {
  "use strict";
  var bar = document.getElementById("filters");
  if (bar) {
    bar.hidden = false;
    var boxes = bar.querySelectorAll("input[type=checkbox]");
    var search = document.getElementById("finding-search");
    var counter = document.getElementById("filter-count");
    var apply = function () {
      var allowed = {};
      boxes.forEach(function (b) { allowed[b.dataset.sev] = b.checked; });
      var needle = search.value.trim().toLowerCase();
      var shown = 0;
      document.querySelectorAll("#findings .finding").forEach(function (f) {
        var ok = allowed[f.dataset.sev] !== false &&
          (!needle || f.textContent.toLowerCase().indexOf(needle) !== -1);
        f.classList.toggle("hidden-by-filter", !ok);
        if (ok) { shown += 1; }
      });
      document.querySelectorAll("#findings .check, #findings .severity")
        .forEach(function (el) { el.classList.remove("hidden-by-filter"); });
      // a check, and a severity section, with no finding left shown is hidden with them
      document.querySelectorAll("#findings .check, #findings .severity").forEach(function (c) {
        var any = c.querySelector(".finding:not(.hidden-by-filter)");
        c.classList.toggle("hidden-by-filter", !any);
      });
      counter.textContent = shown + " shown";
    };
    boxes.forEach(function (b) { b.addEventListener("change", apply); });
    search.addEventListener("input", apply);
    apply();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var key = function (r) {
          var t = r.cells[col] ? r.cells[col].textContent.trim() : "";
          var n = Number(t.replace(/,/g, ""));
          return t !== "" && !isNaN(n) ? n : t.toLowerCase();
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var c = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
