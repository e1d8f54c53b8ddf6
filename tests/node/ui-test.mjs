// Drives weft's web UI in headless Chromium (Debian's, through playwright-core) as a user
// would, against a real gateway, scheduler and worker that tests/integration/ui.sh started.
//
//   BASE=http://127.0.0.1:PORT TOKEN=weft_... CSV=FILE OUT=DIR FLAKY=WORKFLOW.yaml \
//   node ui-test.mjs
//
// Prints "ok: ..." or "FAIL: ..." per check and exits 1 on any failure. Leaves in OUT the
// downloaded predictions (predictions.csv), the run it made (run.txt) and screenshots
// (run.png, submit.png, log.png).
import { chromium } from "playwright-core";
import fs from "node:fs";

const { BASE, TOKEN, CSV, OUT, FLAKY } = process.env;
let fails = 0;
const ok = (m) => console.log(`ok: ${m}`);
const fail = (m) => { console.log(`FAIL: ${m}`); fails++; };
async function check(what, fn) {
  try { await fn(); ok(what); } catch (e) { fail(`${what}: ${e.message.split("\n")[0]}`); }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const page = await browser.newPage({ viewport: { width: 1366, height: 800 }, acceptDownloads: true });
page.on("pageerror", (e) => fail(`a script error in the page: ${e.message}`));

try {
  await check("the UI asks for a token first", async () => {
    await page.goto(`${BASE}/`);
    await page.waitForSelector("#token", { timeout: 10000 });
  });
  await check("a wrong token is refused, saying why", async () => {
    await page.fill("#token", "weft_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    await page.click("button[type=submit]");
    await page.waitForSelector("text=unknown token", { timeout: 5000 });
  });
  await check("logging in with a token shows the runs", async () => {
    await page.fill("#token", TOKEN);
    await page.click("button[type=submit]");
    await page.waitForSelector("h1:text('Runs')", { timeout: 5000 });
    await page.waitForSelector("#who:text('alice')");
  });

  // The submit form, made from nightly-training's typed parameters, with a CSV uploaded.
  let run;
  await check("the submit form lists the workflow's parameters", async () => {
    await page.goto(`${BASE}/#/submit/nightly-training`);
    await page.waitForSelector("#submit-form input[name='params.tumours'][type=file]");
    await page.waitForSelector("#submit-form input[name='params.seed'][type=number]");
  });
  await page.setInputFiles("#submit-form input[name='params.tumours']", CSV);
  await page.screenshot({ path: `${OUT}/submit.png`, fullPage: true });
  await check("submitting it opens the new run", async () => {
    await page.click("#submit-form button[type=submit]");
    await page.waitForURL(/#\/runs\/\d+$/, { timeout: 30000 });
    run = page.url().match(/#\/runs\/(\d+)$/)[1];
    fs.writeFileSync(`${OUT}/run.txt`, run);
  });
  await check("its graph is drawn, a node per task", async () => {
    await page.waitForSelector("svg.graph g.node[data-task='xgboost']", { timeout: 10000 });
    const n = await page.locator("svg.graph g.node").count();
    if (n !== 19) throw new Error(`${n} nodes`);
  });
  await check("its approval waits, shown in the graph, until approved over the API", async () => {
    await page.waitForSelector("svg.graph g.node[data-task='approve_deploy'][data-state='waiting']",
                               { timeout: 120000 });
    const r = await fetch(`${BASE}/api/v1/runs/${run}/tasks/approve_deploy/signal`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ approve: true }),
    });
    if (r.status !== 200) throw new Error(`signal: ${r.status} ${await r.text()}`);
  });
  await check("the graph turns green as the run succeeds", async () => {
    await page.waitForFunction(() => {
      const nodes = [...document.querySelectorAll("svg.graph g.node")];
      return nodes.length && nodes.every((n) => n.dataset.state === "succeeded");
    }, null, { timeout: 120000, polling: 500 });
  });
  await page.screenshot({ path: `${OUT}/run.png`, fullPage: true });
  await check("a task's file output downloads", async () => {
    await page.click("svg.graph g.node[data-task='xgboost_predict']");
    await page.waitForSelector("#outputs button[data-download='predictions']", { timeout: 10000 });
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 10000 }),
      page.click("#outputs button[data-download='predictions']"),
    ]);
    await download.saveAs(`${OUT}/predictions.csv`);
  });
  await check("... and is previewed as a table", async () => {
    await page.waitForSelector("#outputs table.preview th:text('prediction')", { timeout: 10000 });
  });
  await check("its attempts show the CPU time and peak memory each used", async () => {
    await page.waitForSelector("th:text('Peak memory')", { timeout: 10000 });
    await page.waitForFunction(() => [...document.querySelectorAll("td")]
      .some((td) => / MiB$/.test(td.textContent)), null, { timeout: 10000 });
  });

  // A task that fails while it prints: its log, followed live. The run starts now (through
  // the API, as a program would), so the browser meets its task running.
  const started = await fetch(`${BASE}/api/v1/runs`, {
    method: "POST", headers: { Authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ yaml: fs.readFileSync(FLAKY, "utf8"), project: "p1" }),
  }).then((r) => r.json());
  const FLAKY_RUN = started.run_id;
  await check("a running task's log follows as it prints", async () => {
    await page.goto(`${BASE}/#/runs/${FLAKY_RUN}/tasks/noisy`);
    await page.waitForFunction(() => (document.querySelector("#log")?.textContent || "")
      .includes("step 2"), null, { timeout: 15000 });
    const early = await page.textContent("#log");
    await page.waitForFunction(() => (document.querySelector("#log")?.textContent || "")
      .includes("step 6"), null, { timeout: 15000 });
    if (early.includes("step 6")) throw new Error("the log came whole, not as it was printed");
  });
  await page.screenshot({ path: `${OUT}/log.png`, fullPage: true });
  await check("... and the task ends failed", async () => {
    await page.waitForSelector("h1 .state.failed", { timeout: 20000 });
  });
  await check("retry shows the plan first, then starts a run that reuses what succeeded", async () => {
    await page.goto(`${BASE}/#/runs/${FLAKY_RUN}`);
    await page.click("#retry", { timeout: 10000 });
    await page.waitForSelector("#retry-plan pre:text('reuse')", { timeout: 10000 });
    await page.click("#retry-confirm");
    await page.waitForURL((u) => /#\/runs\/\d+$/.test(u.href) && !u.href.endsWith(`/${FLAKY_RUN}`),
      { timeout: 10000 });
    await page.waitForFunction(() => [...document.querySelectorAll("tbody tr")]
      .some((tr) => tr.textContent.includes("before") && tr.textContent.includes("retry")),
      null, { timeout: 10000 });
  });
  await check("the dark theme follows the system's preference", async () => {
    await page.emulateMedia({ colorScheme: "dark" });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (bg !== "rgb(22, 24, 27)") throw new Error(`background ${bg}`);
  });
} finally {
  await browser.close();
}
process.exit(fails ? 1 : 0);
