// The run page's live progress: Server-Sent Events update the progress bar and the counts;
// when the run ends the page reloads to show each row's outcome. Without this, reloading does.
"use strict";
(function () {
  var bar = document.getElementById("progress");
  if (!bar || !bar.dataset.events || !window.EventSource) return;
  var meter = bar.querySelector("progress");
  var text = document.getElementById("progress-text");
  var counts = document.getElementById("progress-counts");
  var symbols = JSON.parse(counts.dataset.symbols);
  var source = new EventSource(bar.dataset.events);

  function show(event) {
    var state = JSON.parse(event.data);
    var said = state.phase.charAt(0).toUpperCase() + state.phase.slice(1) + ": " +
      state.done + " of " + state.total;
    bar.setAttribute("aria-valuenow", state.done);
    bar.setAttribute("aria-valuemax", Math.max(state.total, 1));
    bar.setAttribute("aria-valuetext", said);
    meter.max = Math.max(state.total, 1);
    meter.value = state.done;
    text.textContent = said;
    counts.textContent = Object.keys(state.counts).map(function (status) {
      return (symbols[status] || "?") + " " + status + " " + state.counts[status];
    }).join(" \u00b7 ");
  }

  source.addEventListener("progress", show);
  source.addEventListener("done", function (event) {
    source.close();
    show(event);
    window.location.reload();
  });
})();
