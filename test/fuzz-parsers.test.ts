// Every parser of outside input under fuzz (test/fuzz-cases.ts): a fixed-seed
// subset of about 10^4 cases here; `npm run fuzz` runs over 10^5.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FUZZ_TARGETS } from "./fuzz-cases.js";
import { SEED } from "./helpers.js";

for (const target of FUZZ_TARGETS) {
  test(`fuzz ${target.parser}: a correct parse or one clear LipvaeError naming the file, for every case`, async () => {
    const count = await target.run(1, SEED);
    assert.ok(count.cases > 100, `${count.cases} cases`);
    assert.is(count.parsed + count.refused, count.cases);
  });
}

test.run();
