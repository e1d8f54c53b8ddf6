// A throttling HTTP proxy for the S3 tests: forwards every request to the S3-compatible
// server at --to, except that while a burst is on it answers 503 SlowDown, as S3 does
// when a client sends too fast. A burst starts when the file --trigger appears and lasts
// for --burst requests; the proxy writes how many it refused into --count.
//   node throttle-proxy.mjs --port P --to http://127.0.0.1:Q --trigger FILE --burst N --count FILE
import fs from "node:fs";
import http from "node:http";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (i % 2 ? pairs : [...pairs, [a.replace(/^--/, ""), all[i + 1]]]), []),
);
const target = new URL(args.to);
let refused = 0;

const server = http.createServer((req, res) => {
  if (fs.existsSync(args.trigger) && refused < Number(args.burst)) {
    refused += 1;
    fs.writeFileSync(args.count, `${refused}\n`);
    req.resume();
    req.on("end", () => {
      res.writeHead(503, { "Content-Type": "application/xml" });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>' +
              "<Message>Please reduce your request rate.</Message></Error>");
    });
    return;
  }
  const upstream = http.request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", (e) => {
    res.writeHead(502);
    res.end(String(e));
  });
  req.pipe(upstream);
});
server.listen(Number(args.port), "127.0.0.1");
