// The contract test: docs/openapi.yaml against a running tollgate.
//
// Sends every request example of the spec (and each operation's x-error-examples),
// then a script of requests that produce each documented error, and validates
// every answer — status, body, the headers the spec promises — against the
// schema the spec gives for that status. A field the server sends that the
// schema does not list fails too (the answer objects are additionalProperties:
// false): the file cannot drift from the server in either direction.
//
// Environment: SPEC, API_URL, ADMIN_URL, ADMIN_TOKEN, CALLER_KEY (may call every
// capability), LIMITED_KEY (may call payment.query only, 1 call/s),
// SMS_SIM_CONTROL, VENDOR_SIM_CONTROL (the simulators' control URLs).
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import YAML from "yaml";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const spec = YAML.parse(readFileSync(env("SPEC"), "utf8"), { maxAliasCount: -1 });
const api = env("API_URL"), admin = env("ADMIN_URL"), adminToken = env("ADMIN_TOKEN");
const callerKey = env("CALLER_KEY"), limitedKey = env("LIMITED_KEY");

const SPEC_ID = "https://tollgate.invalid/openapi";
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
ajv.addFormat("uri", true);
ajv.addSchema({ ...spec, $id: SPEC_ID });

const pointer = (...parts) => "#/" + parts.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
const failures = [];
let checked = 0;
const fail = (what, why) => failures.push(`${what}: ${why}`);

// The schema pointer of one documented answer, following a $ref to components.responses.
function answerSchema(path, method, status, contentType = "application/json") {
  const op = spec.paths[path]?.[method];
  if (!op) throw new Error(`the spec has no ${method.toUpperCase()} ${path}`);
  const response = op.responses[String(status)];
  if (!response) return null;
  const base = response.$ref ? response.$ref.slice(1).split("/").slice(1) : ["paths", path, method, "responses", String(status)];
  const r = response.$ref ? spec.components.responses[base[2]] : response;
  return { ptr: pointer(...base, "content", contentType, "schema"), response: r };
}

async function send(base, method, target, { body, headers = {}, key = callerKey, token } = {}) {
  const h = { ...headers };
  if (key !== null && base === api) h.Authorization ??= `Bearer ${key}`;
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined && typeof body !== "string") body = JSON.stringify(body);
  if (body !== undefined) h["Content-Type"] ??= "application/json";
  const r = await fetch(base + target, { method, body, headers: h });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, headers: r.headers, text, json };
}

// Checks one answer against the spec's entry for (path, method, its status).
function check(what, answer, path, method, expected) {
  checked++;
  if (expected !== undefined && answer.status !== expected) {
    return fail(what, `expected HTTP ${expected}, got ${answer.status}: ${answer.text.slice(0, 300)}`);
  }
  const documented = answerSchema(path, method, answer.status);
  if (!documented) return fail(what, `HTTP ${answer.status} is not documented for ${method.toUpperCase()} ${path}`);
  const contentType = Object.keys(documented.response.content ?? {})[0];
  if (contentType === "application/json") {
    if (!answer.headers.get("content-type")?.startsWith("application/json")) {
      return fail(what, `Content-Type ${answer.headers.get("content-type")}, documented application/json`);
    }
    if (answer.json === undefined) return fail(what, `the body is not JSON: ${answer.text.slice(0, 200)}`);
    const validate = ajv.getSchema(SPEC_ID + documented.ptr);
    if (!validate) return fail(what, `no schema at ${documented.ptr}`);
    if (!validate(answer.json)) {
      return fail(what, `HTTP ${answer.status} answer does not match ${documented.ptr}: ` +
        ajv.errorsText(validate.errors, { separator: "; " }) + ` — body ${answer.text.slice(0, 400)}`);
    }
  } else if (contentType && !answer.headers.get("content-type")?.startsWith(contentType)) {
    return fail(what, `Content-Type ${answer.headers.get("content-type")}, documented ${contentType}`);
  }
  // Headers the spec documents as always sent with this answer.
  if (path.startsWith("/v1/") && !path.startsWith("/v1/requests") && [200, 202].includes(answer.status) &&
      !path.endsWith(":batch")) {
    if (answer.headers.get("x-request-id") !== answer.json?.id) fail(what, "X-Request-Id is not the body's id");
  }
  if (answer.status === 202 && !path.endsWith(":batch") && answer.headers.get("location") !== `/v1/requests/${answer.json?.id}`) {
    fail(what, `Location is ${answer.headers.get("location")}`);
  }
  return answer;
}

