// The overview's live part: replaced by each snapshot the server sends (server-sent events).
(function () {
  "use strict";
  var live = document.getElementById("live");
  var state = document.getElementById("connection");
  if (!live || !window.EventSource) {
    if (state) state.textContent = "not live: reload to refresh";
    return;
  }
  var source = new EventSource(live.dataset.events);
  source.addEventListener("snapshot", function (event) {
    var data = JSON.parse(event.data);
    live.innerHTML = data.html;
    live.dataset.version = String(data.version);
    state.textContent = data.taken_at ? "live" : "live, no snapshot";
  });
  source.onopen = function () { state.textContent = "live"; };
  source.onerror = function () { state.textContent = "reconnecting…"; };
})();
