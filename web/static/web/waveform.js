/* Waveforms with wavesurfer.js (vendored from npm): a play/pause button, the time, and optional
   highlighted regions (data-regions='[{"start": s, "end": s, "label": "..."}]'), e.g. the
   watermarked seconds of a clip on the moderation desk. Works on content HTMX swaps in. */
(function () {
  "use strict";

  function fmt(seconds) {
    var s = Math.max(0, seconds || 0);
    return Math.floor(s / 60) + ":" + ("0" + Math.floor(s % 60)).slice(-2);
  }

  function setup(box) {
    if (box.dataset.ready || !window.WaveSurfer) return;
    var url = box.dataset.url;
    if (!url && box.dataset.fileInput) {
      // The moderation desk does not keep uploads: draw the file the moderator just chose.
      var input = document.getElementById(box.dataset.fileInput);
      if (!input || !input.files || !input.files[0]) { box.hidden = true; return; }
      url = URL.createObjectURL(input.files[0]);
    }
    box.dataset.ready = "1";
    var label = box.dataset.label || "Play or pause";
    var wave = document.createElement("div");
    wave.className = "wave";
    var controls = document.createElement("div");
    controls.className = "controls";
    var play = document.createElement("button");
    play.type = "button";
    play.className = "secondary play";
    play.setAttribute("aria-label", label);
    play.setAttribute("aria-pressed", "false");
    play.textContent = "▶";
    play.disabled = true;
    var time = document.createElement("span");
    time.className = "time muted";
    time.setAttribute("aria-live", "off");
    controls.appendChild(play);
    controls.appendChild(time);
    box.appendChild(wave);
    box.appendChild(controls);

    var plugins = [];
    var regions = null;
    if (box.dataset.regions && WaveSurfer.Regions) {
      regions = WaveSurfer.Regions.create();
      plugins.push(regions);
    }
    var ws = WaveSurfer.create({
      container: wave, url: url, height: 72, normalize: true, barWidth: 2, barGap: 1,
      waveColor: "#9db4e8", progressColor: "#2456d6", cursorColor: "#10192b", plugins: plugins
    });
    ws.on("ready", function (duration) {
      play.disabled = false;
      time.textContent = fmt(0) + " / " + fmt(duration);
      box.dataset.state = "ready";
      box.dataset.duration = String(duration);
      if (regions) {
        JSON.parse(box.dataset.regions).forEach(function (r) {
          var content = document.createElement("span");
          content.className = "region-label";
          content.textContent = r.label || "";
          regions.addRegion({start: r.start, end: r.end, color: r.color || "rgba(36, 86, 214, 0.22)",
                             drag: false, resize: false, content: content});
        });
        box.dataset.regionsDrawn = String(JSON.parse(box.dataset.regions).length);
      }
    });
    ws.on("timeupdate", function (t) { time.textContent = fmt(t) + " / " + fmt(ws.getDuration()); });
    ws.on("play", function () { play.textContent = "❚❚"; play.setAttribute("aria-pressed", "true"); box.dataset.playing = "1"; });
    ws.on("pause", function () { play.textContent = "▶"; play.setAttribute("aria-pressed", "false"); box.dataset.playing = ""; });
    ws.on("finish", function () { box.dataset.finished = "1"; });
    ws.on("error", function (error) {
      box.dataset.state = "error";
      wave.textContent = (box.dataset.errorText || "The waveform could not be drawn; use the download links instead.") +
        " (" + error + ")";
    });
    play.addEventListener("click", function () { ws.playPause(); });
  }

  function init(root) {
    (root.querySelectorAll ? root : document).querySelectorAll(".waveform[data-url], .waveform[data-file-input]").forEach(setup);
    if (root.matches && root.matches(".waveform[data-url], .waveform[data-file-input]")) setup(root);
  }

  if (window.htmx) htmx.onLoad(init);
  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
