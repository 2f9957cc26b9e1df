/* Record audio in the browser (MediaRecorder) into a form's file input, and show the server's
   quality report for every file chosen or recorded. No framework: a few listeners.

   <div class="recorder" data-input="ID" data-check-url="URL" data-report="ID"> with buttons
   .rec-start / .rec-stop, an output .rec-status and an <audio class="rec-preview">. */
(function () {
  "use strict";
  var T = window.VG_TEXT || {};

  function csrfToken() {
    var field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function checkFiles(input, url, report) {
    if (!url || !report) return;
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length) { report.innerHTML = ""; return; }
    report.innerHTML = '<p class="muted" role="status">' + (T.checking || "Checking the recording…") + "</p>";
    report.setAttribute("aria-busy", "true");
    Promise.all(files.map(function (file) {
      var body = new FormData();
      body.append("audio", file, file.name);
      return fetch(url, {method: "POST", body: body, credentials: "same-origin",
                         headers: {"X-CSRFToken": csrfToken()}})
        .then(function (r) { return r.text(); })
        .catch(function () {
          return '<p class="error" role="alert">' + (T.network || "The recording could not be checked: the server did not answer. Check your connection and choose the file again.") + "</p>";
        });
    })).then(function (parts) {
      report.innerHTML = parts.join("");
      report.removeAttribute("aria-busy");
      report.dispatchEvent(new CustomEvent("vg:checked", {bubbles: true}));
    });
  }

  function pickType() {
    var types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];
    for (var i = 0; i < types.length; i++) {
      if (window.MediaRecorder && MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(types[i])) return types[i];
    }
    return "";
  }

  function setup(box) {
    var input = document.getElementById(box.dataset.input);
    var report = document.getElementById(box.dataset.report);
    var url = box.dataset.checkUrl;
    var start = box.querySelector(".rec-start"), stop = box.querySelector(".rec-stop");
    var status = box.querySelector(".rec-status"), preview = box.querySelector(".rec-preview");
    var recorder = null, chunks = [], timer = null, began = 0, stream = null;

    if (input) input.addEventListener("change", function () { checkFiles(input, url, report); });

    if (!window.MediaRecorder || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      start.disabled = true;
      status.textContent = T.unsupported || "This browser cannot record audio here; upload a recording instead.";
      return;
    }
    start.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({audio: {echoCancellation: false, noiseSuppression: false,
                                                   autoGainControl: true}})
        .then(function (s) {
          stream = s;
          var type = pickType();
          recorder = new MediaRecorder(s, type ? {mimeType: type} : undefined);
          chunks = [];
          recorder.ondataavailable = function (e) { if (e.data && e.data.size) chunks.push(e.data); };
          recorder.onstop = function () {
            stream.getTracks().forEach(function (t) { t.stop(); });
            clearInterval(timer);
            var mime = recorder.mimeType || "audio/webm";
            var ext = mime.indexOf("ogg") >= 0 ? "ogg" : mime.indexOf("mp4") >= 0 ? "m4a" : "webm";
            var blob = new Blob(chunks, {type: mime});
            var file = new File([blob], "recording-" + new Date().toISOString().replace(/[:.]/g, "-") + "." + ext, {type: mime});
            preview.src = URL.createObjectURL(blob);
            preview.hidden = false;
            var transfer = new DataTransfer();
            if (input.multiple) Array.prototype.forEach.call(input.files || [], function (f) { transfer.items.add(f); });
            transfer.items.add(file);
            input.files = transfer.files;
            input.dispatchEvent(new Event("change", {bubbles: true}));
            status.textContent = (T.recorded || "Recorded {n} s; it is attached to the form.").replace("{n}", ((Date.now() - began) / 1000).toFixed(1));
            start.disabled = false; stop.disabled = true;
            start.focus();
          };
          recorder.start(250);
          began = Date.now();
          start.disabled = true; stop.disabled = false;
          stop.focus();
          timer = setInterval(function () {
            status.textContent = (T.recording || "Recording… {n} s").replace("{n}", ((Date.now() - began) / 1000).toFixed(0));
          }, 500);
          box.dataset.state = "recording";
        })
        .catch(function (err) {
          status.textContent = err && err.name === "NotAllowedError"
            ? (T.denied || "The microphone was blocked. Allow microphone access for this site in the browser's address bar, or upload a recording instead.")
            : (T.nomic || "No microphone could be opened. Plug one in, or upload a recording instead.");
          status.classList.add("error");
        });
    });
    stop.addEventListener("click", function () {
      if (recorder && recorder.state !== "inactive") { box.dataset.state = "stopped"; recorder.stop(); }
    });
  }

  function init() { document.querySelectorAll(".recorder").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
