#!/usr/bin/env node
// A scripted "browser" for tests: BROWSER="node /abs/path/test/support/fake-browser.mjs" (or the
// fake-browser.sh wrapper) and the CLI runs it with the sign-in URL as its last argument.
//
// It does what a browser does with the fake Entra's pages: GET the URL (trusting NODE_EXTRA_CA_CERTS,
// never skipping verification), follow redirects, and submit auto-submitting HTML forms (the
// form_post response mode: POST the hidden fields to the form's action, e.g. msal's loopback).
// It then exits 0. Every page visited is appended as one JSON line to FAKE_BROWSER_LOG, if set:
//   {"step":n,"method":"GET","url":"…","status":200,"text":"<page text, tags stripped>"}
//
// Environment knobs:
//   FAKE_BROWSER_MODE = follow (default) | none (a closed tab: do nothing, exit 0)
//                       | hang (open the page, then never submit anything; stays alive until killed)
//                       | forged-state (before the real POST, POST the same fields with a wrong state)
//                       | favicon (GET /favicon.ico on the redirect target first, as browsers do)
//   FAKE_BROWSER_DELAY_MS = wait this long before starting (a slow human)
//   FAKE_BROWSER_DEVICE_CODE = a user code: open the URL as the device login page and enter the code
//   FAKE_BROWSER_MAX_STEPS = safety limit on requests (default 20)
import { appendFileSync } from "node:fs";

const url = process.argv[process.argv.length - 1];
const mode = process.env.FAKE_BROWSER_MODE ?? "follow";
const logFile = process.env.FAKE_BROWSER_LOG;
const maxSteps = Number(process.env.FAKE_BROWSER_MAX_STEPS ?? 20);
const delay = Number(process.env.FAKE_BROWSER_DELAY_MS ?? 0);
let step = 0;

function log(entry) {
  if (logFile) appendFileSync(logFile, JSON.stringify({ step: step, ...entry }) + "\n");
}

function text(html) {
  return html
    .replace(/<script[\s\S]*?<\/script>/gi, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

function decode(s) {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

function attr(tag, name) {
  const m = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, "i").exec(tag);
  return m ? decode(m[2] ?? m[3] ?? "") : undefined;
}

/** The first form of a page that submits itself (document.forms[0].submit() / onload). */
function autoSubmitForm(html, base) {
  if (!/\.submit\(\)/.test(html)) return undefined;
  const fm = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!fm) return undefined;
  const action = new URL(attr(fm[1], "action") ?? base, base).toString();
  const method = (attr(fm[1], "method") ?? "GET").toUpperCase();
  const fields = new URLSearchParams();
  for (const im of fm[2].matchAll(/<input\b[^>]*>/gi)) {
    const name = attr(im[0], "name");
    const type = (attr(im[0], "type") ?? "text").toLowerCase();
    if (name && type !== "submit") fields.append(name, attr(im[0], "value") ?? "");
  }
  return { action, method, fields };
}

async function request(method, target, body) {
  step += 1;
  if (step > maxSteps) throw new Error(`fake-browser: more than ${maxSteps} requests`);
  const init = { method, redirect: "manual", headers: { "user-agent": "fake-browser/1.0", accept: "text/html" } };
  if (body !== undefined) {
    init.body = body.toString();
    init.headers["content-type"] = "application/x-www-form-urlencoded";
  }
  const res = await fetch(target, init);
  const html = await res.text();
  log({ method, url: target, status: res.status, text: text(html).slice(0, 2000) });
  return { res, html };
}

async function main() {
  if (!url || !/^https?:\/\//.test(url)) {
    console.error("usage: fake-browser.mjs <url>");
    process.exit(2);
  }
  log({ method: "OPEN", url, status: 0, text: `mode=${mode}` });
  if (mode === "none") return;
  if (delay > 0) await new Promise((r) => setTimeout(r, delay));

  if (process.env.FAKE_BROWSER_DEVICE_CODE) {
    const u = new URL(url);
    u.searchParams.set("otc", process.env.FAKE_BROWSER_DEVICE_CODE);
    await request("GET", u.toString());
    return;
  }

  let method = "GET";
  let target = url;
  let body;
  for (;;) {
    const { res, html } = await request(method, target, body);
    if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
      const next = new URL(res.headers.get("location"), target);
      if (mode === "favicon") {
        await request("GET", new URL("/favicon.ico", next).toString()).catch(() => {});
      }
      method = "GET";
      target = next.toString();
      body = undefined;
      continue;
    }
    const form = autoSubmitForm(html, target);
    if (!form) return;
    if (mode === "hang") {
      await new Promise(() => setInterval(() => {}, 1 << 30));
    }
    if (mode === "favicon") {
      await request("GET", new URL("/favicon.ico", form.action).toString()).catch(() => {});
    }
    if (mode === "forged-state" && form.fields.has("state")) {
      const forged = new URLSearchParams(form.fields);
      forged.set("state", "forged-" + Math.random().toString(36).slice(2));
      await request(form.method, form.action, form.method === "POST" ? forged : undefined).catch(() => {});
    }
    if (form.method === "POST") {
      method = "POST";
      target = form.action;
      body = form.fields;
    } else {
      const u = new URL(form.action);
      for (const [k, v] of form.fields) u.searchParams.append(k, v);
      method = "GET";
      target = u.toString();
      body = undefined;
    }
  }
}

main().catch((err) => {
  log({ method: "ERROR", url, status: 0, text: String(err?.cause ?? err) });
  console.error(`fake-browser: ${err?.cause ?? err}`);
  process.exit(1);
});
