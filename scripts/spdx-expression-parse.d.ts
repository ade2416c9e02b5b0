// spdx-expression-parse ships no types: it parses an SPDX license expression and throws on an
// invalid one (what @cyclonedx/cyclonedx-library's LicenseFactory wants to validate with).
declare module "spdx-expression-parse" {
  function parse(expression: string): unknown;
  export = parse;
}
