// Scan station sounds, made with the Web Audio API (no files to fetch): a short high
// beep for a good scan, a low double buzz for a refused one, a rising chord when done.
(() => {
  let context = null;
  function ctx() {
    if (!context) {
      const Audio = window.AudioContext || window.webkitAudioContext;
      if (!Audio) return null;
      context = new Audio();
    }
    return context;
  }
  function tone(freq, start, length, type, volume) {
    const c = ctx();
    if (!c) return;
    const osc = c.createOscillator();
    const gain = c.createGain();
    osc.type = type;
    osc.frequency.value = freq;
    gain.gain.value = volume;
    osc.connect(gain).connect(c.destination);
    osc.start(c.currentTime + start);
    osc.stop(c.currentTime + start + length);
  }
  const SOUNDS = {
    ok: () => tone(1760, 0, 0.08, "sine", 0.25),
    attention: () => { tone(880, 0, 0.1, "triangle", 0.3); tone(880, 0.15, 0.1, "triangle", 0.3); },
    error: () => { tone(180, 0, 0.25, "square", 0.35); tone(140, 0.3, 0.35, "square", 0.35); },
    done: () => { tone(1046, 0, 0.1, "sine", 0.3); tone(1318, 0.1, 0.1, "sine", 0.3); tone(1568, 0.2, 0.2, "sine", 0.3); },
  };
  window.urakataSound = (name) => {
    document.body.dataset.lastSound = name; // what was played (the browser tests read it)
    try { (SOUNDS[name] || SOUNDS.attention)(); } catch (e) { /* no audio: the colour says it */ }
  };
})();
