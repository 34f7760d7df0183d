// The agent's workbench (calls/workbench.py): the badge of available callbacks and the call status follow the
// server-sent events of calls:workbench_events; the outcome form shows the appointment fields for 预约下次.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.dataset.events;
  var ORDER = {dialing: 0, ringing: 1, answered: 2, ended: 3};

  function onStatus(event) {
    var status = JSON.parse(event.data);
    var badge = document.getElementById("available-badge");
    if (badge) { badge.textContent = status.available_text; badge.dataset.count = status.available; }
    var box = document.getElementById("call-status");
    var call = status.call;
    if (box && call && window.htmx && box.dataset.serial === call.serial &&
        (ORDER[call.state] > ORDER[box.dataset.state] || (call.has_recording && !document.getElementById("recording-player")))) {
      // newer than what the page shows: the status partial (polling while the call is up) is asked again
      window.htmx.trigger(document.body, "workbench-call");
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
