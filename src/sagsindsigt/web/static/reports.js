// The Rapporter page: a PDF or workbook is made by the server as a job, and the page shows how
// far it is. The form's choices go to /rapporter/start (the same checks as the direct
// download); the page then asks /rapporter/job/<id> a few times a second and shows the stage
// ("Beregner tal …", "Tegner diagrammer …", "Sætter siderne …") with a progress bar, while
// the button reads "Laver rapporten …" with a spinner and the form is aria-busy. The status
// line (read aloud) changes with the stage only; the bar and its figure show the share done.
// When the job is done the file is fetched and saved under the server's name; a refusal
// shows the server's Danish sentence. Without this script the form downloads the same file
// directly (no progress shown). HTML reports open as a page, as before.
(function () {
  "use strict";
  var form = document.querySelector("form.report");
  if (!form || !window.fetch || !window.URLSearchParams || !window.URL) return;
  var button = form.querySelector('button[type="submit"]');
  var label = button.querySelector(".label") || button;
  var status = document.getElementById("report-status");
  var box = form.querySelector(".report-progress");
  var bar = box ? box.querySelector("progress") : null;
  var percent = box ? box.querySelector(".percent") : null;
  var idle = label.textContent;
  var POLL = 250;  // ms between two questions about the job
  var JSON_ONLY = {credentials: "same-origin", headers: {"Accept": "application/json"}};

  function say(text, error) {  // the status line is a live region: only a new sentence
    if (status.textContent !== text) status.textContent = text;  // is read aloud
    status.classList.toggle("error", !!error);
  }

  function show(share) {  // share: 0–100, or null to hide the bar
    if (!box) return;
    box.hidden = share === null;
    if (share === null) return;
    bar.value = share;
    bar.textContent = share + " %";
    percent.textContent = share + " %";
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
    return m ? m[1] : "";
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

  function isJson(r) {
    return (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
  }

  function refused(r, fallback) {  // a Danish JSON refusal, else the browser shows the answer
    if (!r.ok && isJson(r)) {
      return r.json().then(function (body) {
        show(null);
        say(body.error || "Rapporten kunne ikke laves.", true);
      });
    }
    window.location.assign(fallback);  // anything else (a sign-in page): the browser shows it
  }

  function fetchFile(url, fallbackName) {  // the file saved under the server's name
    return fetch(url, {credentials: "same-origin"}).then(function (r) {
      var disposition = r.headers.get("Content-Disposition") || "";
      if (r.ok && disposition.indexOf("attachment") === 0) {
        return r.blob().then(function (blob) {
          var name = filename(disposition) || fallbackName || "rapport";
          save(blob, name);
          show(null);
          say("Rapporten er lavet og hentet: " + name + ".");
        });
      }
      return refused(r, url);
    });
  }

  function follow(job, direct) {  // until the job is done or failed; resolves when ready
    show(job.percent);
    if (job.state === "done") {
      say("Rapporten er klar. Henter " + job.filename + " …");
      return fetchFile(job.file, job.filename);
    }
    if (job.state === "error") {
      show(null);
      say(job.error || job.text, true);
      return Promise.resolve();
    }
    say(job.text);  // the stage; the bar beside it has the share done
    return new Promise(function (resolve) { window.setTimeout(resolve, POLL); })
      .then(function () { return fetch("/rapporter/job/" + encodeURIComponent(job.id), JSON_ONLY); })
      .then(function (r) {
        if (r.ok && isJson(r)) {
          return r.json().then(function (next) { return follow(next, direct); });
        }
        if (r.status === 404) {  // another server process answered (or the job expired):
          show(null);            // the report is made once more, directly, without progress
          say("Laver rapporten …");
          return fetchFile(direct, "");
        }
        return refused(r, window.location.href);
      });
  }

  form.addEventListener("submit", function (event) {
    var data = new FormData(form);
    if (data.get("format") === "html") return;  // a page: the browser opens it
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;  // one report at a time
    var query = new URLSearchParams(data).toString();
    var direct = form.getAttribute("action") + "?" + query;
    busy(true);
    show(0);
    say("Laver rapporten …");
    fetch(form.getAttribute("data-start") + "?" + query, JSON_ONLY).then(function (r) {
      if (r.status === 202 && isJson(r)) {
        return r.json().then(function (job) { return follow(job, direct); });
      }
      return refused(r, direct);
    }).catch(function () {
      show(null);
      say("Rapporten kunne ikke hentes: forbindelsen til serveren svigtede. Prøv igen.", true);
    }).then(function () { busy(false); });
  });
})();
