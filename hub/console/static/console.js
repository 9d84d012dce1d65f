// Muster hub console: small conveniences on the review page. No inline script (CSP).
// - Typing a value of one's own for a conflict chooses "another value".
// - On a merge screen, the fields the reviewer has not picked follow the chosen survivor.
(function () {
  "use strict";
  document.addEventListener("input", function (event) {
    var box = event.target;
    var name = box.getAttribute && box.getAttribute("data-choose");
    if (!name) { return; }
    var radio = document.querySelector('input[type=radio][name="' + name + '"][value="other"]');
    if (radio) { radio.checked = box.value !== ""; }
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type !== "radio") { return; }
    if (input.hasAttribute("data-pick")) { input.setAttribute("data-touched", "1"); return; }
    var match = /^(dup-\d+-[0-9a-f-]+)-survivor$/.exec(input.name);
    if (!match) { return; }
    var picks = document.querySelectorAll('input[type=radio][data-pick="' + match[1] + '"]');
    Array.prototype.forEach.call(picks, function (pick) {
      var group = document.querySelectorAll('input[type=radio][name="' + pick.name + '"]');
      var touched = Array.prototype.some.call(group, function (g) { return g.hasAttribute("data-touched"); });
      if (!touched && pick.value === input.value) { pick.checked = true; }
    });
  });
})();
