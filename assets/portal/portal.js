/*
 * The self-hosted runner's worker portal: sign in, pick a job, label one task after
 * another. A static page with no build step; it reads config.json beside it:
 *
 *   deployed: {"api_url", "auth_domain", "client_id", "region", "redirect_uri"}
 *     Sign-in with Cognito's hosted UI (authorization code + PKCE, a public client);
 *     the tokens stay in this tab's sessionStorage; the API gets the access token.
 *   local (the offline preview): {"api_url", "local": true, "token"}
 *     No sign-in: the worker is ?worker=NAME (default preview-worker), and the page's
 *     token goes with every request (the local server refuses requests without it).
 *
 * Each task is the worker template as the task service rendered it, shown in a
 * sandboxed frame (scripts, no access to this page or its tokens), with our
 * crowd-form.js in place of AWS's crowd-html-elements.js. The frame's crowd-form
 * posts the answer here; this page submits it, tells the frame what happened, and
 * opens the next task. Every error from the service is shown to the worker. Text from
 * the service reaches the page through textContent only.
 *
 * ?job=NAME opens that job; in the preview, ?job=NAME&task=N opens task N (a labeled
 * one is opened with its label, to relabel).
 */
(() => {
  "use strict";

  const GROUND_TRUTH_ELEMENTS = "https://assets.crowd.aws/crowd-html-elements.js";
  const CROWD_FORM_URL = new URL("crowd-form.js", location.href).href;
  // Ground Truth shows the template inside its own standards-mode page.
  const FRAME_HEAD =
    "<!doctype html><meta charset=utf-8>" +
    "<style>body{margin:0}crowd-2d-skeleton{--crowd-2d-skeleton-height:calc(100vh - 32px)}</style>";
  const CURRENT_KEY = "pose-portal:current"; // the lease held, so a reload resumes it
  const TOKENS_KEY = "pose-portal:tokens";
  const PKCE_KEY = "pose-portal:pkce";
  const WORKER_NAME = /^[A-Za-z0-9_-]{1,40}$/;

  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("status"), who: $("who"), jobs: $("jobs"), jobList: $("job-list"), task: $("task"),
    title: $("task-title"), timer: $("timer"), release: $("release"), next: $("next"),
    leave: $("leave"), signOut: $("sign-out"),
  };
  let config = null;
  let auth = null;
  let current = null; // the task on screen: {job, task, lease, expires, image_name, ...}
  let timer = 0;

  function say(text, kind = "") {
    ui.status.textContent = text;
    ui.status.className = kind;
    ui.status.setAttribute("role", kind === "error" ? "alert" : "status");
  }

  class ServiceError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  // ------------------------------------------------------------------ the API
  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${await auth.token()}` };
    if (auth.worker) headers["X-Pose-Worker"] = auth.worker;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(config.api_url.replace(/\/+$/, "") + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
      });
    } catch (e) {
      throw new ServiceError(`the task service cannot be reached (${e.message}); check your connection and try again`, 0);
    }
    let data = {};
    try {
      data = await response.json();
    } catch { /* an answer that is not JSON: the status says enough */ }
    if (response.status === 401 && !config.local) {
      auth.forget();
      await signIn();
    }
    if (!response.ok) throw new ServiceError(data.error || `${response.status} ${response.statusText}`, response.status);
    return data;
  }

  // ------------------------------------------------------------------ sign-in
  function localAuth() {
    const asked = new URLSearchParams(location.search).get("worker") || "preview-worker";
    if (!WORKER_NAME.test(asked)) throw new Error("?worker= takes 1-40 letters, digits, - or _");
    return { name: `Offline preview · worker ${asked}`, worker: asked, token: async () => config.token, forget() {} };
  }

  function base64url(bytes) {
    return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomText(bytes) {
    return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
  }

  function claims(jwt) {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
  }

  async function signIn() {
    const verifier = randomText(48);
    const state = randomText(16);
    const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, back: location.search }));
    const query = new URLSearchParams({
      response_type: "code", client_id: config.client_id, redirect_uri: config.redirect_uri,
      scope: "openid", state, code_challenge: challenge, code_challenge_method: "S256",
    });
    say("Signing in…");
    location.assign(`${config.auth_domain}/oauth2/authorize?${query}`);
    await new Promise(() => {}); // the page is leaving
  }

  async function tokenRequest(fields) {
    const response = await fetch(`${config.auth_domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: config.client_id, ...fields }),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(`sign-in failed: ${data.error || response.status}`);
    return data;
  }

  function saveTokens(tokens, previous = {}) {
    const kept = { ...previous, ...tokens };
    kept.expires = claims(kept.access_token).exp;
    sessionStorage.setItem(TOKENS_KEY, JSON.stringify(kept));
    return kept;
  }

  async function cognitoAuth() {
    const params = new URLSearchParams(location.search);
    if (params.get("code") || params.get("error")) {
      const pkce = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
      sessionStorage.removeItem(PKCE_KEY);
      history.replaceState(null, "", location.pathname + (pkce ? pkce.back : ""));
      if (params.get("error")) throw new Error(`sign-in failed: ${params.get("error_description") || params.get("error")}`);
      if (!pkce || params.get("state") !== pkce.state) throw new Error("this sign-in was not started in this tab; reload to sign in again");
      saveTokens(await tokenRequest({
        grant_type: "authorization_code", code: params.get("code"),
        code_verifier: pkce.verifier, redirect_uri: config.redirect_uri,
      }));
    }
    let tokens = JSON.parse(sessionStorage.getItem(TOKENS_KEY) || "null");
    if (!tokens) await signIn();
    const who = claims(tokens.access_token);
    return {
      name: who.username || who.sub,
      worker: null,
      async token() {
        if (tokens.expires - 60 > Date.now() / 1000) return tokens.access_token;
        if (!tokens.refresh_token) await signIn();
        try {
          tokens = saveTokens(await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }), tokens);
        } catch {
          sessionStorage.removeItem(TOKENS_KEY);
          await signIn();
        }
        return tokens.access_token;
      },
      forget() {
        sessionStorage.removeItem(TOKENS_KEY);
      },
    };
  }

  function signOut() {
    sessionStorage.removeItem(TOKENS_KEY);
    sessionStorage.removeItem(CURRENT_KEY);
    const query = new URLSearchParams({ client_id: config.client_id, logout_uri: config.redirect_uri });
    location.assign(`${config.auth_domain}/logout?${query}`);
  }

  // --------------------------------------------------------------------- jobs
  async function showJobs() {
    clearTask();
    ui.jobs.hidden = false;
    const { jobs } = await api("GET", "/jobs");
    ui.jobList.replaceChildren();
    if (!jobs.length) {
      const li = document.createElement("li");
      li.textContent = "No job has work now. Come back later, or reload this page.";
      ui.jobList.append(li);
    }
    for (const job of jobs) {
      const li = document.createElement("li");
      const title = document.createElement("strong");
      title.textContent = job.title;
      const about = document.createElement("div");
      about.textContent = `${job.description} (${job.labeled} of ${job.objects} images labeled;` +
        ` ${Math.round(job.time_limit / 60)} min per image)`;
      const start = document.createElement("button");
      start.type = "button";
      start.textContent = "Start labeling";
      start.addEventListener("click", () => run(() => next(job.name)));
      li.append(title, about, start);
      ui.jobList.append(li);
    }
    return jobs;
  }

  // -------------------------------------------------------------------- tasks
  async function next(job, task) {
    say("Getting a task…");
    const offer = await api("POST", `/jobs/${encodeURIComponent(job)}/next`, task === undefined ? {} : { task: String(task) });
    if (!offer.task) {
      sessionStorage.removeItem(CURRENT_KEY);
      await showJobs();
      say(offer.message);
      return false;
    }
    show(offer);
    say(offer.revision ? `${offer.image_name} was labeled before: your answer replaces its label.` : "");
    return true;
  }

  function show(offer) {
    current = offer;
    sessionStorage.setItem(CURRENT_KEY, JSON.stringify({ job: offer.job, task: offer.task }));
    ui.jobs.hidden = true;
    ui.task.hidden = false;
    ui.title.textContent = `${offer.title}: ${offer.image_name}`;
    for (const b of [ui.release, ui.leave]) b.hidden = false;
    ui.next.hidden = true;
    const frame = document.createElement("iframe");
    frame.title = `Labeling task: ${offer.image_name}`;
    frame.setAttribute("sandbox", "allow-scripts");
    frame.srcdoc = FRAME_HEAD + offer.html.split(GROUND_TRUTH_ELEMENTS).join(CROWD_FORM_URL);
    ui.task.replaceChildren(frame);
    clearInterval(timer);
    timer = setInterval(tick, 1000);
    tick();
  }

  function tick() {
    if (!current) return;
    const left = Math.round(current.expires - Date.now() / 1000);
    if (left > 0) {
      const two = (n) => String(n).padStart(2, "0");
      const [h, m, s] = [Math.floor(left / 3600), Math.floor(left / 60) % 60, left % 60];
      ui.timer.textContent = `${h ? `${h}:${two(m)}` : m}:${two(s)} left`;
      return;
    }
    clearInterval(timer);
    ui.timer.textContent = "time is up";
    ui.next.hidden = false;
    say("The time for this task ran out and it went back to the pool: ask for the next task.", "error");
  }

  function clearTask() {
    clearInterval(timer);
    current = null;
    ui.task.hidden = true;
    ui.task.replaceChildren();
    ui.title.textContent = ui.timer.textContent = "";
    for (const b of [ui.release, ui.next, ui.leave]) b.hidden = true;
  }

  async function submitted(frame, answer) {
    const held = current;
    const reply = (ok, message) => frame.contentWindow?.postMessage({ type: "crowd-form:result", ok, message }, "*");
    try {
      const receipt = await api("POST", `/jobs/${encodeURIComponent(held.job)}/tasks/${held.task}/submit`, { lease: held.lease, answer });
      const saved = `Saved ${receipt.saved}${receipt.output_manifest ? ` to ${receipt.output_manifest}` : ""}.`;
      reply(true, saved);
      sessionStorage.removeItem(CURRENT_KEY);
      if (await next(held.job)) say(`✓ ${saved} This is the next image.`, "ok");
      else say(`✓ ${saved} ${ui.status.textContent}`, "ok");
    } catch (e) {
      reply(false, e.message);
      say(`Your answer was not saved: ${e.message}`, "error");
      if (e.status === 409) ui.next.hidden = false; // the lease is gone: move on
    }
  }

  window.addEventListener("message", (event) => {
    const frame = ui.task.querySelector("iframe");
    const data = event.data;
    if (!frame || event.source !== frame.contentWindow || !current) return;
    if (data && data.type === "crowd-form:submit" && data.answer && typeof data.answer === "object") {
      submitted(frame, data.answer);
    }
  });

  async function run(action) {
    try {
      await action();
    } catch (e) {
      say(e.message, "error");
    }
  }

  ui.release.addEventListener("click", () => run(async () => {
    const held = current;
    await api("POST", `/jobs/${encodeURIComponent(held.job)}/tasks/${held.task}/release`, { lease: held.lease });
    sessionStorage.removeItem(CURRENT_KEY);
    if (await next(held.job)) say(`${held.image_name} was given back. This is another image.`);
  }));
  ui.next.addEventListener("click", () => run(() => next(current.job)));
  ui.leave.addEventListener("click", () => run(async () => {
    sessionStorage.removeItem(CURRENT_KEY);
    await showJobs();
    say("Your current task stays yours until its time runs out; start again to go on with it.");
  }));
  ui.signOut.addEventListener("click", signOut);

  async function start() {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`config.json: ${response.status} ${response.statusText}`);
    config = await response.json();
    auth = config.local ? localAuth() : await cognitoAuth();
    ui.who.textContent = auth.name;
    ui.signOut.hidden = Boolean(config.local);
    const params = new URLSearchParams(location.search);
    const held = JSON.parse(sessionStorage.getItem(CURRENT_KEY) || "null");
    const wanted = params.get("job") ? { job: params.get("job"), task: params.get("task") } : held;
    if (wanted) {
      try {
        return await next(wanted.job, wanted.task ?? undefined); // a reloaded page: the same lease
      } catch (e) {
        sessionStorage.removeItem(CURRENT_KEY);
        if (e.status !== 404 && e.status !== 409) throw e;
        await showJobs();
        return say(e.message, "error");
      }
    }
    const jobs = await showJobs();
    if (config.local && jobs.length === 1) return next(jobs[0].name);
  }

  run(start);
})();
