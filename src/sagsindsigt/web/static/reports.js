// The Rapporter page: a PDF or workbook takes the server several seconds to make, so the page
// shows that it is being made. The form is sent by fetch; meanwhile the button reads "Laver
// rapporten …" with a spinner, the form is aria-busy and a status line says what happens;
// then the file is saved under the server's name, or the server's Danish message is shown.
// Without this script the form downloads the same file directly (no progress shown). HTML
// reports open as a page, as before.
(function () {
  "use strict";
  var form = document.querySelector("form.report");
  if (!form || !window.fetch || !window.URLSearchParams || !window.URL) return;
  var button = form.querySelector('button[type="submit"]');
  var label = button.querySelector(".label") || button;
  var status = document.getElementById("report-status");
  var idle = label.textContent;

  function say(text, error) {
    status.textContent = text;
    status.classList.toggle("error", !!error);
  }

  function busy(on) {
    form.setAttribute("aria-busy", on ? "true" : "false");
    button.setAttribute("aria-busy", on ? "true" : "false");
    button.setAttribute("aria-disabled", on ? "true" : "false");
    button.classList.toggle("busy", on);
    label.textContent = on ? "Laver rapporten …" : idle;
  }

  function filename(disposition) {
    var m = /filename="([^"]+)"/.exec(disposition || "");
    return m ? m[1] : "rapport";
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    a.remove();
    window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  form.addEventListener("submit", function (event) {
    var data = new FormData(form);
    if (data.get("format") === "html") return;  // a page: the browser opens it
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;  // one report at a time
    var url = form.getAttribute("action") + "?" + new URLSearchParams(data).toString();
    busy(true);
    say("Laver rapporten … Det kan tage op til et halvt minut.");
    fetch(url, {credentials: "same-origin"}).then(function (r) {
      var disposition = r.headers.get("Content-Disposition") || "";
      if (r.ok && disposition.indexOf("attachment") === 0) {
        return r.blob().then(function (blob) {
          var name = filename(disposition);
          save(blob, name);
          say("Rapporten er lavet og hentet: " + name + ".");
        });
      }
      var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!r.ok && json) {
        return r.json().then(function (body) {
          say(body.error || "Rapporten kunne ikke laves.", true);
        });
      }
      window.location.assign(url);  // anything else (a sign-in page): the browser shows it
    }).catch(function () {
      say("Rapporten kunne ikke hentes: forbindelsen til serveren svigtede. Prøv igen.", true);
    }).then(function () { busy(false); });
  });
})();
