// Draws the page's charts (Vega-Lite specs in #vega-specs, vendored vega-embed) and makes a
// bar that carries an `href` in its data a link: a click drills down to the same view as the
// table row it stands for. Keyboard and screen-reader users follow the table's row links.
(function () {
  "use strict";
  var holder = document.getElementById("vega-specs");
  if (!holder || typeof vegaEmbed !== "function") return;
  var specs = JSON.parse(holder.textContent);
  specs.forEach(function (spec, i) {
    var el = document.getElementById("chart-" + i);
    if (!el) return;
    // Vega names the container itself when it draws ("Vega visualization", role
    // graphics-document): the page's Danish name and role are kept and set again below.
    var name = el.getAttribute("aria-label") || spec.description || spec.title;
    // the expression interpreter, not eval: the Content-Security-Policy allows no eval
    var options = {actions: false, renderer: "svg"};
    if (window.vega && vega.expressionInterpreter) {
      options.ast = true;
      options.expr = vega.expressionInterpreter;
    }
    vegaEmbed(el, spec, options).then(function (result) {
      // The chart is one image, named by its container (role="img", aria-label); its numbers
      // are in the table next to it. Vega's own mark-by-mark ARIA tree would repeat them.
      var svg = el.querySelector("svg");
      if (svg) svg.setAttribute("aria-hidden", "true");
      el.setAttribute("role", "img");
      el.setAttribute("aria-label", name);
      el.removeAttribute("aria-roledescription");
      result.view.addEventListener("click", function (event, item) {
        var href = item && item.datum && item.datum.href;
        if (href) window.location.assign(href);
      });
      el.dataset.ready = "true";
    }).catch(function () {
      el.textContent = "Diagrammet kunne ikke tegnes; tallene står i tabellen.";
    });
  });
})();
