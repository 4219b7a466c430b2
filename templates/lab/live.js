// The console follows /console/stream: on every change it fetches the page again and
// swaps the parts marked data-live (forms one is typing into stay as they are).
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch) return;
  var status = document.getElementById("live-status");
  var source = new EventSource("/console/stream");
  var busy = false;
  var again = false;
  function refresh() {
    // One fetch at a time; changes meanwhile make one more.
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (text) {
        var page = new DOMParser().parseFromString(text, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var fresh = page.getElementById(el.id);
          if (fresh) el.replaceWith(fresh);
        });
        if (status) status.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }
  source.addEventListener("change", refresh);
  source.onerror = function () {
    if (status) status.textContent = "Not connected to the lab; retrying.";
  };
})();
