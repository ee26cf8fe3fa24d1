/*
 * OFFLINE STAND-IN for crowd-html-elements.js. This is NOT the AWS library.
 *
 * The real crowd-html-elements.js is served by AWS and cannot be loaded offline.
 * The offline preview (scripts/preview.py) and the browser tests serve this file
 * in its place. It implements only what the worker template uses:
 *   <crowd-form>: submit() fires a cancelable "submit" event on the form, then
 *     collects every named input into one JSON object, as Ground Truth's
 *     annotationData.content; the result is pushed to window.crowdFormSubmissions
 *     and, when the script URL carries ?submit=URL&token=T, POSTed there as JSON
 *     with the page's token (the preview refuses a submission without it). After
 *     a save the next image opens at once, and its banner says what was saved.
 *   <crowd-button form-action="submit">: a button that calls that submit().
 */
(() => {
  "use strict";
  if (customElements.get("crowd-form")) return;
  const script = document.currentScript;
  const params = script ? new URL(script.src, location.href).searchParams : new URLSearchParams();
  const submitUrl = params.get("submit");
  const token = params.get("token") || "";
  const SAVED_KEY = "crowd-stand-in:saved"; // the confirmation carried to the next page
  window.crowdFormSubmissions = [];

  function banner(text, error, ok) {
    let b = document.getElementById("crowd-stand-in-banner");
    if (!b) {
      b = document.createElement("div");
      b.id = "crowd-stand-in-banner";
      b.setAttribute("role", "status");
      b.style.cssText = "font:13px system-ui,sans-serif;padding:4px 8px;background:#fff4ce;border-bottom:1px solid #e0c36b";
      document.body.prepend(b);
    }
    b.textContent = text;
    b.style.background = error ? "#fdecea" : ok ? "#e3f4e1" : "#fff4ce";
  }

  class CrowdForm extends HTMLElement {
    connectedCallback() {
      if (!submitUrl) return;
      const intro = "Offline preview: crowd-form is a local stand-in, not crowd-html-elements.js. Submitting runs the real post-annotation Lambda locally.";
      const saved = sessionStorage.getItem(SAVED_KEY);
      sessionStorage.removeItem(SAVED_KEY);
      banner(saved ? `✓ ${saved} This is the next image. (${intro})` : intro, false, !!saved);
    }

    submit() {
      const event = new Event("submit", { bubbles: true, cancelable: true });
      if (!this.dispatchEvent(event)) return;
      const content = {};
      for (const input of this.querySelectorAll("input[name], textarea[name], select[name]")) {
        if ((input.type === "checkbox" || input.type === "radio") && !input.checked) continue;
        content[input.name] = input.value;
      }
      window.crowdFormSubmissions.push(content);
      this.dispatchEvent(new CustomEvent("crowd-form-stand-in:submitted", { bubbles: true, detail: content }));
      if (submitUrl) this.#send(content);
    }

    async #send(content) {
      banner("Submitting…");
      try {
        const response = await fetch(submitUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Preview-Token": token },
          body: JSON.stringify(content),
        });
        const result = await response.json();
        if (!response.ok) throw new Error(result.error || response.statusText);
        const saved = `Saved ${result.saved} to ${result.output}.`;
        if (result.next) {
          sessionStorage.setItem(SAVED_KEY, saved);
          location.assign(result.next);
        } else {
          banner(`✓ ${saved} That was the last image.`, false, true);
        }
      } catch (e) {
        banner(`Submission failed: ${e.message}`, true);
      }
    }
  }

  class CrowdButton extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      const button = document.createElement("button");
      button.type = "button";
      button.append(document.createElement("slot"));
      this.attachShadow({ mode: "open" }).append(button);
      button.addEventListener("click", () => {
        if (this.getAttribute("form-action") === "submit") this.closest("crowd-form")?.submit();
      });
    }
  }

  customElements.define("crowd-form", CrowdForm);
  customElements.get("crowd-button") || customElements.define("crowd-button", CrowdButton);
})();
