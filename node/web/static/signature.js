// The signed confirmation drawn on a <canvas> with a mouse, pen or finger. After each
// stroke the drawing is put into the field's file input as a PNG, so the form uploads it
// like a chosen file (a scanned sheet may be chosen instead).
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-signature-for]"), function (pad) {
    var canvas = pad.querySelector("canvas");
    var context = canvas.getContext("2d");
    var input = pad.closest("form").querySelector(
      'input[type=file][name="' + pad.getAttribute("data-signature-for") + '"]');
    var drawing = false;
    var drawn = false;
    function blank() {
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.strokeStyle = "#111";
      context.lineWidth = 3;
      context.lineCap = "round";
      context.lineJoin = "round";
    }
    function at(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - box.left) * (canvas.width / box.width),
        y: (event.clientY - box.top) * (canvas.height / box.height)
      };
    }
    function keep() {
      canvas.toBlob(function (blob) {
        var transfer = new DataTransfer();
        transfer.items.add(new File([blob], "signature.png", { type: "image/png" }));
        input.files = transfer.files;
      }, "image/png");
    }
    blank();
    canvas.addEventListener("pointerdown", function (event) {
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      var p = at(event);
      context.beginPath();
      context.moveTo(p.x, p.y);
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      var p = at(event);
      context.lineTo(p.x, p.y);
      context.stroke();
      drawn = true;
    });
    function end() {
      if (!drawing) { return; }
      drawing = false;
      if (drawn) { keep(); }
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    pad.querySelector("[data-signature-clear]").addEventListener("click", function () {
      blank();
      drawn = false;
      input.value = "";
    });
  });
})();
