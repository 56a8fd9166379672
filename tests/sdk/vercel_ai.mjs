// The Vercel AI SDK's default OpenAI provider (`createOpenAI({ baseURL })(id)`, which calls
// the Responses API) against sluice: generateText, and streamText with a tool it calls and
// answers over several steps, for openai/ (passed through), anthropic/ and
// google-ai-studio/ (translated). Prints 'N passed, N failed'; exits non-zero on a failure.
// Usage: node vercel_ai.mjs http://HOST:PORT
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText, tool, stepCountIs } from "ai";
import { z } from "zod";

const sluice = createOpenAI({ baseURL: `${process.argv[2]}/v1`, apiKey: "sk-client-key" });
let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}`);
    console.log(e);
  }
}

function assert(condition, what) {
  if (!condition) throw new Error(`assertion failed: ${what}`);
}

const weather = tool({
  description: "The weather in a city",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => `sunny in ${city}`,
});

for (const model of ["openai/gpt-4.1-mini", "anthropic/claude-sonnet-4-5", "google-ai-studio/gemini-2.5-flash"]) {
  await check(`${model}: generateText`, async () => {
    const { text, usage, finishReason } = await generateText({ model: sluice(model), prompt: "Say hi" });
    assert(text.length > 0, `text: ${text}`);
    assert(finishReason === "stop", `finishReason: ${finishReason}`);
    assert(usage.outputTokens > 0, `usage: ${JSON.stringify(usage)}`);
  });

  await check(`${model}: streamText with a tool`, async () => {
    const result = streamText({
      model: sluice(model),
      prompt: "What is the weather in Paris?",
      tools: { weather },
      stopWhen: stepCountIs(3),
    });
    let text = "";
    for await (const part of result.textStream) text += part;
    const steps = await result.steps;
    const calls = steps.flatMap((s) => s.toolCalls);
    assert(calls.length >= 1 && calls[0].toolName === "weather", `calls: ${JSON.stringify(calls)}`);
    assert(typeof calls[0].input.city === "string", `input: ${JSON.stringify(calls[0].input)}`);
    assert(text.includes("sunny in"), `the tool's result in the answer: ${text}`);
    assert((await result.totalUsage).outputTokens > 0, "usage");
  });
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
