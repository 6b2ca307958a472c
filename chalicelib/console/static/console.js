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

  // After an in-place update, move focus to the updated region's status so keyboard and screen-reader users hear it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var status = event.detail.target && event.detail.target.querySelector && event.detail.target.querySelector("[data-focus-after-swap]");
    if (status) { status.focus(); }
  });
})();
