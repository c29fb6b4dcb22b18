// The progress component (templates/_progress.html): poll each task's JSON every second
// and update its bar, status and result link until the task is done or failed.
(() => {
  if (window.urakataProgress) return; // the macro may be used more than once on a page
  window.urakataProgress = true;
  const FINISHED = new Set(["done", "failed"]);
  const EVERY_MS = 1000;
  const MAX_ERRORS = 30;

  function render(el, state) {
    const bar = el.querySelector("[data-progress-bar]");
    if (bar) {
      if (state.total > 0) {
        bar.max = state.total;
        bar.value = state.done;
      } else if (state.status === "done") {
        bar.max = 1;
        bar.value = 1;
      } else {
        bar.removeAttribute("value"); // indeterminate until the job knows its total
      }
    }
    const text = el.querySelector("[data-progress-text]");
    if (text && text.textContent !== state.status_text) text.textContent = state.status_text;
    el.dataset.status = state.status;
    const link = el.querySelector("[data-progress-result]");
    if (link && state.status === "done" && state.result_url) {
      link.href = state.result_url;
      link.hidden = false;
    }
  }

  function poll(el, errors) {
    fetch(el.dataset.progressUrl, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then((response) => {
        if (response.status === 403 || response.status === 404) return null; // gone: stop
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then((state) => {
        if (state === null) return;
        render(el, state);
        if (!FINISHED.has(state.status)) setTimeout(() => poll(el, 0), EVERY_MS);
      })
      .catch(() => {
        // A network hiccup or an expired login: try again, more slowly, for a while.
        if (errors < MAX_ERRORS) setTimeout(() => poll(el, errors + 1), EVERY_MS * 5);
      });
  }

  function start() {
    for (const el of document.querySelectorAll("[data-progress-url]")) {
      if (!FINISHED.has(el.dataset.status)) setTimeout(() => poll(el, 0), EVERY_MS);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
