// The console's own script: progressive enhancement only (every page reads and posts without it).
// Loaded from 'self' (the CSP allows no inline script); htmx does the in-place updates.
(function () {
  "use strict";

  // Care-time timer: a Start/Stop button that fills the minutes field of its form.
  function startTimer(button) {
    var form = button.closest("form");
    var minutes = form && form.querySelector("input[name=minutes]");
    var shown = form && form.querySelector("[data-timer-display]");
    if (!minutes) { return; }
    if (button.dataset.started) {
      var elapsed = Math.max(1, Math.round((Date.now() - Number(button.dataset.started)) / 60000));
      minutes.value = String(elapsed);
      clearInterval(Number(button.dataset.interval));
      delete button.dataset.started;
      button.textContent = button.dataset.startLabel || "Start timer";
      button.setAttribute("aria-pressed", "false");
      return;
    }
    button.dataset.started = String(Date.now());
    button.dataset.startLabel = button.textContent;
    button.textContent = button.dataset.stopLabel || "Stop timer";
    button.setAttribute("aria-pressed", "true");
    button.dataset.interval = String(setInterval(function () {
      if (shown) {
        var s = Math.floor((Date.now() - Number(button.dataset.started)) / 1000);
        shown.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
      }
    }, 1000));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-timer]");
    if (button) { event.preventDefault(); startTimer(button); }
  });

  // After an in-place update, focus the new content's status message (marked data-focus-after-swap) so keyboard
  // and screen-reader users hear the result.  After an outerHTML swap the event's target is the removed element,
  // so the new one is looked up in the document; the mark is removed once used.
  document.addEventListener("htmx:afterSettle", function () {
    var status = document.querySelector("[data-focus-after-swap]");
    if (status) {
      status.removeAttribute("data-focus-after-swap");
      if (!status.hasAttribute("tabindex")) { status.setAttribute("tabindex", "-1"); }
      status.focus();
    }
  });

  // htmx does not swap an error answer (an expired session's 403, a 404, a 422): say so where the user is,
  // instead of leaving the click without effect.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var region = document.getElementById("console-error");
    if (!region) {
      region = document.createElement("div");
      region.id = "console-error";
      region.className = "problem";
      region.setAttribute("role", "alert");
      var main = document.getElementById("main");
      main.insertBefore(region, main.firstChild);
    }
    region.textContent = status === 403
      ? "Not done: your session may have ended. Reload the page (you may need to sign in again)."
      : "Not done (error " + status + "). Reload the page and try again.";
  });
})();