// 1. Every documented example, as documented.
let asyncId = null;
for (const [path, item] of Object.entries(spec.paths)) {
  const op = item.post;
  if (!op || !op.tags?.includes("calls") || path.includes("{")) continue;
  const examples = Object.entries(op.requestBody?.content?.["application/json"]?.examples ?? {})
    .map(([name, ex]) => ({ name, ...ex }));
  for (const ex of op["x-error-examples"] ?? []) examples.push({ name: ex.summary, ...ex });
  if (!examples.some((ex) => ex["x-expect-status"] < 300)) fail(path, "no example that succeeds");
  for (const ex of examples) {
    const answer = await send(api, "POST", path, { body: ex.value, headers: ex["x-headers"] ?? {} });
    const checkedAnswer = check(`${path} example "${ex.name}"`, answer, path, "post", ex["x-expect-status"]);
    if (checkedAnswer && answer.status === 202 && path === "/v1/sms/send") asyncId = answer.json.id;
  }
}
console.log(`examples: ${checked} answers checked`);

// 2. Each documented error, provoked.
const sms = "/v1/sms/send";
const smsBody = { to: "+8613800000000", template: "T1", params: { code: "1234" } };
check("no key", await send(api, "POST", sms, { body: smsBody, key: null }), sms, "post", 401);
check("unknown key", await send(api, "POST", sms, { body: smsBody, key: "not-a-key" }), sms, "post", 401);
check("capability not permitted", await send(api, "POST", sms, { body: smsBody, key: limitedKey }), sms, "post", 403);
check("unknown capability", await send(api, "POST", "/v1/nope/nothing", { body: {} }), "/v1/{domain}/{operation}", "post", 404);
check("GET on a capability", await send(api, "GET", sms), sms, "post", 405);
check("not JSON", await send(api, "POST", sms, { body: "{not json" }), sms, "post", 400);
check("not an object", await send(api, "POST", sms, { body: "[1,2]" }), sms, "post", 400);
check("bad deadline header", await send(api, "POST", sms, { body: smsBody, headers: { "X-Timeout-Ms": "soon" } }), sms, "post", 400);
check("body too large", await send(api, "POST", sms, { body: JSON.stringify({ to: "x".repeat(70000) }) }), sms, "post", 413);
check("header too large", await send(api, "POST", sms, { body: smsBody, headers: { "X-Padding": "x".repeat(9000) } }), sms, "post", 431);
check("unknown provider named", await send(api, "POST", sms, { body: smsBody, headers: { "X-Tollgate-Provider": "nobody" } }), sms, "post", 422);
check("async and test traffic", await send(api, "POST", sms, { body: smsBody, headers: { Prefer: "respond-async", "X-Tollgate-Traffic": "debug" } }), sms, "post", 422);
check("template refused by the provider", await send(api, "POST", sms, { body: { ...smsBody, template: "REJECT-1" } }), sms, "post", 422);
{
  const key = { "Idempotency-Key": `contract-${Date.now()}` };
  check("first keyed call", await send(api, "POST", sms, { body: smsBody, headers: key }), sms, "post", 200);
  const replay = check("keyed repeat", await send(api, "POST", sms, { body: smsBody, headers: key }), sms, "post", 200);
  if (replay && replay.headers.get("idempotent-replayed") !== "true") fail("keyed repeat", "no Idempotent-Replayed: true");
  check("key reused with another body", await send(api, "POST", sms, { body: { ...smsBody, template: "T2" }, headers: key }), sms, "post", 409);
}
{
  const q = "/v1/payment/query";
  let limited = null;
  for (let i = 0; i < 5 && !limited; i++) {
    const a = await send(api, "POST", q, { body: { order_no: "T20261126001" }, key: limitedKey });
    if (a.status === 429) limited = a;
    else check("limited caller within its rate", a, q, "post", 200);
  }
  if (!limited) fail("caller rate limit", "5 calls at once never got 429");
  else {
    check("caller rate limit", limited, q, "post", 429);
    if (!/^\d+$/.test(limited.headers.get("retry-after") ?? "")) fail("caller rate limit", "no Retry-After");
  }
}

