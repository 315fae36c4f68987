// The practice player under each tune: speed 50–150 % without changing pitch (the browser's
// pitch-preserving playbackRate), a loop over a range of bars, a cursor that follows the notes
// on the staff (abcjs's note timings, from the tune's Q:, which the server always writes),
// and a one-bar count-in. Works offline: the audio is the page's own file, the clicks WebAudio.
// One file for the web app (/assets/player.js) and the HTML songbook (DIR/assets/player.js, from
// file:// too): both give it a card (data-* attributes report its state), abcjs's tune object
// and the card's <audio>.
"use strict";

const SPEED_RANGE = [50, 150]; // percent of the tune's tempo

// Written bars as abcjs times them, in order: [{ number, start, end }] in milliseconds, the
// first time each is played; and the parts: runs of bars that end where the music repeats.
function barTimes(events) {
  const bars = new Map();
  const partEnds = new Set();
  let current = null;
  for (const event of events) {
    if (event.type !== "event" || event.measureNumber === current) continue;
    const previous = bars.get(current);
    if (previous && previous.end === Infinity) previous.end = event.milliseconds;
    if (current !== null && event.measureNumber < current) partEnds.add(current);
    current = event.measureNumber;
    if (!bars.has(current)) bars.set(current, { number: current, start: event.milliseconds, end: Infinity });
  }
  const ordered = [...bars.values()].sort((a, b) => a.number - b.number);
  const parts = [];
  ordered.forEach((bar, index) => {
    if (!parts.length || partEnds.has(ordered[index - 1].number)) parts.push([index + 1, index + 1]);
    parts[parts.length - 1][1] = index + 1;
  });
  return { bars: ordered, parts };
}

function control(tag, attributes, text = "") {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  if (text) made.textContent = text;
  return made;
}

function labelled(text, input) {
  const label = control("label", {}, text + " ");
  label.append(input);
  return label;
}

// One bar of clicks at the tune's beat and the chosen speed; resolves when it has sounded.
function countIn(visual, rate) {
  const beats = Math.max(1, Math.round(visual.getBeatsPerMeasure ? visual.getBeatsPerMeasure() : 4));
  const beatSeconds = visual.millisecondsPerMeasure() / 1000 / beats / rate;
  const context = new (window.AudioContext || window.webkitAudioContext)();
  for (let beat = 0; beat < beats; beat++) {
    const click = context.createOscillator();
    const gain = context.createGain();
    const at = context.currentTime + 0.05 + beat * beatSeconds;
    click.frequency.value = beat === 0 ? 1568 : 1046;
    gain.gain.setValueAtTime(0.4, at);
    gain.gain.exponentialRampToValueAtTime(0.001, at + 0.08);
    click.connect(gain).connect(context.destination);
    click.start(at);
    click.stop(at + 0.1);
  }
  return new Promise((resolve) => setTimeout(() => { context.close(); resolve(); },
    (0.05 + beats * beatSeconds) * 1000));
}

class Practice {
  constructor(card, visual, audio) {
    this.card = card;
    this.visual = visual;
    this.audio = audio;
    this.events = visual ? visual.setTiming().filter((e) => e.type === "event") : [];
    ({ bars: this.bars, parts: this.parts } = barTimes(this.events));
    this.lit = [];
    this.shown = -1;
    audio.preservesPitch = true; // the default; stated because practice depends on it
    audio.addEventListener("play", () => this.follow());
  }

  controls() {
    const box = control("div", { class: "practice" });
    this.speed = control("input", { type: "range", min: SPEED_RANGE[0], max: SPEED_RANGE[1],
      step: 5, value: 100, class: "speed", "aria-label": "Speed in percent" });
    this.speedText = control("output", { class: "speed-text" }, "100 %");
    this.speed.addEventListener("input", () => this.setSpeed(Number(this.speed.value)));
    box.append(labelled("Speed", this.speed), this.speedText);
    if (this.bars.length) box.append(...this.loopControls());
    this.countInBox = control("input", { type: "checkbox", class: "count-in" });
    const play = control("button", { type: "button", class: "play" }, "Play");
    play.addEventListener("click", () => this.play());
    box.append(labelled("Count-in", this.countInBox), play);
    return box;
  }

  loopControls() {
    const last = this.bars.length;
    this.loop = control("input", { type: "checkbox", class: "loop" });
    this.from = control("input", { type: "number", class: "loop-from", min: 1, max: last, value: 1, "aria-label": "First bar" });
    this.to = control("input", { type: "number", class: "loop-to", min: 1, max: last, value: Math.min(4, last), "aria-label": "Last bar" });
    const made = [labelled("Loop bars", this.loop), this.from, control("span", {}, "to"), this.to];
    if (this.parts.length > 1) {
      const part = control("select", { class: "loop-part", "aria-label": "Loop a part" });
      part.append(control("option", { value: "" }, "or a part…"));
      this.parts.forEach(([from, to], i) => part.append(
        control("option", { value: `${from}-${to}` }, `${String.fromCharCode(65 + i)} part (bars ${from}–${to})`)));
      part.addEventListener("change", () => {
        if (!part.value) return;
        [this.from.value, this.to.value] = part.value.split("-");
        this.loop.checked = true;
      });
      made.push(part);
    }
    return made;
  }

  setSpeed(percent) {
    this.audio.playbackRate = percent / 100;
    this.speedText.textContent = `${percent} %`;
    this.card.dataset.speed = String(percent);
  }

  // [start, end] of the loop in seconds of the recording, or null when not looping.
  loopRange() {
    if (!this.loop || !this.loop.checked) return null;
    const from = Math.max(1, Math.min(Number(this.from.value) || 1, this.bars.length));
    const to = Math.max(from, Math.min(Number(this.to.value) || from, this.bars.length));
    const end = this.bars[to - 1].end;
    return [this.bars[from - 1].start / 1000,
      Number.isFinite(end) ? end / 1000 : this.audio.duration];
  }

  async play() {
    const range = this.loopRange();
    if (range) this.audio.currentTime = range[0];
    if (this.countInBox.checked) {
      this.card.dataset.countIn = "counting";
      await countIn(this.visual, this.audio.playbackRate);
      this.card.dataset.countIn = "done";
    }
    await this.audio.play();
  }

  // While the audio plays: light the notes sounding now, and jump back at the loop's end.
  follow() {
    const step = () => {
      const range = this.loopRange();
      if (range && this.audio.currentTime >= range[1]) {
        this.audio.currentTime = range[0];
        this.card.dataset.looped = String(Number(this.card.dataset.looped || 0) + 1);
      }
      this.light(this.audio.currentTime * 1000);
      if (!this.audio.paused && !this.audio.ended) requestAnimationFrame(step);
      else this.light(-1);
    };
    requestAnimationFrame(step);
  }

  light(ms) {
    let index = -1;
    for (let i = 0; i < this.events.length && this.events[i].milliseconds <= ms; i++) index = i;
    if (index === this.shown) return;
    for (const element of this.lit) element.classList.remove("playing");
    this.lit = index < 0 ? [] : this.events[index].elements.flat();
    for (const element of this.lit) element.classList.add("playing");
    this.shown = index;
    this.card.dataset.cursor = String(index);
  }
}

window.Practice = Practice;
