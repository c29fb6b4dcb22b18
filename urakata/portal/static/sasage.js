// Copy lengths as the writer types: each [data-count-for] cell recounts its field against
// the mall's limit (全角 2, 半角 1, or characters), as the server counts them.
(() => {
  const halfWidth = (ch) => {
    const code = ch.codePointAt(0);
    return code < 0x80 || (code >= 0xff61 && code <= 0xff9f);
  };
  const width = (text) => Array.from(text).reduce((n, ch) => n + (halfWidth(ch) ? 1 : 2), 0);

  function recount(cell, field) {
    const limit = Number(cell.dataset.limit);
    const used = cell.dataset.unit === "chars" ? Array.from(field.value).length : width(field.value);
    cell.textContent = `${used.toLocaleString("en-US")} / ${limit.toLocaleString("en-US")}`;
    cell.classList.toggle("count-over", used > limit);
  }

  function start() {
    for (const cell of document.querySelectorAll("[data-count-for]")) {
      const field = document.getElementById(cell.dataset.countFor);
      if (!field) continue;
      field.addEventListener("input", () => recount(cell, field));
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
