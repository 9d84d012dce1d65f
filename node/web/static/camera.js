// The portrait from the browser's camera: getUserMedia -> <video> -> <canvas> -> a JPEG
// put into the field's file input, so the form uploads it like a chosen file.
// Works on http://127.0.0.1 (a secure context); nothing leaves the machine.
(function () {
  "use strict";
  function fileInput(widget) {
    var name = widget.getAttribute("data-camera-for");
    return widget.closest("form").querySelector('input[type=file][name="' + name + '"]');
  }
  function showPreview(widget, blob) {
    var preview = widget.closest(".photo-slot").querySelector("img.preview");
    if (preview) {
      preview.src = URL.createObjectURL(blob);
      preview.hidden = false;
    }
  }
  function say(widget, text) {
    var message = widget.querySelector(".camera-message");
    message.textContent = text;
    message.hidden = !text;
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-camera-for]"), function (widget) {
    var start = widget.querySelector("[data-camera-start]");
    var shoot = widget.querySelector("[data-camera-shoot]");
    var video = widget.querySelector("video");
    var stream = null;
    function stop() {
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
      video.hidden = true;
      shoot.hidden = true;
    }
    start.addEventListener("click", function () {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        say(widget, widget.getAttribute("data-no-camera"));
        return;
      }
      navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false })
        .then(function (s) {
          stream = s;
          video.srcObject = s;
          video.hidden = false;
          shoot.hidden = false;
          say(widget, "");
          return video.play();
        })
        .catch(function () { say(widget, widget.getAttribute("data-no-camera")); });
    });
    shoot.addEventListener("click", function () {
      var canvas = document.createElement("canvas");
      canvas.width = video.videoWidth || 640;
      canvas.height = video.videoHeight || 480;
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        var input = fileInput(widget);
        var transfer = new DataTransfer();
        transfer.items.add(new File([blob], "camera.jpg", { type: "image/jpeg" }));
        input.files = transfer.files;
        showPreview(widget, blob);
        stop();
      }, "image/jpeg", 0.9);
    });
    window.addEventListener("pagehide", stop);
  });

  // A chosen file is previewed too.
  Array.prototype.forEach.call(document.querySelectorAll(".photo-slot input[type=file]"), function (input) {
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var preview = input.closest(".photo-slot").querySelector("img.preview");
      if (file && preview && file.type.indexOf("image/") === 0) {
        preview.src = URL.createObjectURL(file);
        preview.hidden = false;
      }
    });
  });
})();