// Status documents.
if (!asyncId) fail("async example", "no job id to look up");
else check("status of a job", await send(api, "GET", `/v1/requests/${asyncId}`), "/v1/requests/{id}", "get", 200);
check("status of an unknown id", await send(api, "GET", "/v1/requests/01AAAAAAAAAAAAAAAAAAAAAAAA"), "/v1/requests/{id}", "get", 404);
check("healthz", await send(api, "GET", "/healthz", { key: null }), "/healthz", "get", 200);

// The admin API.
const adm = (method, target) => send(admin, method, target, { token: adminToken });
check("admin without token", await send(admin, "GET", "/admin/providers"), "/admin/providers", "get", 401);
check("admin providers", await adm("GET", "/admin/providers"), "/admin/providers", "get", 200);
check("admin provider", await adm("GET", "/admin/providers/acme"), "/admin/providers/{name}", "get", 200);
check("admin unknown provider", await adm("GET", "/admin/providers/nobody"), "/admin/providers/{name}", "get", 404);
check("admin disable", await adm("POST", "/admin/providers/acme/disable"), "/admin/providers/{name}/{action}", "post", 200);
check("admin enable", await adm("POST", "/admin/providers/acme/enable"), "/admin/providers/{name}/{action}", "post", 200);
check("admin overview", await adm("GET", "/admin/overview"), "/admin/overview", "get", 200);
const withHistory = check("admin overview with history", await adm("GET", "/admin/overview?history=1"), "/admin/overview", "get", 200);
if (withHistory && !withHistory.json.history) fail("admin overview with history", "no history");
check("admin job counts", await adm("GET", "/admin/jobs/counts"), "/admin/jobs/counts", "get", 200);
check("admin queued jobs", await adm("GET", "/admin/jobs?state=queued&limit=5"), "/admin/jobs", "get", 200);
if (asyncId) check("admin request", await adm("GET", `/admin/requests/${asyncId}`), "/admin/requests/{id}", "get", 200);
check("admin replay of a live job", await adm("POST", "/admin/jobs/01AAAAAAAAAAAAAAAAAAAAAAAA/replay"), "/admin/jobs/{id}/replay", "post", 404);
check("admin replay dead", await adm("POST", "/admin/jobs/replay-dead"), "/admin/jobs/replay-dead", "post", 200);
check("admin reload", await adm("POST", "/admin/config/reload"), "/admin/config/reload", "post", 200);
check("readyz", await send(admin, "GET", "/readyz"), "/readyz", "get", 200);
check("metrics", await send(admin, "GET", "/metrics"), "/metrics", "get", 200);
check("dashboard", await send(admin, "GET", "/dashboard"), "/dashboard", "get", 200);

// Provider failures, last: they trip breakers.
const behave = async (control, faults) => {
  const r = await fetch(`${control}/_sim/behavior`, { method: "POST", body: JSON.stringify({ faults }) });
  if (!r.ok) throw new Error(`the simulator refused ${JSON.stringify(faults)}: ${r.status}`);
};
const smsSim = env("SMS_SIM_CONTROL"), vendorSim = env("VENDOR_SIM_CONTROL");
await behave(smsSim, [{ kind: "vendor_error", code: "4010" }]);
check("provider refuses our credentials", await send(api, "POST", sms, { body: smsBody }), sms, "post", 502);
await behave(smsSim, [{ kind: "hang" }]);
const unknown = check("provider hangs after the request was sent", await send(api, "POST", sms, { body: smsBody, headers: { "X-Timeout-Ms": "300" } }), sms, "post", 502);
if (unknown && unknown.json.error.code !== "outcome_unknown") fail("hang", `code ${unknown.json.error.code}`);
await behave(smsSim, [{ kind: "http_503" }]);
check("provider down", await send(api, "POST", sms, { body: smsBody }), sms, "post", 503);
await behave(vendorSim, [{ kind: "hang" }]);
check("idempotent query with no answer in time", await send(api, "POST", "/v1/payment/query", { body: { order_no: "T20261126001" }, headers: { "X-Timeout-Ms": "300" } }), "/v1/payment/query", "post", 504);

console.log(`${checked} answers checked against ${env("SPEC")}`);
if (failures.length) {
  console.error(`FAILED (${failures.length}):\n- ` + failures.join("\n- "));
  process.exit(1);
}
console.log("ok");
