// The agent's workbench (calls/workbench.py): the badge of available callbacks and the call status follow the
// server-sent events of calls:workbench_events; the outcome form shows the appointment fields for 预约下次.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.dataset.events;

  function onStatus(event) {
    var status = JSON.parse(event.data);
    var badge = document.getElementById("available-badge");
    if (badge) { badge.textContent = status.available_text; badge.dataset.count = status.available; }
    var box = document.getElementById("call-status");
    if (box && status.call && box.dataset.serial === status.call.serial &&
        (box.dataset.state !== status.call.state || (status.call.has_recording && !document.getElementById("recording-player")))) {
      // the status partial knows how to show it: ask it again
      if (window.htmx) { window.htmx.trigger(document.body, "workbench-call"); }
      var text = document.getElementById("call-state");
      if (text) { text.textContent = status.call.text; }
    }
  }

  if (url && window.EventSource) {
    var source = new EventSource(url);
    source.addEventListener("status", onStatus);
  }

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches(".outcome-form select[name=outcome]")) { return; }
    var option = select.options[select.selectedIndex];
    var fields = select.form.querySelector(".appointment-fields");
    if (fields) { fields.hidden = !(option && option.dataset.policy === "appointment"); }
  });
})();
