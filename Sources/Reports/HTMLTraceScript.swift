/// The inline player of `HTMLTraceDocument` (plain ES2017, no library).
///
/// State is the number of frames applied. Going forward applies one step of one panel (its
/// tile counts change by one); going back undoes it. Only the cells, tiles and texts that a step
/// changes are touched, so playing thousands of steps stays smooth. The step list, residents,
/// counters and m/ℓ texts come from the embedded trace; nothing is recomputed here except the
/// per-tile read/write counts, which are the running sums of the trace's own transfers.
enum HTMLTraceScript {
  static let javascript = #"""
    (function () {
      "use strict";
      var DATA = JSON.parse(document.getElementById("trace-data").textContent);
      var SPEEDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
      var $ = function (id) { return document.getElementById(id); };
      var group = function (n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); };

      function covered(t, r0, r1, c0, c1) {
        var out = [], nc = t.colCuts.length - 1;
        for (var r = 0; r < t.rowCuts.length - 1; r++) {
          if (t.rowCuts[r] < r0 || t.rowCuts[r + 1] > r1) continue;
          for (var c = 0; c < nc; c++) {
            if (t.colCuts[c] >= c0 && t.colCuts[c + 1] <= c1) out.push(r * nc + c);
          }
        }
        return out;
      }

      function Panel(data, index) {
        var self = this, p = "p" + index + "-";
        this.data = data;
        this.pos = 0;
        this.cellCache = [];
        this.tensors = data.tensors.map(function (t, ti) {
          var count = (t.rowCuts.length - 1) * (t.colCuts.length - 1), cells = [];
          for (var ci = 0; ci < count; ci++) {
            cells.push({ base: $(p + "c" + ti + "-" + ci), over: $(p + "w" + ti + "-" + ci), label: $(p + "l" + ti + "-" + ci) });
          }
          return { meta: t, reads: new Int32Array(count), writes: new Int32Array(count), cells: cells };
        });
        this.tiles = data.tiles.map(function (t, id) { return t ? $(p + "tile" + id) : null; });
        this.dirty = [];
        this.active = [];
        this.hot = null;
        this.lastResidents = -1;
        this.lastStats = -1;
        this.flyer = $(p + "flyer");
        this.raf = 0;
        this.el = { reads: $(p + "reads"), writes: $(p + "writes"), inuse: $(p + "inuse"), stats: $(p + "stats"),
                    now: $(p + "now"), barRead: $(p + "bar-read"), barWrite: $(p + "bar-write") };
        this.dirtyAll = function () {
          self.tensors.forEach(function (t, ti) { for (var ci = 0; ci < t.cells.length; ci++) self.dirty.push([ti, ci]); });
        };
      }

      Panel.prototype.cellsOf = function (si) {
        var s = this.data.steps[si];
        if (s[3] < 0) return [];
        if (!this.cellCache[si]) this.cellCache[si] = covered(this.data.tensors[s[3]], s[4], s[5], s[6], s[7]);
        return this.cellCache[si];
      };

      Panel.prototype.apply = function (si, direction) {
        var s = this.data.steps[si];
        if (s[0] === 2 || s[0] === 3) {
          var t = this.tensors[s[3]], counts = s[0] === 2 ? t.reads : t.writes, cells = this.cellsOf(si);
          for (var i = 0; i < cells.length; i++) { counts[cells[i]] += direction; this.dirty.push([s[3], cells[i]]); }
        }
        this.pos = direction > 0 ? si + 1 : si;
      };

      Panel.prototype.paintCell = function (ti, ci) {
        var t = this.tensors[ti], c = t.cells[ci], r = t.reads[ci], w = t.writes[ci];
        if (!c.base) return;
        c.base.style.fill = r === 0 ? "" : "hsl(214, 75%, " + Math.max(38, 84 - 9 * (r - 1)) + "%)";
        c.over.style.fillOpacity = w === 0 ? "0" : String(Math.min(0.25 + 0.12 * (w - 1), 0.8));
        if (c.label) {
          c.label.textContent = r + w === 0 ? "" : r + "/" + w;
          c.label.style.fill = r > 2 ? "#ffffff" : "";
        }
      };

      Panel.prototype.tileBox = function (id, residents) {
        var bar = this.data.bar, cap = this.data.capacity, before = 0;
        for (var i = 0; i < residents.length && residents[i] !== id; i++) before += this.data.tiles[residents[i]][1];
        var w = this.data.tiles[id][1] / cap * bar[2];
        return { x: bar[0] + before / cap * bar[2], y: bar[1] + 3, w: w, h: bar[3] - 6 };
      };

      Panel.prototype.render = function (animate, speed) {
        var d = this.data, self = this;
        while (this.dirty.length) { var cell = this.dirty.pop(); this.paintCell(cell[0], cell[1]); }
        this.active.forEach(function (c) { c.classList.remove("active"); });
        this.active = [];
        if (this.hot) { this.hot.classList.remove("hot"); this.hot = null; }
        var s = this.pos > 0 ? d.steps[this.pos - 1] : null;
        var resRef = s ? s[14] : -1;
        var residents = resRef >= 0 ? d.residents[resRef] : [];
        if (resRef !== this.lastResidents) {
          this.lastResidents = resRef;
          this.tiles.forEach(function (g, id) {
            if (!g) return;
            if (residents.indexOf(id) < 0) { g.setAttribute("display", "none"); return; }
            var b = self.tileBox(id, residents), rect = g.firstChild, label = rect.nextSibling;
            g.setAttribute("display", "inline");
            g.setAttribute("transform", "translate(" + b.x.toFixed(2) + ",0)");
            rect.setAttribute("width", Math.max(b.w, 1).toFixed(2));
            label.setAttribute("display", b.w >= 8 * d.tiles[id][0].length ? "inline" : "none");
          });
        }
        if (s && (s[0] === 2 || s[0] === 3)) {
          var t = this.tensors[s[3]];
          this.cellsOf(this.pos - 1).forEach(function (ci) {
            var c = t.cells[ci].base;
            if (c) { c.classList.add("active"); self.active.push(c); }
          });
          if (this.tiles[s[8]]) { this.hot = this.tiles[s[8]]; this.hot.classList.add("hot"); }
          if (animate) this.fly(s, residents, speed);
        }
        var readB = s ? s[9] : 0, writeB = s ? s[10] : 0;
        this.el.reads.textContent = group(s ? s[11] : 0) + " elements, " + group(readB) + " B";
        this.el.writes.textContent = group(s ? s[12] : 0) + " elements, " + group(writeB) + " B";
        this.el.inuse.textContent = group(s ? s[13] : 0) + " of " + group(d.capacity) + " B";
        var scale = DATA.maxBytes > 0 ? d.traffic[2] / DATA.maxBytes : 0;
        this.el.barRead.setAttribute("width", (readB * scale).toFixed(2));
        this.el.barWrite.setAttribute("width", (writeB * scale).toFixed(2));
        var statRef = s ? s[15] : -1;
        if (statRef !== this.lastStats) {
          this.lastStats = statRef;
          this.el.stats.textContent = statRef >= 0 && d.stats[statRef] ? d.stats[statRef] : "m, ℓ: no statistics tile in SRAM";
        }
        var total = d.steps.length;
        this.el.now.textContent = this.pos === 0 ? "before step 1 of " + group(total)
          : "step " + group(this.pos) + " of " + group(total) + (this.pos === total ? " (finished)" : "") + ": " + d.lines[this.pos - 1];
      };

      Panel.prototype.fly = function (s, residents, speed) {
        var t = this.data.tensors[s[3]], self = this;
        var x0 = t.x + s[6] / Math.max(t.cols, 1) * t.w, x1 = t.x + s[7] / Math.max(t.cols, 1) * t.w;
        var y0 = t.y + s[4] / Math.max(t.rows, 1) * t.h, y1 = t.y + s[5] / Math.max(t.rows, 1) * t.h;
        var hbm = { x: x0, y: y0, w: Math.max(x1 - x0, 2), h: Math.max(y1 - y0, 2) };
        if (residents.indexOf(s[8]) < 0) return;
        var sram = this.tileBox(s[8], residents);
        var from = s[0] === 2 ? hbm : sram, to = s[0] === 2 ? sram : hbm;
        var f = this.flyer, ms = Math.min(600, 800 / speed), start = performance.now();
        f.setAttribute("class", "flyer op-" + t.key);
        f.setAttribute("display", "inline");
        cancelAnimationFrame(this.raf);
        var frame = function (now) {
          var k = Math.min(1, (now - start) / ms), e = k < 0.5 ? 2 * k * k : 1 - Math.pow(-2 * k + 2, 2) / 2;
          ["x", "y", "w", "h"].forEach(function (key) {
            var v = from[key] + (to[key] - from[key]) * e;
            f.setAttribute(key === "w" ? "width" : key === "h" ? "height" : key, v.toFixed(2));
          });
          if (k < 1) self.raf = requestAnimationFrame(frame); else f.setAttribute("display", "none");
        };
        this.raf = requestAnimationFrame(frame);
      };

      var panels = DATA.panels.map(function (d, i) { return new Panel(d, i); });
      var frames = DATA.frames, frameCount = frames.length / 2;
      var frame = 0, playing = false, speedIndex = 3, last = 0, carry = 0;
      var scrub = $("scrub"), speed = $("speed"), play = $("b-play");

      function forward() {
        if (frame >= frameCount) return -1;
        var pi = frames[2 * frame], si = frames[2 * frame + 1];
        panels[pi].apply(si, 1);
        frame++;
        return pi;
      }
      function backward() {
        if (frame <= 0) return -1;
        frame--;
        var pi = frames[2 * frame], si = frames[2 * frame + 1];
        panels[pi].apply(si, -1);
        return pi;
      }
      function renderAll(animated) {
        var rate = SPEEDS[speedIndex];
        panels.forEach(function (p, i) { p.render(i === animated && rate <= 20, rate); });
        scrub.value = String(frame);
        var t = 0;
        panels.forEach(function (p) { if (p.pos > 0) t = Math.max(t, p.data.steps[p.pos - 1][2]); });
        $("clock").textContent = "modelled time " + t.toFixed(3) + " ns · frame " + group(frame) + " of " + group(frameCount);
      }
      function seek(target) {
        target = Math.max(0, Math.min(frameCount, target));
        while (frame < target) forward();
        while (frame > target) backward();
        renderAll(-1);
      }
      function setPlaying(on) {
        playing = on;
        play.classList.toggle("playing", on);
        if (on) {
          if (frame >= frameCount) seek(0);
          last = 0;
          carry = 0;
          requestAnimationFrame(tick);
        }
      }
      function tick(now) {
        if (!playing) return;
        var dt = last ? (now - last) / 1000 : 1 / SPEEDS[speedIndex];
        last = now;
        carry += dt * SPEEDS[speedIndex];
        var n = Math.floor(carry), animated = -1;
        carry -= n;
        if (n > 0) {
          for (var i = 0; i < n && frame < frameCount; i++) animated = forward();
          renderAll(n === 1 ? animated : -1);
        }
        if (frame >= frameCount) setPlaying(false); else requestAnimationFrame(tick);
      }
      function showSpeed() { $("speed-label").textContent = SPEEDS[speedIndex] + " steps/s"; }

      $("b-start").addEventListener("click", function () { setPlaying(false); seek(0); });
      $("b-end").addEventListener("click", function () { setPlaying(false); seek(frameCount); });
      $("b-back").addEventListener("click", function () { setPlaying(false); backward(); renderAll(-1); });
      $("b-fwd").addEventListener("click", function () { setPlaying(false); renderAll(forward()); });
      play.addEventListener("click", function () { setPlaying(!playing); });
      scrub.addEventListener("input", function () { setPlaying(false); seek(parseInt(scrub.value, 10)); });
      speed.addEventListener("input", function () { speedIndex = parseInt(speed.value, 10); showSpeed(); });
      document.addEventListener("keydown", function (e) {
        if (e.target && e.target.tagName === "INPUT" && e.target.type !== "range") return;
        if (e.key === " ") { e.preventDefault(); setPlaying(!playing); }
        else if (e.key === "ArrowRight") { e.preventDefault(); setPlaying(false); renderAll(forward()); }
        else if (e.key === "ArrowLeft") { e.preventDefault(); setPlaying(false); backward(); renderAll(-1); }
        else if (e.key === "Home") { setPlaying(false); seek(0); }
        else if (e.key === "End") { setPlaying(false); seek(frameCount); }
      });
      showSpeed();
      panels.forEach(function (p) { p.dirtyAll(); });
      renderAll(-1);
      // "#autoplay": play every frame to the end without waiting for animation frames (for a
      // headless browser check), then record the final frame on the body as
      // data-final-frame="FRAME/COUNT" and any script error as data-errors.
      // "#frame=K": open at frame K (for screenshots and links to one moment of the lesson).
      var at = /^#frame=(\d+)$/.exec(location.hash);
      if (at) seek(parseInt(at[1], 10));
      if (location.hash === "#autoplay") {
        var errors = [];
        window.addEventListener("error", function (e) { errors.push(String(e.message)); document.body.setAttribute("data-errors", errors.join(" | ")); });
        speedIndex = SPEEDS.length - 1;
        speed.value = String(speedIndex);
        showSpeed();
        var run = function () {
          for (var i = 0; i < 50 && frame < frameCount; i++) renderAll(forward());
          if (frame < frameCount) { setTimeout(run, 0); return; }
          setPlaying(false);
          document.body.setAttribute("data-final-frame", frame + "/" + frameCount);
        };
        setPlaying(false);
        setTimeout(run, 0);
      }
    })();
    """#
}
