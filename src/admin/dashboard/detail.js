/* One log entry: what sluice recorded (headers, usage, cost, route path), the request and
   response bodies pretty-printed (event streams event by event, with the assembled text)
   and the feedback buttons. */
import { api, state, h, fmt, canEdit, ApiError } from "./app.js";

function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (_) { return text; }
}

/** The events of an SSE body: [{event, data}] in order. */
export function parseSse(text) {
  const events = [];
  for (const block of text.replace(/\r\n/g, "\n").split("\n\n")) {
    if (!block.trim()) continue;
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    events.push({ event, data: data.join("\n") });
  }
  return events;
}

/** The text a stream's events add up to (OpenAI Chat and Responses, Anthropic, Gemini). */
export function assembled(events) {
  let text = "";
  for (const { data } of events) {
    let v;
    try { v = JSON.parse(data); } catch (_) { continue; }
    const choice = v.choices?.[0];
    if (choice?.delta?.content) text += choice.delta.content;
    else if (v.type === "content_block_delta" && v.delta?.text) text += v.delta.text;
    else if (v.type === "response.output_text.delta" && typeof v.delta === "string") text += v.delta;
    else if (v.candidates) for (const p of v.candidates[0]?.content?.parts || []) if (p.text && !p.thought) text += p.text;
  }
  return text;
}

function bodyView(title, text, stream) {
  if (text === null) return h("section", { class: "panel" }, h("h2", {}, title), h("p", { class: "muted" }, "Not stored (payload logging off, or over 10 MB)."));
  if (!stream) return h("section", { class: "panel", id: `${title.toLowerCase()}-body` }, h("h2", {}, title), h("pre", {}, pretty(text)));
  const events = parseSse(text);
  return h("section", { class: "panel", id: `${title.toLowerCase()}-body` }, h("h2", {}, `${title} (stream, ${events.length} events)`),
    h("h3", {}, "Assembled text"), h("pre", { class: "assembled" }, assembled(events) || "(no text)"),
    h("details", {}, h("summary", {}, "Events"), h("ol", { class: "events" },
      events.map((e) => h("li", {}, e.event !== "message" ? h("code", {}, e.event) : null, h("pre", {}, pretty(e.data)))))));
}

async function body(base, part) {
  try { return await api("GET", `${base}/${part}`, undefined, true); } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

export async function render(main, [id]) {
  const base = `/api/v1/gateways/${encodeURIComponent(state.gateway)}/logs/${encodeURIComponent(id)}`;
  const e = (await api("GET", base)).result;
  const [request, response] = await Promise.all([
    e.request_body_stored ? body(base, "request") : null,
    e.response_body_stored ? body(base, "response") : null,
  ]);
  const field = (k, v) => [h("dt", {}, k), h("dd", {}, v ?? "–")];
  const feedback = h("span", { id: "feedback-state" }, e.feedback === 1 ? "good" : e.feedback === -1 ? "bad" : "none");
  const setFeedback = (value) => async () => {
    try {
      const r = (await api("PATCH", base, { feedback: value })).result;
      feedback.textContent = r.feedback === 1 ? "good" : r.feedback === -1 ? "bad" : "none";
    } catch (err) { feedback.textContent = err.message; }
  };
  const disabled = !canEdit();
  const path = Array.isArray(e.route_path) ? h("span", { class: "chips" }, e.route_path.map((p) => h("span", {}, p))) : "–";
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/logs" }, "← Logs")),
    h("h1", {}, `${e.model} · `, h("span", { class: e.success ? "ok" : "bad" }, String(e.status))),
    h("div", { class: "cols" },
      h("section", { class: "panel" }, h("h2", {}, "Request"), h("dl", { class: "fields" },
        field("Time", fmt.time(e.created_at_ms)), field("Log id", h("code", {}, e.id)), field("Path", h("code", {}, e.path)),
        field("Provider", e.provider), field("Model asked", e.model), field("Model sent upstream", e.upstream_model),
        field("Stream", e.stream ? "yes" : "no"), field("Cached", e.cached ? "yes" : "no"),
        field("Access token", e.access_token), field("Route", e.route ? `${e.route} (version ${e.route_version})` : null),
        field("Route path taken", path))),
      h("section", { class: "panel" }, h("h2", {}, "Usage and timing"), h("dl", { class: "fields" },
        field("Tokens in", e.tokens_in === null ? null : fmt.tokens(e.tokens_in)),
        field("Tokens out", e.tokens_out === null ? null : fmt.tokens(e.tokens_out)),
        field("Cost", `${fmt.usd(e.cost)}${e.custom_cost ? " (cf-aig-custom-cost)" : ""}`),
        field("Duration", fmt.ms(e.duration_ms)), field("Time to first token", fmt.ms(e.ttft_ms)),
        field("Request size", fmt.bytes(e.request_size)), field("Response size", fmt.bytes(e.response_size)))),
      h("section", { class: "panel" }, h("h2", {}, "Headers sluice logged"), h("dl", { class: "fields" },
        field("User-Agent", e.user_agent || null), field("cf-aig-event-id", e.event_id),
        field("cf-aig-metadata", Object.keys(e.metadata || {}).length ? h("code", {}, JSON.stringify(e.metadata)) : null),
        field("cf-aig-log-id", e.id))),
      h("section", { class: "panel" }, h("h2", {}, "Feedback"), h("p", {}, "Current: ", feedback),
        h("div", { class: "toolbar" },
          h("button", { type: "button", id: "thumbs-up", disabled, onclick: setFeedback(1) }, "Good"),
          h("button", { type: "button", id: "thumbs-down", disabled, onclick: setFeedback(-1) }, "Bad"),
          h("button", { type: "button", disabled, onclick: setFeedback(0) }, "Clear")),
        disabled ? h("p", { class: "muted" }, "A read token cannot change feedback.") : null)),
    bodyView("Request", request, false),
    bodyView("Response", response, e.stream));
}
