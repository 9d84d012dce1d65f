// Muster web kit: the few behaviours every page shares. No inline script (CSP), no framework.
// - Automatic logout: when nobody has used the page for the session's idle time, the
//   browser leaves it for the login page, so personal data does not stay on screen.
//   Typing or clicking keeps the session alive (a ping at most once a minute).
// - Forms: one submit only (buttons are disabled while the page is sent); buttons
//   with data-confirm ask first; an "exclusive" checkbox clears the others in its group.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-timeout") || "0", 10);
  if (idle > 0) {
    var aliveUrl = body.getAttribute("data-alive-url");
    var expiredUrl = body.getAttribute("data-expired-url");
    // The server's idle clock restarts at each request: the page load, then each ping.
    var lastPing = Date.now();
    var every = Math.min(60000, idle * 250);
    var ping = function () {
      if (Date.now() - lastPing < every) { return; }
      lastPing = Date.now();
      fetch(aliveUrl, { credentials: "same-origin", cache: "no-store", redirect: "manual" })
        .then(function (r) { if (r.status !== 204) { window.location.assign(expiredUrl); } })
        .catch(function () {});
    };
    ["keydown", "pointerdown", "input"].forEach(function (name) {
      document.addEventListener(name, ping, { passive: true, capture: true });
    });
    window.setInterval(function () {
      if (Date.now() - lastPing > idle * 1000) { window.location.assign(expiredUrl); }
    }, 5000);
  }

  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-sent]"), function (form) {
      form.removeAttribute("data-sent");
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) { b.disabled = false; });
    });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var question = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-repeatable")) { return; }
    if (form.getAttribute("data-sent") === "1") {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "1");
    window.setTimeout(function () {
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) { b.disabled = true; });
    }, 0);
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.type !== "checkbox" || !box.checked) { return; }
    var group = document.querySelectorAll('input[type=checkbox][name="' + box.name + '"]');
    Array.prototype.forEach.call(group, function (other) {
      if (other === box) { return; }
      if (box.getAttribute("data-exclusive") === "1" || other.getAttribute("data-exclusive") === "1") {
        other.checked = false;
      }
    });
  });
})();
