// The review form (kvalitetsopfølgning): every answer is saved the moment it is given, with
// a small fetch, so nothing is lost if the browser closes. Our own code; no CDN.
(function () {
  "use strict";
  const form = document.getElementById("review");
  if (!form) return;
  const who = form.querySelector("#reviewer");
  const KEY = "sagsindsigt-bedoemmer";
  if (who && !who.value) who.value = localStorage.getItem(KEY) || "";
  if (who) who.addEventListener("change", () => localStorage.setItem(KEY, who.value.trim()));

  function answered() {
    const all = form.querySelectorAll("fieldset[data-check]");
    let n = 0;
    all.forEach((fs) => { if (fs.querySelector("input[type=radio]:checked")) n += 1; });
    const el = document.getElementById("answered");
    if (el) el.textContent = n + " af " + all.length + " kontrolpunkter besvaret.";
  }

  async function save(fs) {
    const status = fs.querySelector(".saved");
    const choice = fs.querySelector("input[type=radio]:checked");
    if (!choice) return;
    if (!who.value.trim()) {
      status.textContent = "Skriv bedømmerens navn først; svaret er ikke gemt.";
      who.focus();
      return;
    }
    status.textContent = "Gemmer …";
    const note = fs.querySelector("textarea");
    const body = {
      concept: form.dataset.concept, round: form.dataset.round, case_id: form.dataset.case,
      check: fs.dataset.check, result: choice.value, note: note ? note.value : null,
      reviewer: who.value.trim(), role: form.dataset.role,
    };
    try {
      const r = await fetch(form.dataset.api, {
        method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
        body: JSON.stringify(body), keepalive: true,
      });
      const data = await r.json();
      status.textContent = r.ok ? data.message : "Ikke gemt: " + data.error;
      fs.dataset.saved = r.ok ? "ja" : "nej";
    } catch (e) {
      status.textContent = "Ikke gemt: serveren svarer ikke. Prøv igen.";
      fs.dataset.saved = "nej";
    }
    answered();
  }

  const timers = new WeakMap();
  form.addEventListener("change", (ev) => {
    const fs = ev.target.closest("fieldset[data-check]");
    if (fs) save(fs);
  });
  form.addEventListener("input", (ev) => {
    if (ev.target.tagName !== "TEXTAREA") return;
    const fs = ev.target.closest("fieldset[data-check]");
    clearTimeout(timers.get(fs));
    timers.set(fs, setTimeout(() => save(fs), 700));
  });
})();

// The session's CSRF token (every change must carry it; see web/access.py)
function csrf() {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.content : "";
}
