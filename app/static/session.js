// Warns a signed-in resident before the session idles out (JIS X 8341-3 2.2.1) and lets them
// extend it with one action. Without JavaScript the footer states the limit and drafts are saved
// page by page, so nothing typed is lost either way.
(function () {
  "use strict";
  var box = document.getElementById("session-warning");
  if (!box) { return; }
  var statusUrl = box.getAttribute("data-status-url");
  var warnBefore = 120;
  var deadline = Date.now() + parseInt(box.getAttribute("data-seconds-left"), 10) * 1000;

  function check() {
    var left = (deadline - Date.now()) / 1000;
    if (left <= warnBefore && box.hidden) {
      fetch(statusUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (s) {
        deadline = Date.now() + s.seconds_left * 1000;
        if (s.signed_in && s.seconds_left <= warnBefore) {
          box.hidden = false;
          var button = box.querySelector("button");
          if (button) { button.focus(); }
        }
      }).catch(function () {});
    }
  }
  // Extend in the background: a full page load would drop what the resident typed on this page.
  var form = box.querySelector("form");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" }).then(function () {
      return fetch(statusUrl, { credentials: "same-origin" });
    }).then(function (r) { return r.json(); }).then(function (s) {
      deadline = Date.now() + s.seconds_left * 1000;
      box.hidden = true;
    }).catch(function () { form.submit(); });
  });
  setInterval(check, 15000);
  check();
})();
