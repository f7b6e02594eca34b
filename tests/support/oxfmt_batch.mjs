// Formats TypeScript sources with oxfmt as postgres-meta's generator does (semi: false, printWidth: 80).
// Input on stdin: JSON [source]; output: JSON [formatted] ("ERROR: ..." when oxfmt reports errors).
import { pathToFileURL } from "node:url";

const root = process.argv[2];
const { format } = await import(pathToFileURL(`${root}/oxfmt/dist/index.js`).href);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const code of JSON.parse(input)) {
  const { code: formatted, errors } = await format("output.ts", code, { semi: false, printWidth: 80 });
  results.push(errors.length ? `ERROR: ${errors.map((error) => error.message).join("; ")}` : formatted);
}
process.stdout.write(JSON.stringify(results));
