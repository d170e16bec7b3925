// Drives the search APIs' own Node SDKs (tests/clients: @tavily/core, exa-js, serpapi) and
// LangChain's community search tools (Brave, Google Programmable Search, Serper) through sluice,
// unchanged but for the proxy and the CA (NODE_EXTRA_CA_CERTS): node search_sdks.js
// <tavily|exa|serpapi|langchain-brave|langchain-google|langchain-serper> <query>. Prints {"rows": [[title, url, snippet], ...]} as each SDK hands
// its results to the caller, or {"error": "..."} when the SDK threw.
"use strict";
const path = require("path");
const clients = path.join(__dirname, "..", "clients", "node_modules");
const need = (name) => require(path.join(clients, name));

const proxy = process.env.SLUICE_PROXY;
const [sdk, query] = process.argv.slice(2);

async function run() {
  if (sdk === "tavily") {
    const { tavily } = need("@tavily/core");
    const client = tavily({ apiKey: "tvly-placeholder-key", proxies: { https: proxy } });
    const r = await client.search(query, { maxResults: 3 });
    return r.results.map((x) => [x.title, x.url, x.content, x.score]);
  }
  if (sdk === "exa") {
    // exa-js uses the global fetch: its dispatcher goes through the proxy.
    const { setGlobalDispatcher, ProxyAgent } = need("undici");
    setGlobalDispatcher(new ProxyAgent(proxy));
    const Exa = need("exa-js").default;
    const exa = new Exa("exa-placeholder-key");
    const r = await exa.search(query, { numResults: 3 });
    return r.results.map((x) => [x.title, x.url, x.text, x.id]);
  }
  if (sdk === "serpapi") {
    const { HttpsProxyAgent } = need("https-proxy-agent");
    const serpapi = need("serpapi");
    serpapi.config.requestOptions = { agent: new HttpsProxyAgent(proxy) };
    const r = await serpapi.getJson({ engine: "google", q: query, api_key: "serp-placeholder" });
    return r.organic_results.map((x) => [x.title, x.link, x.snippet, x.position]);
  }
  if (sdk.startsWith("langchain-")) {
    // The tools call the global fetch: its dispatcher goes through the proxy.
    const { setGlobalDispatcher, ProxyAgent } = need("undici");
    setGlobalDispatcher(new ProxyAgent(proxy));
    const tools = path.join(clients, "@langchain", "community", "dist", "tools");
    if (sdk === "langchain-brave") {
      const { BraveSearch } = require(path.join(tools, "brave_search.cjs"));
      const out = JSON.parse(await new BraveSearch({ apiKey: "brave-placeholder" }).invoke(query));
      return out.map((x) => [x.title, x.link, x.snippet]);
    }
    if (sdk === "langchain-google") {
      const { GoogleCustomSearch } = require(path.join(tools, "google_custom_search.cjs"));
      const tool = new GoogleCustomSearch({ apiKey: "google-placeholder", googleCSEId: "cse" });
      const out = JSON.parse(await tool.invoke(query));
      return out.map((x) => [x.title, x.link, x.snippet]);
    }
    if (sdk === "langchain-serper") {
      const { Serper } = require(path.join(tools, "serper.cjs"));
      // The tool hands the agent the first organic snippet as its answer.
      return [[await new Serper("serper-placeholder").invoke(query)]];
    }
  }
  throw new Error("unknown sdk " + sdk);
}

run().then(
  (rows) => console.log(JSON.stringify({ rows })),
  (e) => console.log(JSON.stringify({ error: String((e && e.message) || e) })),
);
