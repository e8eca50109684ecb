// Loa's additions to textual-serve's terminal page: start the terminal only once its bundled
// font is ready, the photo upload bar, and the "Restart" button. No inline script is needed,
// so the page's Content-Security-Policy forbids inline scripts.
(() => {
  "use strict";
  // textual.js opens the terminal in window.onload. xterm.js measures its cells and draws
  // its glyph atlas with whatever font is ready at that moment, and never again: started
  // before Roboto Mono has loaded, it would keep a fallback font without precomposed
  // Vietnamese letters. So hold textual.js's start until the font is loaded.
  const startTerminal = window.onload;
  window.onload = null;
  window.addEventListener("load", async () => {
    try {
      await Promise.all([
        document.fonts.load('16px "Roboto Mono"', "Số bản Cảnh"),
        document.fonts.load('bold 16px "Roboto Mono"', "Số bản Cảnh"),
      ]);
    } catch (error) {
      console.log("font not loaded", error);
    }
    document.documentElement.dataset.loaFont = document.fonts.check('16px "Roboto Mono"', "Số")
      ? "loaded"
      : "missing";
    if (startTerminal) startTerminal.call(window, new Event("load"));
  });

  document.addEventListener("DOMContentLoaded", () => {
    const base = document.body.dataset.base || "";
    document.getElementById("restart").addEventListener("click", () => {
      window.location.href = base + "/";
    });
    const form = document.getElementById("upload");
    const status = document.getElementById("upload-status");
    form.addEventListener("submit", async (event) => {
      // Posted in the background: leaving the page would end the terminal's session.
      event.preventDefault();
      const say = (text, error) => {
        status.textContent = text;
        status.title = text;
        status.classList.toggle("-error", !!error);
      };
      let reply;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
        });
        if (response.status === 401) {
          window.location.href = base + "/sign-in";
          return;
        }
        reply = await response.json();
      } catch (error) {
        say(String(error), true);
        return;
      }
      say(reply.message, !reply.ok);
      if (reply.ok) form.reset();
    });
  });
})();
