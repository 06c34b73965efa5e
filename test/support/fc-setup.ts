/**
 * Loaded before every test file (vitest.config.ts setupFiles). fast-check's
 * default size ("small") makes `fc.array(x, { maxLength: 300 })` produce
 * about ten items at most, so a property written for long command
 * sequences mostly tried short ones. "medium" lets them reach ~100 items;
 * tests that need the full maxLength still say `size: "max"`. Cost on Node:
 * the 34 property-test files went from 33 s to 43 s.
 */
import fc from "fast-check";

fc.configureGlobal({ baseSize: "medium" });
