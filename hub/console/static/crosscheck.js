// Muster hub console: upload a register as a stream. No inline script (CSP).
// The form's file goes as the request body (not multipart), with the CSRF token in a
// header, so a register of hundreds of megabytes is never held in memory by the hub.
// Without this script the form posts as multipart, which suits small files only.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-upload")) { return; }
    var input = form.querySelector("input[type=file]");
    var file = input && input.files && input.files[0];
    if (!file || !window.fetch) { return; }
    event.preventDefault();
    var params = new URLSearchParams();
    ["source", "kind", "as_of"].forEach(function (name) {
      params.set(name, form.elements[name].value);
    });
    params.set("file_name", file.name);
    var status = form.querySelector("[data-upload-status]");
    if (status) { status.hidden = false; }
    form.querySelector("button[type=submit]").disabled = true;
    fetch(form.action + "?" + params.toString(), {
      method: "POST",
      body: file,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/octet-stream",
        "X-CSRF-Token": form.elements["csrf_token"].value
      }
    }).then(function (response) {
      window.location.assign(response.url);
    });
  });
})();
