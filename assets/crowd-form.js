/*
 * <crowd-form> and <crowd-button>: our own, in place of AWS's crowd-html-elements.js.
 *
 * Ground Truth shows the worker template with AWS's elements; the self-hosted runner's
 * worker portal and the offline preview show the same template with this file instead
 * (the portal swaps the script's URL). It does what the template needs of them:
 *
 *   <crowd-form>  submit() fires a cancelable "submit" event on the form (the labeling
 *     component writes its answer into hidden inputs then, or cancels to ask the worker
 *     first), then collects every named control into one object of strings, as Ground
 *     Truth's annotationData.content: a checkbox as "true"/"false", radio buttons as the
 *     checked one's value, a later control of the same name over an earlier one (the
 *     component's hidden inputs come last). The answer is pushed to
 *     window.crowdFormSubmissions and, inside the portal's task frame, sent to the
 *     portal (postMessage), whose reply is shown: "Saved", or the service's error, after
 *     which the worker can submit again. A form without a submit button gets one.
 *   <crowd-button form-action="submit">  a button that calls that submit().
 *
 * A classic script with no dependencies. Everything shown comes from textContent.
 */
(() => {
  "use strict";
  if (customElements.get("crowd-form")) return;

  const SUBMIT = "crowd-form:submit"; // to the portal: {type, answer}
  const RESULT = "crowd-form:result"; // from the portal: {type, ok, message}
  const embedded = window.parent !== window;
  window.crowdFormSubmissions = [];

  function banner(text, kind) {
    let b = document.getElementById("crowd-form-banner");
    if (!b) {
      b = document.createElement("div");
      b.id = "crowd-form-banner";
      b.style.cssText = "font:13px system-ui,sans-serif;padding:4px 8px;border-bottom:1px solid #ccc";
      document.body.prepend(b);
    }
    b.setAttribute("role", kind === "error" ? "alert" : "status");
    b.textContent = text;
    b.style.background = { error: "#fdecea", ok: "#e3f4e1" }[kind] || "#fff4ce";
  }

  /** The form's answer: every named control inside it, as strings. */
  function collect(form) {
    const answer = {};
    for (const control of form.querySelectorAll("input[name], textarea[name], select[name]")) {
      if (control.disabled) continue;
      if (control.type === "checkbox") answer[control.name] = String(control.checked);
      else if (control.type === "radio") {
        if (control.checked) answer[control.name] = control.value;
      } else answer[control.name] = control.value;
    }
    return answer;
  }

  class CrowdForm extends HTMLElement {
    #pending = false;

    connectedCallback() {
      // Ground Truth adds a submit button when the template has none; the form's
      // children are known once the page is parsed.
      const addButton = () => {
        if (!this.isConnected || this.querySelector('crowd-button[form-action="submit"]')) return;
        const button = document.createElement("crowd-button");
        button.setAttribute("form-action", "submit");
        button.textContent = "Submit";
        this.append(button);
      };
      if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", addButton, { once: true });
      } else queueMicrotask(addButton);
    }

    submit() {
      if (this.#pending) return; // one answer at a time: the portal is saving the last
      const event = new Event("submit", { bubbles: true, cancelable: true });
      if (!this.dispatchEvent(event)) return;
      const answer = collect(this);
      window.crowdFormSubmissions.push(answer);
      this.dispatchEvent(new CustomEvent("crowd-form:submitted", { bubbles: true, detail: answer }));
      if (!embedded) return;
      this.#pending = true;
      banner("Submitting…");
      window.parent.postMessage({ type: SUBMIT, answer }, "*");
    }

    /** The portal's reply to the last submission. */
    settle(ok, message) {
      this.#pending = false;
      if (ok) banner(`✓ ${message}`, "ok");
      else banner(`Not saved: ${message} You can submit again.`, "error");
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

  if (embedded) {
    window.addEventListener("message", (event) => {
      const data = event.data;
      if (event.source !== window.parent || !data || data.type !== RESULT) return;
      const form = document.querySelector("crowd-form");
      form?.settle(Boolean(data.ok), String(data.message || ""));
    });
  }

  customElements.define("crowd-form", CrowdForm);
  customElements.get("crowd-button") || customElements.define("crowd-button", CrowdButton);
})();
