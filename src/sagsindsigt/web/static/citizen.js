// The citizens' page: the search filters the case types as you type (without this script the
// form searches on the server). The count under the field is read out by screen readers.
(function () {
  "use strict";
  var field = document.getElementById("soeg");
  var count = document.getElementById("antal");
  if (!field || !count) return;
  var items = Array.prototype.slice.call(document.querySelectorAll("article.case-type"));
  var areas = Array.prototype.slice.call(document.querySelectorAll("section.area"));
  var total = items.length;
  function filter() {
    var words = field.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    items.forEach(function (a) {
      var text = a.getAttribute("data-search") || "";
      var hit = words.every(function (w) { return text.indexOf(w) !== -1; });
      a.hidden = !hit;
      if (hit) shown += 1;
    });
    areas.forEach(function (s) {
      s.hidden = !s.querySelector("article.case-type:not([hidden])");
    });
    count.textContent = words.length ? shown + " af " + total + " ydelser passer på »" +
      field.value.trim() + "«." : total + " ydelser.";
  }
  field.addEventListener("input", filter);
})();
