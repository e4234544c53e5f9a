// The menu: on a narrow screen it folds behind a "Menu" button; a group (Klager, Kvalitet …)
// opens as a list, and opening one closes the others. Without this script the menu is a
// list that wraps, and every group opens on its own.
(function () {
  "use strict";
  var button = document.querySelector(".menu-button");
  var nav = document.getElementById("menu");
  if (!button || !nav) return;
  button.hidden = false;
  document.documentElement.classList.add("menu-js");
  button.addEventListener("click", function () {
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("open", open);
  });
  var groups = nav.querySelectorAll("details");
  groups.forEach(function (d) {
    d.addEventListener("toggle", function () {
      if (d.open) groups.forEach(function (o) { if (o !== d) o.open = false; });
    });
  });
  document.addEventListener("click", function (event) {
    if (!nav.contains(event.target)) groups.forEach(function (d) { d.open = false; });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") groups.forEach(function (d) { d.open = false; });
  });
})();
