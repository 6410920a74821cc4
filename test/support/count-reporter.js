// Writes the pass/fail counts to a JSON file that .ci/run turns into its closing line, so CI
// never parses Jest's own summary.
const fs = require('node:fs');

class CountReporter {
  constructor(_globalConfig, options) {
    this.outputFile = options.outputFile;
  }

  onRunComplete(_contexts, results) {
    fs.writeFileSync(
      this.outputFile,
      JSON.stringify({
        passed: results.numPassedTests,
        failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
        skipped: results.numPendingTests,
        total: results.numTotalTests,
      }),
    );
  }
}

module.exports = CountReporter;
