/* Studio: small helpers for the form, and playback while the audio is synthesized.

   The stream is the synthesis API's chunked WAV (GET /api/v1/syntheses/<id>/stream/, session
   cookie). <audio> would re-request a growing file with Range requests, which a one-shot stream
   cannot answer, so the bytes are read with fetch() and scheduled on the Web Audio clock as they
   arrive, sentence by sentence, with a live waveform drawn on a canvas. */
(function () {
  "use strict";
  var T = window.VG_STUDIO || {};
  var audioContext = null;

  function context() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audioContext && Ctx) audioContext = new Ctx();
    if (audioContext && audioContext.state === "suspended") audioContext.resume();
    return audioContext;
  }

  function parseHeader(bytes) {
    // RIFF chunks until "data": returns {rate, offset} or null when more bytes are needed.
    if (bytes.length < 12) return null;
    var view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    var tag = function (at) { return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]); };
    if (tag(0) !== "RIFF" || tag(8) !== "WAVE") throw new Error(T.notWav || "the server did not send WAV audio");
    var pos = 12, rate = 24000;
    while (pos + 8 <= bytes.length) {
      var id = tag(pos), size = view.getUint32(pos + 4, true);
      if (id === "data") return {rate: rate, offset: pos + 8};
      if (id === "fmt ") {
        if (pos + 16 > bytes.length) return null;
        rate = view.getUint32(pos + 12, true);
      }
      pos += 8 + size + (size & 1);
    }
    return null;
  }

  function StreamPlayer(box) {
    this.box = box;
    this.canvas = box.querySelector("canvas");
    this.status = box.querySelector(".stream-status");
    this.peaks = [];
    this.pending = [];
    this.pendingCount = 0;
    this.received = 0;
    this.rate = 24000;
    this.nextTime = 0;
    this.leftover = null;
    this.header = new Uint8Array(0);
    this.headerDone = false;
    this.started = performance.now();
  }

  StreamPlayer.prototype.say = function (text, isError) {
    this.status.textContent = text;
    if (isError) { this.status.setAttribute("role", "alert"); this.status.classList.add("error-text"); }
  };

  StreamPlayer.prototype.run = function () {
    var self = this, box = this.box;
    box.dataset.state = "connecting";
    this.ctx = context();
    if (!this.ctx) { this.say(T.noAudio || "This browser cannot play audio here; use the download links when it is done.", true); return; }
    fetch(box.dataset.streamUrl, {credentials: "same-origin"}).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (body) { throw new Error(body.error || response.statusText); },
                                    function () { throw new Error(response.status + " " + response.statusText); });
      }
      box.dataset.state = "streaming";
      self.say(T.waiting || "Synthesizing the first sentence…");
      var reader = response.body.getReader();
      var pump = function () {
        return reader.read().then(function (chunk) {
          if (chunk.done) { self.flush(); self.finish(); return; }
          self.feed(chunk.value);
          return pump();
        });
      };
      return pump();
    }).catch(function (error) {
      box.dataset.state = "error";
      var message = String(error && error.message || error);
      self.say((T.failed || "Playback stopped: {n}. Generate again; if it keeps failing, try a shorter text.").replace("{n}", message), true);
    });
  };

  StreamPlayer.prototype.feed = function (bytes) {
    if (!this.headerDone) {
      var joined = new Uint8Array(this.header.length + bytes.length);
      joined.set(this.header); joined.set(bytes, this.header.length);
      var found = parseHeader(joined);
      if (!found) { this.header = joined; return; }
      this.headerDone = true;
      this.rate = found.rate;
      bytes = joined.subarray(found.offset);
    }
    if (this.leftover !== null) {
      var withByte = new Uint8Array(bytes.length + 1);
      withByte[0] = this.leftover; withByte.set(bytes, 1);
      bytes = withByte; this.leftover = null;
    }
    if (bytes.length % 2) { this.leftover = bytes[bytes.length - 1]; bytes = bytes.subarray(0, bytes.length - 1); }
    if (!bytes.length) return;
    var copy = new Uint8Array(bytes);  // aligned copy for Int16Array
    var pcm = new Int16Array(copy.buffer);
    var samples = new Float32Array(pcm.length);
    for (var i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
    this.pending.push(samples);
    this.pendingCount += samples.length;
    this.received += samples.length;
    if (this.pendingCount >= this.rate * 0.25) this.flush();
  };

  StreamPlayer.prototype.flush = function () {
    if (!this.pendingCount) return;
    var all = new Float32Array(this.pendingCount), at = 0;
    this.pending.forEach(function (p) { all.set(p, at); at += p.length; });
    this.pending = []; this.pendingCount = 0;
    var buffer = this.ctx.createBuffer(1, all.length, this.rate);
    buffer.copyToChannel(all, 0);
    var source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.ctx.destination);
    var when = Math.max(this.nextTime, this.ctx.currentTime + 0.05);
    source.start(when);
    this.nextTime = when + buffer.duration;
    if (!this.box.dataset.firstAudioMs) {
      this.box.dataset.firstAudioMs = String(Math.round(performance.now() - this.started));
      this.box.dataset.state = "playing";
    }
    var step = Math.max(1, Math.round(this.rate / 100));  // one peak per 10 ms
    for (var i = 0; i < all.length; i += step) {
      var peak = 0;
      for (var j = i; j < Math.min(i + step, all.length); j++) peak = Math.max(peak, Math.abs(all[j]));
      this.peaks.push(peak);
    }
    this.draw();
    this.say((T.playing || "Playing while it is generated… {n} s received").replace("{n}", (this.received / this.rate).toFixed(1)));
  };

  StreamPlayer.prototype.draw = function () {
    var c = this.canvas; if (!c) return;
    var g = c.getContext("2d"), w = c.width, h = c.height, n = Math.max(this.peaks.length, 1500);
    g.clearRect(0, 0, w, h);
    g.fillStyle = "#8fb1ff";
    for (var x = 0; x < w; x++) {
      var from = Math.floor(x * n / w), to = Math.floor((x + 1) * n / w), peak = 0;
      for (var k = from; k < to && k < this.peaks.length; k++) peak = Math.max(peak, this.peaks[k]);
      var bar = Math.max(1, peak * h * 0.95);
      g.fillRect(x, (h - bar) / 2, 1, bar);
    }
  };

  StreamPlayer.prototype.finish = function () {
    this.box.dataset.doneMs = String(Math.round(performance.now() - this.started));
    this.box.dataset.receivedSeconds = (this.received / this.rate).toFixed(2);
    if (this.box.dataset.state !== "error") this.box.dataset.state = "done";
    if (!this.received) { this.say(T.empty || "No audio arrived. Generate again.", true); return; }
    this.say((T.done || "Stream finished: {n} s. The stored, labelled file is below.").replace("{n}", (this.received / this.rate).toFixed(1)));
  };

  function startPlayers(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var boxes = Array.prototype.slice.call(scope.querySelectorAll(".stream-player[data-stream-url]"));
    if (scope.matches && scope.matches(".stream-player[data-stream-url]")) boxes.push(scope);
    boxes.forEach(function (box) {
      if (box.dataset.started) return;
      box.dataset.started = "1";
      new StreamPlayer(box).run();
    });
  }

  function formHelpers() {
    var form = document.getElementById("studio-form");
    if (!form) return;
    // A click on Generate is the user gesture browsers require before audio may play.
    form.addEventListener("submit", context, true);
    var speed = form.querySelector("input[name=speed]"), out = document.getElementById("speed-value");
    if (speed && out) speed.addEventListener("input", function () { out.textContent = Number(speed.value).toFixed(2); });
    var text = form.querySelector("textarea[name=text]"), count = document.getElementById("text-count");
    var update = function () {
      if (count && text) count.textContent = (T.count || "{n} of {max} characters").replace("{n}", text.value.length).replace("{max}", text.maxLength > 0 ? text.maxLength : 10000);
    };
    if (text) { text.addEventListener("input", update); update(); }
    form.querySelectorAll("button.insert").forEach(function (button) {
      button.addEventListener("click", function () {
        var snippet = button.dataset.insert, start = text.selectionStart, end = text.selectionEnd;
        text.value = text.value.slice(0, start) + snippet + text.value.slice(end);
        text.focus();
        text.selectionStart = text.selectionEnd = start + snippet.length;
        update();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { formHelpers(); startPlayers(document); });
  if (window.htmx) htmx.onLoad(startPlayers);
})();
