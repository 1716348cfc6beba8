// Sends SLUICE_COUNT records to a running Sluice and prints the client's stats as JSON.
//   SLUICE_URL=http://127.0.0.1:8080 SLUICE_KEY=slk_... [SLUICE_LOGFLUX_SECRET=...] node dist/examples/send.js
import { Client, LogFlux, LogTrace } from "../src/index.js";

const { SLUICE_URL = "http://127.0.0.1:8080", SLUICE_KEY = "", SLUICE_LOGFLUX_SECRET, SLUICE_COUNT = "100" } = process.env;
const dialect = SLUICE_LOGFLUX_SECRET ? new LogFlux(SLUICE_LOGFLUX_SECRET, "node-app") : new LogTrace("node-app");
const logs = new Client(SLUICE_URL, SLUICE_KEY, { dialect, batchSize: 100 });
for (let i = 0; i < Number(SLUICE_COUNT); i++) logs.error(`js ${i}`, { order_id: i });
if (process.env.SLUICE_LEAVE_OPEN) {
  // No close(): the client delivers at exit by itself; report once it has.
  process.once("exit", () => console.log(JSON.stringify(logs.stats)));
} else {
  await logs.close(30_000);
  console.log(JSON.stringify(logs.stats));
}
